// The one training queue: the producer (API side) and the consumer wiring (worker side). The only
// folder that imports bullmq. Job data holds ids only; the record in the job store is the truth.
import {
  DelayedError,
  Queue,
  QueueEvents,
  UnrecoverableError,
  WaitingError,
  Worker,
  type Job as QueueJob,
} from 'bullmq';
import { z } from 'zod';
import type { Config } from '../config.js';
import { DependencyUnavailableError } from '../domain/errors.js';
import type { JobQueue } from '../domain/ports.js';
import { redisKeys, type Redis } from '../storage/redis.js';

export const TRAINING_QUEUE = 'training';
/** The batch prediction jobs' queue: the same design (ids only, leases in the record), apart from training. */
export const BATCH_QUEUE = 'batch-predictions';

export const TrainingJobDataSchema = z
  .object({ jobId: z.string().min(1), tenant: z.string().min(1) })
  .strict();
export type TrainingJobData = z.infer<typeof TrainingJobDataSchema>;

export type QueueConfig = Pick<
  Config,
  'JOB_ATTEMPTS' | 'LOCK_DURATION_MS' | 'STALLED_INTERVAL_MS' | 'WORKER_CONCURRENCY' | 'REDIS_PREFIX'
>;

/** Stalls allowed before BullMQ fails a job for good (each stall is a worker that died or froze). */
export const MAX_STALLED_COUNT = 2;
const DAY_S = 24 * 3600;
/** Below a second, like the API's Redis command timeout: a client hears 503 fast when Redis hangs. */
const ENQUEUE_TIMEOUT_MS = 900;

