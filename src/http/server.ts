// Composition root of the API process (`npm run start:api`): config, Redis, stores, services, the
// app; listens on HOST:PORT and shuts down gracefully (stop accepting, finish in-flight requests,
// close the queue and Redis) on SIGINT/SIGTERM.
import { pathToFileURL } from 'node:url';
import closeWithGrace from 'close-with-grace';
import { loadConfig, startupFailureText, type Config } from '../config.js';
import { createBatchPredictionService, unfinishedBatches } from '../domain/batch-predictions.js';
import { createEvaluationService } from '../domain/evaluations.js';
import { createDatasetService, datasetUsers } from '../domain/datasets.js';
import { createJobService } from '../domain/jobs.js';
import { createModelService } from '../domain/models.js';
import { createPreflightService } from '../domain/preflight-service.js';
import {
  createTuningCoordinator,
  createTuningService,
  unfinishedSearches,
  type TuningDeps,
} from '../domain/tuning.js';
import { createWebhookEmitter, createWebhookService, type WebhookEmitter } from '../domain/webhooks.js';
import type { DatasetStore, HealthProbe, JobQueue, ModelStore } from '../domain/ports.js';
import { describeEngine } from '../engine/index.js';
import { createLogger, type Logger } from '../logger.js';
import { createQueueInspector } from '../queue/queue-stats.js';
import { createWebhookTransport } from '../net/webhook-transport.js';
import { BATCH_QUEUE, createTrainingQueue } from '../queue/training-queue.js';
import { createWebhookQueue } from '../queue/webhook-queue.js';
import { createBatchFiles, createBatchStore } from '../storage/batch-store.js';
import { createDatasetStore } from '../storage/dataset-store.js';
import { createEvaluationStore } from '../storage/evaluation-store.js';
import { createCsvDescriber, type CsvDescriberPool } from '../storage/csv-describer.js';
import { createRedisHealthProbe } from '../storage/health.js';
import { createFileStore, fileStoreSettings, type FileStore } from '../storage/file-store.js';
import { createIdempotencyStore } from '../storage/idempotency-store.js';
import { createRedisJobEventBus, createRedisJobStore } from '../storage/job-store.js';
import { createModelStore } from '../storage/model-store.js';
import { createRedis, type Redis } from '../storage/redis.js';
import { createWorkerMetricsStore } from '../storage/worker-metrics-store.js';
import { createTuningStore } from '../storage/tuning-store.js';
import { createWebhookStore } from '../storage/webhook-store.js';
import { buildApp, type AppDeps } from './app.js';
import { WORKER_ALIVE_MS } from './plugins/metrics.js';

/**
 * Readiness as `probe` answers it, its detail followed by the kernels predictions run on, e.g.
 * "…; engine: native (avx512, 1 thread)" or "…; engine: wasm-simd (native addon not built: …)".
 */
export function withEngineDetail(probe: HealthProbe): HealthProbe {
  return {
    async ready() {
      const r = await probe.ready();
      return { ...r, detail: `${r.detail}; engine: ${describeEngine()}` };
    },
  };
}

/**
 * The API's stores and services over one Redis connection: the wiring the server uses, shared
 * with the tests' app so both run the same composition (a test swaps a service in the deps).
 */
export function createApiDeps(options: {
  config: Config;
  logger: Logger;
  redis: Redis;
  describer: CsvDescriberPool;
}) {
  const { config, logger, redis } = options;
  const files = createFileStore(fileStoreSettings(config));
  const storeDeps = { redis, prefix: config.REDIS_PREFIX, dataDir: config.DATA_DIR, files };
  const datasetStore = createDatasetStore(storeDeps);
  const modelStore = createModelStore(storeDeps);
  const queue = createTrainingQueue({ connection: redis, config });
  const batchQueue = createTrainingQueue({ connection: redis, config, name: BATCH_QUEUE });
  const webhookStore = createWebhookStore({ redis, prefix: config.REDIS_PREFIX });
  const webhookQueue = createWebhookQueue({ connection: redis, config });
  const emitWebhookEvent = createWebhookEmitter({ store: webhookStore, queue: webhookQueue });
  const jobStore = createRedisJobStore({ redis, prefix: config.REDIS_PREFIX });
  const jobEvents = createRedisJobEventBus({ redis, prefix: config.REDIS_PREFIX });
  const tuningStore = createTuningStore({ redis, prefix: config.REDIS_PREFIX });
  const tuning = createTuningDeps({
    tuning: tuningStore,
    jobs: jobStore,
    queue,
    events: jobEvents,
    datasets: datasetStore,
    models: modelStore,
    limits: config,
    emit: emitWebhookEvent,
  });
  const jobs = createJobService({
    datasets: datasetStore,
    jobs: jobStore,
    queue,
    events: jobEvents,
    limits: config,
    logger,
    emit: emitWebhookEvent,
  });
  const scoringStores = { files, modelStore, datasetStore, batchQueue, emitWebhookEvent };
  const inspector = createQueueInspector({ connection: redis, prefix: config.REDIS_PREFIX });
  const workerMetrics = createWorkerMetricsStore({ redis, prefix: config.REDIS_PREFIX });
  const deps: AppDeps = {
    config,
    logger,
    redis,
    health: withEngineDetail(createRedisHealthProbe(redis)),
    idempotency: createIdempotencyStore({
      redis,
      prefix: config.REDIS_PREFIX,
      pendingTtlMs: config.REQUEST_TIMEOUT_MS + 60_000,
    }),
    datasets: createDatasetService({
      store: datasetStore,
      describer: options.describer,
      limits: config,
      users: datasetUsers({
        jobs: jobStore,
        activeSearches: unfinishedSearches(tuningStore),
        activeBatches: unfinishedBatches(createBatchStore({ redis, prefix: config.REDIS_PREFIX })),
      }),
    }),
    models: createModelService({ store: modelStore, cacheSize: config.MODEL_CACHE_SIZE }),
    ...scoringServices(options, scoringStores, () => deps),
    jobs,
    preflight: createPreflightService({ datasets: datasetStore, limits: config }),
    operations: {
      queueStats: () => inspector.stats(),
      parserStats: () => options.describer.stats(),
      workerReports: () => workerMetrics.fresh(WORKER_ALIVE_MS),
    },
    queueView: inspector.queue,
    tuning: createTuningService({ ...tuning, coordinator: createTuningCoordinator(tuning) }),
    webhooks: webhookService(config, webhookStore),
  };
  return { deps, datasetStore, modelStore, queue, batchQueue, inspector, webhookQueue, emitWebhookEvent };
}

