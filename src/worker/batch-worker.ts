// The worker's batch prediction side: a consumer of the batch queue running the batch processor,
// and a reconciler that puts back queue entries lost for recorded batch predictions (the same
// machinery as training jobs, on its own queue, so a long training never delays a scoring job).
import type { Config } from '../config.js';
import type { WebhookEmitter } from '../domain/webhooks.js';
import type { Logger } from '../logger.js';
import { BATCH_QUEUE, createQueueReconcileTarget, createTrainingConsumer } from '../queue/training-queue.js';
import { createBatchFiles, createBatchStore } from '../storage/batch-store.js';
import { createDatasetStore } from '../storage/dataset-store.js';
import type { FileStore } from '../storage/file-store.js';
import { createModelStore } from '../storage/model-store.js';
import type { Redis } from '../storage/redis.js';
import { createBatchProcessor, type BatchProcessor } from './batch-processor.js';
import { createReconciler } from './reconciler.js';

export interface BatchWorker {
  processor: BatchProcessor;
  /** Running batch jobs stop after their current part and go back to the queue. */
  shutdown(): void;
  /** Closes the consumer (waits for running jobs) and the reconciler. */
  close(): Promise<void>;
}

export function startBatchWorker(deps: {
  config: Config;
  logger: Logger;
  /** A "worker" connection. */
  redis: Redis;
  files: FileStore;
  emit?: WebhookEmitter;
  /** Rows per result part; default BATCH_CHUNK_ROWS. */
  chunkRows?: number;
}): BatchWorker {
  const { config, logger, redis } = deps;
  const storeDeps = { redis, prefix: config.REDIS_PREFIX, dataDir: config.DATA_DIR, files: deps.files };
  const store = createBatchStore(storeDeps);
  const processor = createBatchProcessor({
    store,
    models: createModelStore(storeDeps),
    datasets: createDatasetStore(storeDeps),
    files: createBatchFiles(deps.files),
    csvLimits: { maxColumns: config.MAX_COLUMNS, maxLineBytes: config.MAX_LINE_BYTES },
    logger,
    emit: deps.emit,
    chunkRows: deps.chunkRows,
  });
  const consumer = createTrainingConsumer({
    name: BATCH_QUEUE,
    connection: redis,
    config,
    process: (delivery) => processor.process(delivery),
    onStalledOut: ({ jobId, reason }) => processor.recordStalledOut(jobId, reason),
    onError: (err) =>
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'batch queue error'),
  });
  const reconcileQueue = createQueueReconcileTarget({ name: BATCH_QUEUE, connection: redis, config });
  const reconciler = createReconciler({
    jobs: store,
    queue: reconcileQueue,
    logger,
    intervalMs: config.RECONCILE_INTERVAL_MS,
  });
  reconciler.start();
  return {
    processor,
    shutdown: () => processor.shutdown(),
    async close() {
      await Promise.all([consumer.close(), reconciler.stop().then(() => reconcileQueue.close())]);
    },
  };
}
