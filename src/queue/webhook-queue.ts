// The webhook delivery queue: one BullMQ job per delivery (its id is the delivery id), retried with
// exponential backoff (WEBHOOK_BACKOFF_MS, doubling) up to WEBHOOK_ATTEMPTS tries. The delivery
// record holds the outcome of every attempt; BullMQ only schedules them.
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { AttemptOutcome, WebhookQueue } from '../domain/webhooks.js';
import { redisKeys, type Redis } from '../storage/redis.js';

export const WEBHOOK_QUEUE = 'webhooks';
const DAY_S = 24 * 3600;

const DeliveryJobSchema = z.object({ deliveryId: z.string().min(1) }).strict();

type WebhookQueueConfig = Pick<Config, 'REDIS_PREFIX' | 'WEBHOOK_ATTEMPTS' | 'WEBHOOK_BACKOFF_MS'>;

export function createWebhookQueue(deps: {
  connection: Redis;
  config: WebhookQueueConfig;
}): WebhookQueue & { close(): Promise<void> } {
  const queue = new Queue(WEBHOOK_QUEUE, {
    connection: deps.connection,
    prefix: redisKeys(deps.config.REDIS_PREFIX).queuePrefix,
    defaultJobOptions: {
      attempts: deps.config.WEBHOOK_ATTEMPTS,
      backoff: { type: 'exponential', delay: deps.config.WEBHOOK_BACKOFF_MS },
      removeOnComplete: { age: DAY_S },
      removeOnFail: { age: 7 * DAY_S },
    },
  });
  queue.on('error', () => {}); // a failed add rejects to its caller
  return {
    async enqueue(deliveryId) {
      await queue.add('deliver', DeliveryJobSchema.parse({ deliveryId }), { jobId: deliveryId });
    },
    close: () => queue.close(),
  };
}

/** Runs delivery attempts: attempt(deliveryId, isLast) does one try and says what came of it. */
export function createWebhookConsumer(deps: {
  connection: Redis;
  config: Pick<Config, 'REDIS_PREFIX'>;
  attempt: (deliveryId: string, isLast: boolean) => Promise<AttemptOutcome>;
  onError: (err: unknown) => void;
  concurrency?: number;
}): { close(): Promise<void> } {
  const worker = new Worker(
    WEBHOOK_QUEUE,
    async (job) => {
      const parsed = DeliveryJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed webhook job ${job.id}`);
      const isLast = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const outcome = await deps.attempt(parsed.data.deliveryId, isLast);
      if (outcome === 'retry') throw new Error('delivery attempt failed; retrying with backoff');
      if (outcome === 'failed') throw new UnrecoverableError('delivery failed on its last attempt');
    },
    {
      connection: deps.connection,
      prefix: redisKeys(deps.config.REDIS_PREFIX).queuePrefix,
      concurrency: deps.concurrency ?? 8,
    },
  );
  worker.on('error', deps.onError);
  return { close: () => worker.close() };
}