/** Batch predictions and evaluations: what scores a model on a stored dataset. */
function scoringServices(
  base: { config: Config; logger: Logger; redis: Redis },
  deps: {
    files: FileStore;
    modelStore: ModelStore;
    datasetStore: DatasetStore;
    batchQueue: JobQueue;
    emitWebhookEvent: WebhookEmitter;
  },
  /** The app's services once built: an uploaded file becomes a dataset through its service. */
  app: () => Pick<AppDeps, 'datasets'>,
): Pick<AppDeps, 'batch' | 'evaluations'> {
  const { config, redis } = base;
  const { modelStore, datasetStore } = deps;
  const batchFiles = createBatchFiles(deps.files);
  return {
    batch: createBatchPredictionService({
      store: createBatchStore({ redis, prefix: config.REDIS_PREFIX }),
      models: modelStore,
      datasets: datasetStore,
      queue: deps.batchQueue,
      files: batchFiles,
      emit: deps.emitWebhookEvent,
      logger: base.logger,
      datasetService: {
        create: (tenant, input) => app().datasets.create(tenant, input),
        remove: (tenant, id) => app().datasets.remove(tenant, id),
      },
    }),
    evaluations: createEvaluationService({
      store: createEvaluationStore({ redis, prefix: config.REDIS_PREFIX }),
      models: modelStore,
      datasets: datasetStore,
      openDataset: batchFiles.openDataset,
      csvLimits: {
        maxColumns: config.MAX_COLUMNS,
        maxRows: config.MAX_ROWS,
        maxLineBytes: config.MAX_LINE_BYTES,
      },
    }),
  };
}

const createTuningDeps = (deps: TuningDeps): TuningDeps => deps;

/** Webhook endpoints and test deliveries, over the configured transport limits. */
function webhookService(config: Config, store: ReturnType<typeof createWebhookStore>) {
  return createWebhookService({
    store,
    transport: createWebhookTransport({
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    }),
  });
}

export async function startApiServer() {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'api');
  const redis = createRedis(config.REDIS_URL, 'api');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'Redis connection error'));
  // Give Redis a moment, so the first requests do not answer 503 while it connects.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      logger.warn('Redis is not reachable yet; requests answer 503 until it is');
      resolve();
    }, 5000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  // Uploads are parsed in worker threads, loaded now so the first upload does not wait for them:
  // two, so a large upload is read by both at once (csv-split.ts) or two uploads side by side.
  const csvDescriber = createCsvDescriber({ prestart: true, threads: 2 });
  const { deps, queue, batchQueue, inspector, webhookQueue } = createApiDeps({
    config,
    logger,
    redis,
    describer: csvDescriber,
  });
  const app = await buildApp(deps);

  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error');
    else logger.info({ signal }, 'shutting down');
    await app.close();
    await csvDescriber.close();
    await queue?.close();
    await batchQueue.close();
    await inspector.close();
    await webhookQueue.close();
    await redis.quit().catch(() => redis.disconnect());
  });

  await app.listen({ host: config.HOST, port: config.PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  logger.info(
    { docs: `http://${host}:${port}/docs`, engine: describeEngine() },
    `API ready; docs at http://${host}:${port}/docs`,
  );
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  startApiServer().catch((err: unknown) => {
    console.error(startupFailureText(err));
    process.exit(1);
  });
}
