// Composition root of the worker (`npm run start:worker`): takes training jobs from the queue and
// runs them on a pool of training threads that stay loaded from job to job. On SIGTERM/SIGINT it
// stops taking jobs, stops the running trainings and hands their jobs back to the queue, so another
// worker resumes them from their checkpoints; it exits within SHUTDOWN_GRACE_MS in any case.
import { pathToFileURL } from 'node:url';
import { loadConfig, startupFailureText, type Config } from '../config.js';
import { describeEngine, engineInfo } from '../engine/index.js';
import { createLogger, type Logger } from '../logger.js';
import { attemptDelivery, createWebhookEmitter, type WebhookEmitter } from '../domain/webhooks.js';
import type { JobEventBus } from '../domain/ports.js';
import { createWebhookTransport, signWebhook } from '../net/webhook-transport.js';
import { createTuningCoordinator } from '../domain/tuning.js';
import {
  createQueueReconcileTarget,
  createTrainingConsumer,
  createTrainingQueue,
} from '../queue/training-queue.js';
import { createWebhookConsumer, createWebhookQueue } from '../queue/webhook-queue.js';
import { createArtifactStore, createCheckpointStore } from '../storage/checkpoint-store.js';
import { createFileStore, fileStoreSettings } from '../storage/file-store.js';
import { createRedisJobEventBus, createRedisJobStore, type RedisJobStore } from '../storage/job-store.js';
import { createRedis, type Redis } from '../storage/redis.js';
import { createWorkerMetricsStore } from '../storage/worker-metrics-store.js';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
import { createDatasetStore } from '../storage/dataset-store.js';
import { createModelStore } from '../storage/model-store.js';
import { createTuningStore } from '../storage/tuning-store.js';
import { createWebhookStore } from '../storage/webhook-store.js';
import { startBatchWorker, type BatchWorker } from './batch-worker.js';
import { createTrainingProcessor, type TrainingProcessor } from './processor.js';
import { createJobAnnouncer } from './announcer.js';
import { createReconciler, type Reconciler } from './reconciler.js';
import { createTrainingPool } from './thread-runner.js';

export interface TrainingWorker {
  processor: TrainingProcessor;
  /** Batch predictions: their own queue, processor and reconciler. */
  batch: BatchWorker;
  /** Re-queues recorded jobs that lost their queue entry, every RECONCILE_INTERVAL_MS. */
  reconciler: Reconciler;
  /** Its Prometheus metrics, sent to Redis for the API's /metrics. */
  metrics: WorkerMetrics;
  /** Graceful stop: hand running jobs back, close the queue connections (bounded by SHUTDOWN_GRACE_MS). */
  close(): Promise<void>;
}

export function startTrainingWorker(config: Config, logger: Logger): TrainingWorker {
  const redis = createRedis(config.REDIS_URL, 'worker');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error; reconnecting'));
  const jobs = createRedisJobStore({ redis, prefix: config.REDIS_PREFIX });
  const metrics = createWorkerMetrics({
    store: createWorkerMetricsStore({ redis, prefix: config.REDIS_PREFIX }),
    logger,
  });
  const events = metrics.observe(createRedisJobEventBus({ redis, prefix: config.REDIS_PREFIX }));
  const webhooks = startWebhooks(config, logger, redis);
  const emit = webhooks.emit;
  const fileStore = createFileStore(fileStoreSettings(config));
  const storeDeps = { redis, prefix: config.REDIS_PREFIX, dataDir: config.DATA_DIR, files: fileStore };
  const tuning = startTuning(config, logger, { redis, jobs, events, emit, storeDeps });
  const announce = createJobAnnouncer({
    jobs,
    emit,
    onJobEnded: (jobId) => tuning.coordinator.onJobEnded(jobId),
  });
  // One loaded thread per job at once; each keeps the datasets of its recent jobs parsed and encoded.
  const pool = createTrainingPool({
    threads: config.WORKER_CONCURRENCY,
    cacheBytes: config.DATASET_CACHE_MB * 1024 * 1024,
  });
  const processor = createTrainingProcessor({
    ...processorSettings(config, logger),
    startThread: pool.start,
    jobs,
    events,
    announce,
    checkpoints: createCheckpointStore(fileStore),
    artifacts: createArtifactStore(fileStore),
  });
  const consumer = createTrainingConsumer({
    connection: redis,
    config,
    process: (delivery) => processor.process(delivery),
    onStalledOut: ({ jobId, reason }) => processor.recordStalledOut(jobId, reason),
    onError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'queue error'),
  });
  const { reconciler, reconcileQueue } = startReconciler(config, logger, {
    redis,
    jobs,
    outbox: { jobs, announce },
  });
  const batch = startBatchWorker({ config, logger, redis, files: fileStore, emit });
  metrics.start();
  let closing: Promise<void> | null = null;
  return {
    processor,
    batch,
    reconciler,
    metrics,
    close() {
      closing ??= (async () => {
        processor.shutdown();
        batch.shutdown();
        clearInterval(tuning.sweep);
        const deadline = new Promise<'timeout'>((r) =>
          setTimeout(() => r('timeout'), config.SHUTDOWN_GRACE_MS).unref(),
        );
        // BullMQ's close waits for active jobs without a deadline of its own.
        // A reconcile pass under way is waited for too (it may hang on Redis, hence the same deadline).
        const closed = Promise.all([
          consumer.close(),
          batch.close(),
          webhooks.close().then(() => tuning.trialQueue.close()),
          reconciler.stop().then(() => reconcileQueue.close()),
        ]).then(() => 'closed' as const);
        const outcome = await Promise.race([closed, deadline]);
        if (outcome === 'timeout')
          logger.warn('shutdown grace period over; leaving unfinished jobs to the stalled check');
        await pool.close();
        await metrics.stop();
        redis.disconnect();
      })();
      return closing;
    },
  };
}

