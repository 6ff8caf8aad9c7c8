// `npm run bench`: our engine on the benchmark workloads of bench/data.ts (W-tab, W-mnist,
// inference), once per kernel backend, each run in its own child process so peak memory and JIT
// state belong to that run alone. Prints one JSON line per workload and backend with ratios to the
// peers read from $BENCH_DIR/out/peers.jsonl (peer time / our time: > 1 means we are faster).
//
// Usage: npm run bench -- [--peers] [--backends=native,native-2t,wasm-simd,js] [--workloads=wtab,wmnist,infer,upload]
//   upload   reading the seeded 64 MB CSV upload (bench/upload.ts) next to pandas' read_csv, once
//   native-2t is the native backend with its helper thread (ENGINE_THREADS=2), listed when the addon is built
//   --peers  first run the peers (the peers harness: bash peers.sh --quick --only=tfjs-wasm,torch)
// BENCH_DIR (default ${TMPDIR:-/tmp}/backprop-bench) is where the harness keeps data and results.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, fit, Sequential, type ModelSpec } from '../src/engine/index.js';
import {
  availableKernels,
  nativeKernels,
  selectKernels,
  setEngineThreads,
} from '../src/engine/kernels/index.js';
import {
  forwardFlopsPerRow,
  hasData,
  INFER,
  inferInputs,
  loadSet,
  median,
  RECIPES,
  type DataSet,
  type TrainWorkload,
} from './data.js';

const WORKLOADS = ['wtab', 'wmnist', 'infer', 'upload'] as const;
type Workload = (typeof WORKLOADS)[number];
const PEERS = ['tfjs-wasm', 'torch'] as const;

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const harness = resolve(repoRoot, '..', 'shared', 'bench');
const benchDir = resolve(process.env.BENCH_DIR || join(process.env.TMPDIR || '/tmp', 'backprop-bench'));
const dataDir = join(benchDir, 'data');

function parseArgs(argv: string[]): Record<string, string | true> {
  const args: Record<string, string | true> = {};
  for (const a of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m)
      throw new Error(
        `unexpected argument: ${a} (usage: --peers --backends=a,b --workloads=wtab,wmnist,infer)`,
      );
    args[m[1]] = m[2] ?? true;
  }
  return args;
}

