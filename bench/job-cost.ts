// `npm run bench:job-cost`: the fixed cost of one small training job, part by part, measured in
// this process on the job `npm run load` submits (iris, one hidden layer of 8, three epochs).
// Each figure is the median of --runs repetitions (first-run figures are the cold ones):
//   thread      a new training thread: spawn and load the engine, data and storage modules (cold),
//               and a job handed to a thread that is already loaded (warm), compiled and under tsx
//   parse       read and parse the CSV file into typed columns
//   encode      split, fit the encoder, transform the splits (prepareData)
//   fit+report  the rest of the training: three epochs, metrics, baselines, feature importance
//   checkpoint  encode the training state and write it (fsync, rename), then remove it
//   artifact    serialize the model and write it (fsync, rename)
// The Redis side (commands per job) is printed by `npm run load`. Run it with `nice -n 10`.
//
// Usage: npm run bench:job-cost -- [--runs 20]
import { createReadStream } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCsv, type CsvFormat, type Table } from '../src/data/index.js';
import { newId } from '../src/domain/ids.js';
import { resolveSpec } from '../src/domain/jobs.js';
import { TrainingSpecInputSchema, type TrainingSpec } from '../src/domain/schemas.js';
import { dataSettings, prepareData, runTraining } from '../src/domain/training.js';
import { encodeTrainingState, type TrainingState } from '../src/engine/index.js';
import { loadConfig } from '../src/config.js';
import { createLocalFileStore } from '../src/storage/local-file-store.js';
import { createTrainingPool } from '../src/worker/thread-runner.js';
import type { ThreadInput } from '../src/worker/thread-protocol.js';
import { datasetOf } from '../tests/helpers/trained-model.js';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(flags.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const IRIS = join(repoRoot, 'tests/fixtures/iris.csv');
const LIMITS = { maxColumns: 1000, maxRows: 1_000_000, maxLineBytes: 1 << 20 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
async function repeat(fn: () => Promise<unknown> | unknown): Promise<{ first: number; median: number }> {
  const all: number[] = [];
  for (let i = 0; i < runs; i++) all.push(await time(fn));
  return { first: all[0], median: median(all) };
}
const ms = (x: number) => `${x.toFixed(2)} ms`;

/** The load script's job, resolved as the API would resolve it. */
function loadSpec(table: Table & { format: CsvFormat }, datasetId: string): TrainingSpec {
  const dataset = datasetOf(table, datasetId, 'iris');
  const input = TrainingSpecInputSchema.parse({
    datasetId,
    target: 'species',
    model: { layers: [{ units: 8, activation: 'relu' }] },
    training: { epochs: 3, batchSize: 32, earlyStopping: false },
  });
  return resolveSpec(input, dataset, loadConfig({}));
}

/** Cold and warm job starts on the training pool: a missing dataset makes the job end right after it starts. */
async function threadCosts(compiled: boolean, dir: string) {
  const spec = loadSpec(await readCsv(createReadStream(IRIS), LIMITS), newId('ds'));
  const input: ThreadInput = {
    spec,
    files: { kind: 'local', dir },
    csvLimits: LIMITS,
    resume: null,
    checkpointIntervalMs: 1000,
    engineThreads: 1,
  };
  const entry = compiled ? new URL(`file://${join(repoRoot, 'dist/worker/train-thread.js')}`) : undefined;
  const cold: number[] = [];
  for (let i = 0; i < Math.min(runs, 5); i++) {
    const pool = createTrainingPool({ threads: 1, entry });
    cold.push(await time(() => pool.start(input, async () => 'continue').result));
    await pool.close();
  }
  const pool = createTrainingPool({ threads: 1, entry });
  await pool.start(input, async () => 'continue').result;
  const warm = await repeat(() => pool.start(input, async () => 'continue').result);
  await pool.close();
  return { cold: median(cold), warm: warm.median };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'bp-job-cost-'));
  try {
    const files = createLocalFileStore(dir);
    console.log(`runs: ${runs}, load average at start: ${loadavg()[0].toFixed(1)}`);
    const tsx = await threadCosts(false, dir);
    console.log(`thread (tsx)      cold start ${ms(tsx.cold)}, job on a loaded thread ${ms(tsx.warm)}`);
    const built = await threadCosts(true, dir);
    console.log(`thread (compiled) cold start ${ms(built.cold)}, job on a loaded thread ${ms(built.warm)}`);

    let table!: Table & { format: CsvFormat };
    const parse = await repeat(async () => {
      table = await readCsv(createReadStream(IRIS), LIMITS);
    });
    console.log(`parse             ${ms(parse.median)} (first ${ms(parse.first)})`);
    const spec = loadSpec(table, newId('ds'));
    const encode = await repeat(() => prepareData(table, dataSettings(spec)));
    console.log(`encode            ${ms(encode.median)} (first ${ms(encode.first)})`);
    let state: TrainingState | null = null;
    const whole = await repeat(() =>
      runTraining(table, spec, {
        onEpoch: (_r, snapshot) => {
          state ??= snapshot();
        },
      }),
    );
    console.log(`fit+report        ${ms(whole.median - encode.median)} (runTraining ${ms(whole.median)})`);

    const checkpoint = await repeat(async () => {
      const bytes = encodeTrainingState(state!);
      await files.write('checkpoints/job.ckpt', bytes);
      await files.remove('checkpoints/job.ckpt');
    });
    console.log(`checkpoint        ${ms(checkpoint.median)} (first ${ms(checkpoint.first)})`);
    const outcome = await runTraining(table, spec);
    const artifact = await repeat(() =>
      files.write(`models/${newId('mdl')}.json`, JSON.stringify(outcome.artifact)),
    );
    console.log(`artifact          ${ms(artifact.median)} (first ${ms(artifact.first)})`);
    console.log(`load average at end: ${loadavg()[0].toFixed(1)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
