// Read-only views of the training queue for operators: counts by state (for /metrics) and the
// BullMQ Queue object the queue view (Bull Board) needs.
import { Queue } from 'bullmq';
import type { QueueStats } from '../domain/operations.js';
import { redisKeys, type Redis } from '../storage/redis.js';
import { TRAINING_QUEUE } from './training-queue.js';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'paused', 'completed', 'failed'] as const;

export interface QueueInspector {
  stats(): Promise<QueueStats>;
  /** The BullMQ queue itself, for the queue view. */
  readonly queue: Queue;
  close(): Promise<void>;
}

export function createQueueInspector(deps: { connection: Redis; prefix: string }): QueueInspector {
  const queue = new Queue(TRAINING_QUEUE, {
    connection: deps.connection,
    prefix: redisKeys(deps.prefix).queuePrefix,
  });
  queue.on('error', () => {});
  return {
    queue,
    async stats() {
      const counts = await queue.getJobCounts(...STATES);
      // The oldest waiting job is at one end of the wait list: look at both ends.
      const ends = [...(await queue.getWaiting(0, 0)), ...(await queue.getWaiting(-1, -1))];
      const oldest = Math.min(...ends.map((j) => j.timestamp));
      const oldestWaitingSeconds = ends.length > 0 ? Math.max(0, (Date.now() - oldest) / 1000) : 0;
      return { counts, oldestWaitingSeconds };
    },
    close: () => queue.close(),
  };
}