const log = (msg: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const round = (x: number, digits: number) => Number(x.toFixed(digits));

// ---- one run (child process) ------------------------------------------------------------------

function modelSpec(layers: readonly number[]): ModelSpec {
  return {
    inputSize: layers[0],
    layers: layers
      .slice(1)
      .map((units, i) => ({ units, activation: i === layers.length - 2 ? 'softmax' : 'relu' })),
    initializer: 'xavier',
  };
}

function accuracy(model: Sequential, set: DataSet): number {
  const probs = model.predict(set.X, set.n);
  let right = 0;
  for (let r = 0; r < set.n; r++) {
    let best = 0;
    for (let c = 1; c < set.k; c++) if (probs[r * set.k + c] > probs[r * set.k + best]) best = c;
    if (best === set.Y[r]) right++;
  }
  return right / set.n;
}

async function runTraining(workload: TrainWorkload, backend: string): Promise<Record<string, unknown>> {
  const recipe = RECIPES[workload];
  const set = loadSet(dataDir, workload);
  const y = new Float32Array(set.n * set.k);
  for (let r = 0; r < set.n; r++) y[r * set.k + set.Y[r]] = 1;
  const model = Sequential.create(modelSpec(recipe.layers), createRng(1));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await fit(
    model,
    { x: set.X, y, rows: set.n },
    {
      epochs: recipe.epochs,
      batchSize: recipe.batch,
      optimizer: { type: 'adam', learningRate: recipe.lr },
      loss: 'crossEntropy',
      seed: 1,
      shuffle: false,
    },
  );
  const wallS = (performance.now() - t0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  const samples = set.n * recipe.epochs;
  const trainFlops = 3 * forwardFlopsPerRow(recipe.layers) * samples;
  return {
    workload,
    backend,
    samples,
    samples_per_s: Math.round(samples / wallS),
    wall_s: round(wallS, 3),
    // CPU time of the whole process (all its threads): less sensitive to other processes than wall_s.
    cpu_s: round((cpu.user + cpu.system) / 1e6, 3),
    train_acc: round(accuracy(model, set), 4),
    gflops: round(trainFlops / wallS / 1e9, 3),
    // Peak resident memory of this process (loading, training, scoring); the data set is `data_mb`.
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
    data_mb: round(set.bytes / 2 ** 20, 1),
  };
}

function timeCalls(calls: number, fn: () => void): number[] {
  const out = new Array<number>(calls);
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    fn();
    out[i] = performance.now() - t;
  }
  return out;
}

function runInference(backend: string): Record<string, unknown> {
  const model = Sequential.create(modelSpec(INFER.layers), createRng(INFER.seed));
  const { row, batch } = inferInputs();
  let sink = 0; // keeps the outputs observable
  timeCalls(INFER.rowWarmup, () => (sink += model.predict(row, 1)[0]));
  const rowMs = median(timeCalls(INFER.rowCalls, () => (sink += model.predict(row, 1)[0])));
  timeCalls(INFER.batchWarmup, () => (sink += model.predict(batch, INFER.batchRows)[0]));
  const batchMs = median(
    timeCalls(INFER.batchCalls, () => (sink += model.predict(batch, INFER.batchRows)[0])),
  );
  if (!Number.isFinite(sink)) throw new Error('inference produced a non-finite output');
  const rowsPerS = INFER.batchRows / (batchMs / 1e3);
  return {
    workload: 'infer',
    backend,
    single_row_us: round(rowMs * 1e3, 2),
    batch1024_rows_per_s: Math.round(rowsPerS),
    gflops: round((rowsPerS * forwardFlopsPerRow(INFER.layers)) / 1e9, 3),
  };
}

async function child(workload: Exclude<Workload, 'upload'>, backend: string): Promise<void> {
  // "native-2t": the native backend with its helper thread (ENGINE_THREADS=2).
  selectKernels(backend.replace(/-2t$/, ''));
  if (backend.endsWith('-2t')) setEngineThreads(2);
  const result = workload === 'infer' ? runInference(backend) : await runTraining(workload, backend);
  process.stdout.write(JSON.stringify(result) + '\n');
}

// ---- orchestration ----------------------------------------------------------------------------

type PeerLine = Record<string, number | string | null>;

/** The latest line per peer and workload in peers.jsonl. */
function readPeers(): Map<string, PeerLine> {
  const file = join(benchDir, 'out', 'peers.jsonl');
  const latest = new Map<string, PeerLine>();
  if (!existsSync(file)) return latest;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const p = JSON.parse(line) as PeerLine;
    latest.set(`${p.peer}/${p.workload}`, p);
  }
  return latest;
}

function ratios(result: Record<string, unknown>, peers: Map<string, PeerLine>): Record<string, unknown> {
  const vs: Record<string, unknown> = {};
  for (const peer of PEERS) {
    const p = peers.get(`${peer}/${String(result.workload)}`);
    if (!p) continue;
    if (result.workload === 'infer') {
      vs[peer] = {
        single_row: round(Number(p.single_row_us) / Number(result.single_row_us), 2),
        batch1024: round(Number(result.batch1024_rows_per_s) / Number(p.batch1024_rows_per_s), 2),
      };
    } else {
      vs[peer] = round(Number(result.samples_per_s) / Number(p.samples_per_s), 2);
    }
  }
  return vs;
}

