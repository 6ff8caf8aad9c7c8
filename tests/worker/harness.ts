// A real worker against the real Redis: unique REDIS_PREFIX, temp DATA_DIR, datasets uploaded
// through the dataset service, jobs submitted through the job service and its BullMQ queue.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../src/config.js';
import { createDatasetService, datasetUsers } from '../../src/domain/datasets.js';
import { createJobService } from '../../src/domain/jobs.js';
import type { JobStore } from '../../src/domain/ports.js';
import type { Job, TrainingSpecInput } from '../../src/domain/schemas.js';
import { TrainingSpecInputSchema } from '../../src/domain/schemas.js';
import type { JobService } from '../../src/domain/services.js';
import { createLogger } from '../../src/logger.js';
import { createTrainingQueue } from '../../src/queue/training-queue.js';
import { createCsvDescriber } from '../../src/storage/csv-describer.js';
import { createArtifactStore, createCheckpointStore } from '../../src/storage/checkpoint-store.js';
import { createDatasetStore } from '../../src/storage/dataset-store.js';
import { createFileStore, fileStoreSettings } from '../../src/storage/file-store.js';
import { dataPaths, type DataPaths } from '../../src/storage/files.js';
import { createRedisJobEventBus, createRedisJobStore } from '../../src/storage/job-store.js';
import { createModelStore } from '../../src/storage/model-store.js';
import { createRedis, type Redis } from '../../src/storage/redis.js';
import { startTrainingWorker, type TrainingWorker } from '../../src/worker/main.js';
import type { ProcessorDeps } from '../../src/worker/processor.js';

export const fixture = (name: string) =>
  resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', `${name}.csv`);

export const TENANT = 'tenant-a';

export interface Harness {
  config: Config;
  redis: Redis;
  paths: DataPaths;
  /** The stores of ProcessorDeps for files (checkpoints, artifacts, the dataset's location). */
  fileDeps: Pick<ProcessorDeps, 'checkpoints' | 'artifacts' | 'files'>;
  jobs: JobService;
  jobStore: JobStore;
  models: ReturnType<typeof createModelStore>;
  upload(name: string): Promise<string>;
  submit(spec: Omit<TrainingSpecInput, 'datasetId'> & { datasetId: string }): Promise<Job>;
  startWorker(): TrainingWorker;
  waitFor(jobId: string, until: (job: Job) => boolean, timeoutMs?: number): Promise<Job>;
  close(): Promise<void>;
}

export async function createHarness(env: Record<string, string> = {}): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bp-worker-'));
  const config = loadConfig({
    REDIS_PREFIX: `test-worker-${randomUUID()}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    LOCK_DURATION_MS: '4000',
    STALLED_INTERVAL_MS: '1000',
    SHUTDOWN_GRACE_MS: '10000',
    ...env,
  });
  const redis = createRedis(config.REDIS_URL, 'api');
  redis.on('error', () => {});
  const files = fileStoreSettings(config);
  const fileStore = createFileStore(files);
  const storeDeps = { redis, prefix: config.REDIS_PREFIX, dataDir, files: fileStore };
  const datasetStore = createDatasetStore(storeDeps);
  const describer = createCsvDescriber();
  const jobStore = createRedisJobStore({ redis, prefix: config.REDIS_PREFIX });
  const datasets = createDatasetService({
    store: datasetStore,
    describer,
    limits: { MAX_UPLOAD_BYTES: 10_000_000, MAX_COLUMNS: 100, MAX_ROWS: 100_000, MAX_LINE_BYTES: 100_000 },
    users: datasetUsers({ jobs: jobStore }),
  });
  const queue = createTrainingQueue({ connection: redis, config });
  const jobs = createJobService({
    datasets: datasetStore,
    jobs: jobStore,
    queue,
    events: createRedisJobEventBus({ redis, prefix: config.REDIS_PREFIX }),
    limits: config,
  });
  const workers: TrainingWorker[] = [];

  return {
    config,
    redis,
    paths: dataPaths(dataDir),
    fileDeps: {
      checkpoints: createCheckpointStore(fileStore),
      artifacts: createArtifactStore(fileStore),
      files,
    },
    jobs,
    jobStore,
    models: createModelStore(storeDeps),
    async upload(name) {
      const ds = await datasets.create(TENANT, { name, body: createReadStream(fixture(name)) });
      return ds.id;
    },
    submit: (spec) => jobs.submit(TENANT, TrainingSpecInputSchema.parse(spec)),
    startWorker() {
      const w = startTrainingWorker(config, createLogger('error', 'worker'));
      workers.push(w);
      return w;
    },
    async waitFor(jobId, until, timeoutMs = 45_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await jobs.get(TENANT, jobId);
        if (until(job)) return job;
        if (Date.now() > deadline)
          throw new Error(
            `timed out waiting for job ${jobId}: ${JSON.stringify({ status: job.status, progress: job.progress, error: job.error })}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await describer.close();
      await queue.close().catch(() => undefined);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.REDIS_PREFIX}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
