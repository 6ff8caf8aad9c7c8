// Batch prediction throughput and the worker's memory: a seeded 1,000,000-row file (iris-like
// rows with an id) scored by a model trained on the iris fixture, in a real worker process
// (src/worker/main.ts under tsx), through the real queue and stores. Prints rows/s (from the job's
// startedAt to finishedAt) and the worker's peak resident memory (VmHWM). Needs Redis; run it with
// `nice -n 10 npm run bench:batch` (ROWS=… to change the size). Keys and files are removed after.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { describeTable, readCsv, tableWarnings } from '../src/data/index.js';
import {
  createBatchPredictionService,
  BatchPredictionRequestSchema,
} from '../src/domain/batch-predictions.js';
import { createDatasetService } from '../src/domain/datasets.js';
import { newId } from '../src/domain/ids.js';
import { resolveSpec } from '../src/domain/jobs.js';
import { TrainingSpecInputSchema, type Dataset } from '../src/domain/schemas.js';
import { runTraining } from '../src/domain/training.js';
import { createRng } from '../src/engine/index.js';
import { BATCH_QUEUE, createTrainingQueue } from '../src/queue/training-queue.js';
import { createBatchFiles, createBatchStore } from '../src/storage/batch-store.js';
import { createCsvDescriber } from '../src/storage/csv-describer.js';
import { createDatasetStore } from '../src/storage/dataset-store.js';
import { createFileStore, fileStoreSettings } from '../src/storage/file-store.js';
import { createModelStore } from '../src/storage/model-store.js';
import { createRedis } from '../src/storage/redis.js';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const root = join(import.meta.dirname, '..');

/** Writes ROWS seeded rows in the iris fixture's ranges, with an id column. */
async function writeRows(path: string, rows: number): Promise<void> {
  const rng = createRng(12_345);
  const u = (lo: number, hi: number) => (lo + (hi - lo) * rng.next()).toFixed(2);
  const out = createWriteStream(path);
  out.write('id,sepal_length,sepal_width,petal_length,petal_width\n');
  for (let i = 0; i < rows; i++) {
    if (!out.write(`r${i},${u(4.3, 7.9)},${u(2, 4.4)},${u(1, 6.9)},${u(0.1, 2.5)}\n`))
      await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** A model trained on the iris fixture in this process, as a worker would save it. */
async function irisModel(config: ReturnType<typeof loadConfig>) {
  const text = await readFile(join(root, 'tests', 'fixtures', 'iris.csv'), 'utf8');
  const table = await readCsv(text, { maxColumns: 100, maxRows: 1000, maxLineBytes: 1 << 20 });
  const dataset: Dataset = {
    id: newId('ds'),
    name: 'iris',
    rowCount: table.rowCount,
    sizeBytes: text.length,
    createdAt: new Date().toISOString(),
    columns: describeTable(table),
    warnings: tableWarnings(table),
    format: { ...table.format, missingValues: null, columnTypes: {} },
  };
  const spec = resolveSpec(
    TrainingSpecInputSchema.parse({ datasetId: dataset.id, target: 'species', training: { epochs: 30 } }),
    dataset,
    config,
  );
  const outcome = await runTraining(table, spec);
  return {
    model: {
      id: newId('mdl'),
      jobId: newId('job'),
      datasetId: dataset.id,
      task: spec.task,
      target: spec.target,
      classes: outcome.classes,
      features: outcome.features,
      unknownCategory: spec.preprocessing.unknownCategory,
      metrics: outcome.metrics,
      baselines: outcome.baselines,
      featureImportance: outcome.featureImportance,
      parameterCount: outcome.parameterCount,
      epochsTrained: outcome.epochsTrained,
      createdAt: new Date().toISOString(),
    },
    artifact: outcome.artifact,
  };
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'bp-bench-batch-'));
  const config = loadConfig({
    REDIS_PREFIX: `bench-batch-${randomUUID()}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  });
  const redis = createRedis(config.REDIS_URL, 'worker');
  const files = createFileStore(fileStoreSettings(config));
  const storeDeps = { redis, prefix: config.REDIS_PREFIX, dataDir, files };
  const datasetStore = createDatasetStore(storeDeps);
  const modelStore = createModelStore(storeDeps);
  const queue = createTrainingQueue({ connection: redis, config, name: BATCH_QUEUE });
  const describer = createCsvDescriber();
  let worker: ReturnType<typeof spawn> | null = null;
  try {
    const csv = join(dataDir, 'input.csv');
    await writeRows(csv, ROWS);
    const datasets = createDatasetService({
      store: datasetStore,
      describer,
      limits: { MAX_UPLOAD_BYTES: 1 << 30, MAX_COLUMNS: 100, MAX_ROWS: ROWS, MAX_LINE_BYTES: 1 << 20 },
      users: async () => [],
    });
    const dataset = await datasets.create('bench', { name: 'bench', body: createReadStream(csv) });
    const { model, artifact } = await irisModel(config);
    await modelStore.save('bench', model, artifact);
    const batch = createBatchPredictionService({
      store: createBatchStore({ redis, prefix: config.REDIS_PREFIX }),
      models: modelStore,
      datasets: datasetStore,
      queue,
      files: createBatchFiles(files),
    });
    worker = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'worker', 'main.ts')], {
      cwd: root,
      env: { ...process.env, REDIS_PREFIX: config.REDIS_PREFIX, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const job = await batch.submit(
      'bench',
      BatchPredictionRequestSchema.parse({ modelId: model.id, datasetId: dataset.id, keepColumns: ['id'] }),
    );
    let done = job;
    while (!['succeeded', 'failed', 'cancelled'].includes(done.status)) {
      await new Promise((r) => setTimeout(r, 200));
      done = await batch.get('bench', job.id);
    }
    const peak = await peakRssMb(worker.pid!);
    const seconds = (Date.parse(done.finishedAt!) - Date.parse(done.startedAt!)) / 1000;
    console.log(
      JSON.stringify({
        rows: done.progress.rows,
        status: done.status,
        seconds: Number(seconds.toFixed(2)),
        rowsPerSecond: Math.round(done.progress.rows / seconds),
        workerPeakRssMb: Math.round(peak),
      }),
    );
  } finally {
    worker?.kill('SIGTERM');
    if (worker) await once(worker, 'exit');
    await queue.close();
    await describer.close();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.REDIS_PREFIX}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
