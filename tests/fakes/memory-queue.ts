// In-memory JobQueue and JobEventBus for unit tests of the domain services. The event bus follows
// the contract the Redis pub/sub bus is held to (tests/storage/event-bus.test.ts runs one suite on
// both); the queue records what was enqueued and can be made unreachable like a queue whose Redis
// is down.
import { EventEmitter } from 'node:events';
import { DependencyUnavailableError } from '../../src/domain/errors.js';
import type { JobEventBus, JobQueue } from '../../src/domain/ports.js';

export interface MemoryJobQueue extends JobQueue {
  /** Job ids waiting, in enqueue order (a removed one leaves). */
  readonly waiting: string[];
  /** While true, enqueue rejects as the queue adapter does when Redis is down. */
  unreachable: boolean;
}

export function createMemoryJobQueue(): MemoryJobQueue {
  const queue: MemoryJobQueue = {
    waiting: [],
    unreachable: false,
    async enqueue(_tenant, jobId) {
      if (queue.unreachable) throw new DependencyUnavailableError('queue', new Error('queue is down'));
      if (!queue.waiting.includes(jobId)) queue.waiting.push(jobId);
    },
    async remove(jobId) {
      const i = queue.waiting.indexOf(jobId);
      if (i < 0) return false;
      queue.waiting.splice(i, 1);
      return true;
    },
  };
  return queue;
}

export function createMemoryEventBus(): JobEventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async publish(jobId, event) {
      // Delivered after the publisher's turn, as a message from another process would be, and as
      // a copy: a subscriber never shares the publisher's object.
      const copy = structuredClone(event);
      setImmediate(() => emitter.emit(jobId, copy));
    },
    async subscribe(jobId, onEvent) {
      emitter.on(jobId, onEvent);
      return async () => {
        emitter.off(jobId, onEvent);
      };
    },
  };
}