function runChild(workload: Workload, backend: string): Record<string, unknown> | null {
  const script = fileURLToPath(import.meta.url);
  const out = spawnSync(
    process.execPath,
    [...process.execArgv, script, '--child', `--workloads=${workload}`, `--backends=${backend}`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  const line = out.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (out.status !== 0 || !line) {
    log(`${workload} on ${backend} failed (exit ${out.status})`);
    return null;
  }
  return JSON.parse(line) as Record<string, unknown>;
}

/** The upload benchmark in its own process (its peak memory is the parsing thread's alone); its line, printed. */
function runUpload(): Record<string, unknown> | null {
  log('upload (CSV read beside pandas)');
  const script = fileURLToPath(new URL('upload.ts', import.meta.url));
  const out = spawnSync(process.execPath, [...process.execArgv, script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, BENCH_DIR: benchDir },
  });
  const line = out.stdout.split('\n').find((l) => l.startsWith('{'));
  if (out.status !== 0 || !line) {
    log(`upload failed (exit ${out.status})`);
    return null;
  }
  process.stdout.write(line + '\n');
  return JSON.parse(line) as Record<string, unknown>;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const names = availableKernels().map((k) => k.name);
  if (nativeKernels) names.splice(1, 0, 'native-2t');
  const backends = typeof args.backends === 'string' ? args.backends.split(',') : names;
  const workloads = (
    typeof args.workloads === 'string' ? args.workloads.split(',') : [...WORKLOADS]
  ) as Workload[];
  for (const b of backends)
    if (!names.includes(b)) throw new Error(`unknown backend "${b}" (available: ${names.join(', ')})`);
  for (const w of workloads)
    if (!WORKLOADS.includes(w))
      throw new Error(`unknown workload "${w}" (workloads: ${WORKLOADS.join(', ')})`);
  if (args.child) {
    if (workloads[0] === 'upload') throw new Error('--child runs an engine workload');
    await child(workloads[0], backends[0]);
    return;
  }

  const env = { ...process.env, BENCH_DIR: benchDir };
  const engineWork = workloads.some((w) => w !== 'upload');
  if (engineWork && !hasData(dataDir)) {
    const gen = join(harness, 'gen-data.mjs');
    if (!existsSync(gen))
      throw new Error(`no data in ${dataDir} and no harness at ${harness} to generate it`);
    log(`generating data in ${dataDir}`);
    const r = spawnSync(process.execPath, [gen], { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (r.status !== 0) throw new Error(`gen-data.mjs failed (exit ${r.status})`);
  }
  if (args.peers) {
    const peersSh = join(harness, 'peers.sh');
    if (!existsSync(peersSh)) throw new Error(`--peers: no harness at ${peersSh}`);
    log('running the peers (peers.sh --quick --only=tfjs-wasm,torch)');
    const r = spawnSync('bash', [peersSh, '--quick', `--only=${PEERS.join(',')}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
    });
    if (r.status !== 0) log(`peers.sh exited ${r.status}; using whatever lines it wrote`);
  }
  const peers = readPeers();
  if (peers.size === 0)
    log(`no peer results in ${join(benchDir, 'out', 'peers.jsonl')}: run with --peers for ratios`);

  const results: Record<string, unknown>[] = [];
  for (const workload of workloads) {
    if (workload === 'upload') {
      const r = runUpload();
      if (r) results.push(r);
      continue;
    }
    for (const backend of backends) {
      log(`${workload} on ${backend}`);
      const r = runChild(workload, backend);
      if (!r) continue;
      const line = { ...r, vs: ratios(r, peers) };
      results.push(line);
      process.stdout.write(JSON.stringify(line) + '\n');
    }
  }
  const best = names[0];
  const find = (w: string, backend = best) => results.find((r) => r.workload === w && r.backend === backend);
  const torch = (w: string) => peers.get(`torch/${w}`);
  const ratio = (r: Record<string, unknown> | undefined, w: string) =>
    r && torch(w) ? Number(r.samples_per_s) / Number(torch(w)?.samples_per_s) : null;
  const wmnist = find('wmnist');
  const infer = find('infer');
  const upload = results.find((r) => r.workload === 'upload') as { targets?: object } | undefined;
  const accOk = (r: Record<string, unknown> | undefined, w: string) =>
    r && torch(w) ? Math.abs(Number(r.train_acc) - Number(torch(w)?.train_acc)) <= 0.01 : null;
  const atLeast = (x: number | null, bound: number) => (x === null ? null : x >= bound);
  // The targets of the project's speed issue, against PyTorch measured in the same session.
  process.stdout.write(
    JSON.stringify({
      targets: best,
      // Other processes on the machine skew every ratio; the 1-minute load average at the end says how much.
      load_avg_1m: round(loadavg()[0], 2),
      wtab_1_5x_torch: atLeast(ratio(find('wtab'), 'wtab'), 1.5),
      wmnist_1x_torch: atLeast(ratio(wmnist, 'wmnist'), 1),
      wmnist_2_threads_1x_torch: atLeast(ratio(find('wmnist', 'native-2t'), 'wmnist'), 1),
      batch1024_1x_torch:
        infer && torch('infer')
          ? Number(infer.batch1024_rows_per_s) >= Number(torch('infer')?.batch1024_rows_per_s)
          : null,
      single_row_le_15us: infer ? Number(infer.single_row_us) <= 15 : null,
      wtab_acc_within_0_01: accOk(find('wtab'), 'wtab'),
      wmnist_acc_within_0_01: accOk(wmnist, 'wmnist'),
      wmnist_peak_rss_le_data_plus_150mb: wmnist
        ? Number(wmnist.peak_rss_mb) <= Number(wmnist.data_mb) + 150
        : null,
      upload: upload?.targets ?? null,
    }) + '\n',
  );
}

await main();