export function createTrainingQueue(deps: {
  /** An "api" connection (createRedis(url, 'api')): adds fail fast while Redis is down. */
  connection: Redis;
  config: Pick<QueueConfig, 'JOB_ATTEMPTS' | 'REDIS_PREFIX'>;
  /** The queue's name; default TRAINING_QUEUE. */
  name?: string;
}): JobQueue & { close(): Promise<void> } {
  // The queue's own connection, without the API connection's command timeout: BullMQ runs its setup
  // commands once, and one that timed out (a busy process at startup) would fail every later add.
  // Adds stay bounded by ENQUEUE_TIMEOUT_MS below, and still fail at once while Redis is down.
  const connection = deps.connection.duplicate({ commandTimeout: undefined });
  connection.on('error', () => {});
  const queue = new Queue<TrainingJobData>(deps.name ?? TRAINING_QUEUE, {
    connection,
    prefix: redisKeys(deps.config.REDIS_PREFIX).queuePrefix,
    defaultJobOptions: {
      attempts: deps.config.JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: 5000, jitter: 0.5 },
      // Results and history live in our own records; BullMQ's copies only need to outlive debugging.
      removeOnComplete: { age: DAY_S },
      removeOnFail: { age: 7 * DAY_S },
    },
  });
  queue.on('error', () => {}); // surfaced to callers as rejected adds (503), not as a crash
  return {
    async enqueue(tenant, jobId) {
      const data = TrainingJobDataSchema.parse({ jobId, tenant });
      // A queue created while Redis was down waits for its first connection instead of failing;
      // bound the wait so the client gets a 503, not a hung request. A late add is harmless: the
      // worker skips a job whose record is gone. The payload is checked above, so an add can fail
      // only for want of Redis: every failure is the queue being unavailable.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`enqueue got no answer within ${ENQUEUE_TIMEOUT_MS} ms`)),
          ENQUEUE_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([queue.add('train', data, { jobId }), timeout]);
      } catch (err) {
        throw new DependencyUnavailableError('queue', err);
      } finally {
        clearTimeout(timer);
      }
    },
    async remove(jobId) {
      const job = await queue.getJob(jobId);
      if (!job) return false;
      try {
        // Refused (throws) while a worker holds the job's lock.
        await job.remove();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}

/** One delivery of a queued job to this worker. */
export interface TrainingDelivery {
  data: TrainingJobData;
  /** Failed attempts so far (BullMQ attemptsMade); a stall or a hand-back does not count. */
  attemptsMade: number;
  maxAttempts: number;
}

/**
 * What the processor decided: done (the record holds the final state), handBack (put the job back in
 * the queue untouched, e.g. on shutdown), fail (no retry), retry (an error BullMQ should retry).
 */
export type DeliveryOutcome =
  | { kind: 'done' }
  | { kind: 'handBack' }
  | { kind: 'fail'; message: string }
  | { kind: 'retry'; error: Error };

export interface TrainingConsumer {
  close(): Promise<void>;
  /** Stops taking new jobs (running ones continue). */
  pause(): Promise<void>;
}

export function createTrainingConsumer(deps: {
  /** A "worker" connection (maxRetriesPerRequest null): waits and reconnects by itself. */
  connection: Redis;
  config: QueueConfig;
  process: (delivery: TrainingDelivery) => Promise<DeliveryOutcome>;
  /** BullMQ failed the job for good outside our processor (it stalled too often): record it. */
  onStalledOut: (data: { jobId: string; reason: string }) => Promise<void>;
  onError: (err: unknown) => void;
  /** The queue's name; default TRAINING_QUEUE. */
  name?: string;
}): TrainingConsumer {
  const prefix = redisKeys(deps.config.REDIS_PREFIX).queuePrefix;
  const name = deps.name ?? TRAINING_QUEUE;
  const worker = new Worker<TrainingJobData>(
    name,
    async (job: QueueJob<TrainingJobData>, token?: string) => {
      const parsed = TrainingJobDataSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed queue payload for ${job.id}`);
      const outcome = await deps.process({
        data: parsed.data,
        attemptsMade: job.attemptsMade,
        maxAttempts: job.opts.attempts ?? 1,
      });
      switch (outcome.kind) {
        case 'done':
          return;
        case 'handBack':
          if (token) {
            await job.moveToWait(token);
            throw new WaitingError();
          }
          // No token: let the stalled checker hand it back after the lock expires.
          throw new DelayedError();
        case 'fail':
          throw new UnrecoverableError(outcome.message);
        case 'retry':
          throw outcome.error;
      }
    },
    {
      connection: deps.connection,
      prefix,
      concurrency: deps.config.WORKER_CONCURRENCY,
      lockDuration: deps.config.LOCK_DURATION_MS,
      stalledInterval: deps.config.STALLED_INTERVAL_MS,
      maxStalledCount: MAX_STALLED_COUNT,
    },
  );
  worker.on('error', deps.onError);

  // A job that stalled too often is failed by the stalled checker of whichever worker notices,
  // without running our processor: QueueEvents tells every worker, and the record update is a CAS.
  const eventsConnection = deps.connection.duplicate();
  const events = new QueueEvents(name, { connection: eventsConnection, prefix });
  events.on('error', deps.onError);
  events.on('failed', ({ jobId, failedReason }) => {
    if (/stalled more than allowable limit/i.test(failedReason)) {
      deps.onStalledOut({ jobId, reason: failedReason }).catch(deps.onError);
    }
  });

  return {
    async close() {
      await worker.close();
      await events.close();
      eventsConnection.disconnect();
    },
    pause: () => worker.pause(true),
  };
}

/** What the queue holds for a job id: nothing, a job that may still run, or one BullMQ has finished. */
export type QueueEntryState = 'missing' | 'live' | 'finished';

/** The worker's view of the queue for its reconciler: look a job up, put it back, hold the reconcile lock. */
export interface QueueReconcileTarget {
  entryState(jobId: string): Promise<QueueEntryState>;
  /** Adds the job again under the same jobId, first removing a finished entry (an add over it is a no-op). */
  reenqueue(tenant: string, jobId: string): Promise<void>;
  /** SET NX PX: true for the one caller that may reconcile for the next ttlMs. */
  tryLock(ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export function createQueueReconcileTarget(deps: {
  connection: Redis;
  config: Pick<QueueConfig, 'JOB_ATTEMPTS' | 'REDIS_PREFIX'>;
  /** The queue's name; default TRAINING_QUEUE (each queue has its own reconcile lock). */
  name?: string;
}): QueueReconcileTarget {
  const prefix = redisKeys(deps.config.REDIS_PREFIX).queuePrefix;
  const name = deps.name ?? TRAINING_QUEUE;
  const queue = new Queue<TrainingJobData>(name, {
    connection: deps.connection,
    prefix,
    defaultJobOptions: {
      attempts: deps.config.JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: 5000, jitter: 0.5 },
      removeOnComplete: { age: DAY_S },
      removeOnFail: { age: 7 * DAY_S },
    },
  });
  queue.on('error', () => {}); // a failed call rejects; the reconciler logs it and tries next round
  const lockKey = `${deps.config.REDIS_PREFIX}:reconcile-lock${name === TRAINING_QUEUE ? '' : `:${name}`}`;
  return {
    async entryState(jobId) {
      const job = await queue.getJob(jobId);
      if (!job) return 'missing';
      const state = await job.getState();
      if (state === 'unknown') return 'missing';
      return state === 'completed' || state === 'failed' ? 'finished' : 'live';
    },
    async reenqueue(tenant, jobId) {
      const job = await queue.getJob(jobId);
      if (job) {
        const state = await job.getState();
        if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return; // still queued
        await job.remove();
      }
      await queue.add('train', TrainingJobDataSchema.parse({ jobId, tenant }), { jobId });
    },
    async tryLock(ttlMs) {
      return (await deps.connection.set(lockKey, '1', 'PX', ttlMs, 'NX')) === 'OK';
    },
    close: () => queue.close(),
  };
}
