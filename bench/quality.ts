// `npm run bench:quality [folder]`: trains a recipe (the default one unless --spec says otherwise)
// through the same code path as a training job (spec resolution, then runTraining) on every data
// set of the folder (default ../shared/datasets/bench), one run per seed, and compares the mean
// held-out test score with the references in the folder's references.json (scikit-learn's MLP and
// HistGradientBoosting over 5 seeds, made by its references.py).
//
// Prints per data set: our mean test score (accuracy, or r² for regression), both references, the
// error ratio (1 − ours) / (1 − better reference) (below 1: fewer errors than the reference), our
// mean training time (wall clock, and the CPU seconds the job used: its time on an idle core) next to
// theirs; last line the geometric mean of the error ratios and the worst.
//
// Usage: npm run bench:quality -- [folder] [--only=a,b] [--seeds=5] [--spec='{"recipe":"fast"}']
//          [--cache=file] [--fresh]
// --only: the data sets to run (names in references.json, comma-separated); --seeds: seeds 0…n−1;
// --spec: fields over the default job spec (a recipe, or any training/model/preprocessing field).
// Each result is cached in --cache (default $TMPDIR/backprop-quality.json) under the resolved spec
// (the recipe's defaults filled in), the data set and the seed, so an interrupted run resumes,
// variants can be compared, and a changed recipe trains afresh; --fresh ignores the cache.
// A script, not a test: nothing here asserts.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../src/config.js';
import { describeTable, readCsv, type Table } from '../src/data/index.js';
import { resolveSpec } from '../src/domain/jobs.js';
import { TrainingSpecInputSchema, type Dataset, type TrainingSpec } from '../src/domain/schemas.js';
import { runTraining } from '../src/domain/training.js';

interface Reference {
  task: 'classification' | 'regression';
  mlp: number;
  gbm: number;
  mlp_fit_s: number;
  gbm_fit_s: number;
  target: string;
  drop: string[];
  file: string;
}
interface RunResult {
  score: number;
  seconds: number;
  epochs: number;
  /** CPU seconds of this process during the job (all its threads): the time on an idle core, near enough. */
  cpuSeconds?: number;
}

function arg(name: string): string | undefined {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit?.slice(name.length + 3);
}

const folder = resolve(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '../shared/datasets/bench');
const seeds = Number(arg('seeds') ?? 5);
const overrides = JSON.parse(arg('spec') ?? '{}') as Record<string, unknown>;
const cachePath = arg('cache') ?? join(tmpdir(), 'backprop-quality.json');
const references = JSON.parse(readFileSync(join(folder, 'references.json'), 'utf8')) as Record<
  string,
  Reference
>;
const only = arg('only')?.split(',');
const cache: Record<string, RunResult> =
  !process.argv.includes('--fresh') && existsSync(cachePath)
    ? (JSON.parse(readFileSync(cachePath, 'utf8')) as Record<string, RunResult>)
    : {};
const limits = loadConfig({});
const csvLimits = { maxColumns: 1000, maxRows: 1_000_000, maxLineBytes: 1 << 20 };

/** The resolved spec of one job: the overrides and the recipe's defaults against the table's summary. */
function specFor(name: string, ref: Reference, table: Table, seed: number): TrainingSpec {
  const dataset: Dataset = {
    id: name,
    name,
    rowCount: table.rowCount,
    sizeBytes: 0,
    createdAt: new Date().toISOString(),
    columns: describeTable(table),
    warnings: [],
    format: { delimiter: ',', decimal: '.', charset: 'utf-8', missingValues: null, columnTypes: {} },
  };
  const features = table.names.filter((n) => n !== ref.target && !ref.drop.includes(n));
  const input = TrainingSpecInputSchema.parse({
    ...overrides,
    datasetId: name,
    target: ref.target,
    features,
    task: ref.task,
    training: { ...((overrides.training as object) ?? {}), seed },
  });
  return resolveSpec(input, dataset, limits);
}

/** The cache key of a job: its resolved spec (every default filled in), so a changed recipe misses. */
const cacheKey = (spec: TrainingSpec): string => JSON.stringify(spec);

/** One training job's worth: train the resolved spec, score the test split. */
async function trainOnce(ref: Reference, table: Table, spec: TrainingSpec): Promise<RunResult> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const outcome = await runTraining(table, spec);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const test = outcome.metrics.test as { accuracy?: number; r2?: number } | null;
  const score = (ref.task === 'classification' ? test?.accuracy : test?.r2) ?? Number.NaN;
  return { score, seconds, epochs: outcome.epochsTrained, cpuSeconds };
}

const fmt = (v: number, d = 4) => v.toFixed(d);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const key = JSON.stringify(overrides);
  const ratios: { name: string; ratio: number }[] = [];
  console.log(`spec overrides: ${key}; seeds 0…${seeds - 1}; load average ${loadavg()[0].toFixed(1)}`);
  console.log('dataset      metric    ours    mlp     gbm     ratio  epochs  ours_s  cpu_s  mlp_s  gbm_s');
  for (const [name, ref] of Object.entries(references)) {
    if (only && !only.includes(name)) continue;
    const table = await readCsv(readFileSync(join(folder, ref.file), 'utf8'), csvLimits);
    const runs: RunResult[] = [];
    for (let seed = 0; seed < seeds; seed++) {
      const spec = specFor(name, ref, table, seed);
      const k = cacheKey(spec);
      cache[k] ??= await trainOnce(ref, table, spec);
      writeFileSync(cachePath, JSON.stringify(cache, null, 1));
      runs.push(cache[k]);
    }
    const ours = mean(runs.map((r) => r.score));
    const best = Math.max(ref.mlp, ref.gbm);
    const ratio = (1 - ours) / (1 - best);
    ratios.push({ name, ratio });
    const metric = ref.task === 'classification' ? 'accuracy' : 'r2';
    console.log(
      [
        name.padEnd(12),
        metric.padEnd(8),
        fmt(ours),
        fmt(ref.mlp),
        fmt(ref.gbm),
        fmt(ratio, 3).padStart(6),
        fmt(mean(runs.map((r) => r.epochs)), 0).padStart(6),
        fmt(mean(runs.map((r) => r.seconds)), 1).padStart(7),
        fmt(mean(runs.map((r) => r.cpuSeconds ?? Number.NaN)), 1).padStart(6),
        fmt(ref.mlp_fit_s, 2).padStart(6),
        fmt(ref.gbm_fit_s, 2).padStart(6),
      ].join(' '),
    );
  }
  if (ratios.length === 0) return;
  const geo = Math.exp(mean(ratios.map((r) => Math.log(r.ratio))));
  const worst = ratios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  console.log(`geometric mean of error ratios ${fmt(geo, 3)}; worst ${worst.name} ${fmt(worst.ratio, 3)}`);
}

await main();