/** The reconciler: queue entries for records that lost theirs, and the outbox's unannounced ends. */
function startReconciler(
  config: Config,
  logger: Logger,
  deps: { redis: Redis; jobs: RedisJobStore; outbox: Parameters<typeof createReconciler>[0]['outbox'] },
) {
  const reconcileQueue = createQueueReconcileTarget({ connection: deps.redis, config });
  const reconciler = createReconciler({
    jobs: deps.jobs,
    queue: reconcileQueue,
    logger,
    intervalMs: config.RECONCILE_INTERVAL_MS,
    outbox: deps.outbox,
  });
  reconciler.start();
  return { reconciler, reconcileQueue };
}

/** The processor's settings from the config. */
function processorSettings(config: Config, logger: Logger) {
  return {
    files: fileStoreSettings(config),
    csvLimits: {
      maxColumns: config.MAX_COLUMNS,
      maxRows: config.MAX_ROWS,
      maxLineBytes: config.MAX_LINE_BYTES,
    },
    logger,
    checkpointIntervalMs: config.CHECKPOINT_INTERVAL_MS,
    engineThreads: config.ENGINE_THREADS,
  };
}

/** Webhook deliveries: the emitter the processors tell, and the consumer that sends them. */
function startWebhooks(config: Config, logger: Logger, redis: Redis) {
  const store = createWebhookStore({ redis, prefix: config.REDIS_PREFIX });
  const queue = createWebhookQueue({ connection: redis, config });
  const transport = createWebhookTransport({
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
  });
  const consumer = createWebhookConsumer({
    connection: redis,
    config,
    attempt: (deliveryId, isLast) =>
      attemptDelivery({ store, transport, sign: signWebhook }, deliveryId, isLast),
    onError: (err) =>
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'webhook queue error'),
  });
  return {
    emit: createWebhookEmitter({ store, queue }),
    close: () => consumer.close().then(() => queue.close()),
  };
}

/** The tuning coordinator, which a trial's end moves on, and its sweep for searches whose worker died. */
function startTuning(
  config: Config,
  logger: Logger,
  deps: {
    redis: Redis;
    jobs: RedisJobStore;
    events: JobEventBus;
    emit: WebhookEmitter;
    storeDeps: Parameters<typeof createDatasetStore>[0];
  },
) {
  const trialQueue = createTrainingQueue({ connection: deps.redis, config });
  const tuningStore = createTuningStore(deps.storeDeps);
  const coordinator = createTuningCoordinator({
    tuning: tuningStore,
    jobs: deps.jobs,
    queue: trialQueue,
    events: deps.events,
    datasets: createDatasetStore(deps.storeDeps),
    models: createModelStore(deps.storeDeps),
    limits: config,
    emit: deps.emit,
  });
  // A search whose trial ended while its worker died moves on at the next sweep.
  const sweep = setInterval(() => {
    tuningStore
      .activeIds()
      .then((ids) => Promise.all(ids.map((id) => coordinator.advance(id))))
      .catch((err: unknown) => logger.warn({ err }, 'tuning sweep failed'));
  }, config.RECONCILE_INTERVAL_MS);
  sweep.unref();
  return { coordinator, sweep, trialQueue };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'worker');
  let worker: TrainingWorker | null = null;
  // Handlers first: a SIGTERM that arrives while the worker starts must still stop it gracefully.
  const onSignal = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    (worker?.close() ?? Promise.resolve()).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  worker = startTrainingWorker(config, logger);
  const engine = engineInfo();
  logger.info(
    {
      concurrency: config.WORKER_CONCURRENCY,
      engine: describeEngine(engine),
      engineThreads: config.ENGINE_THREADS,
    },
    'worker started',
  );
  if (engine.nativeUnavailable) {
    logger.warn(
      { reason: engine.nativeUnavailable },
      `native kernels unavailable, training runs on ${engine.backend}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(startupFailureText(err));
    process.exit(1);
  });
}
