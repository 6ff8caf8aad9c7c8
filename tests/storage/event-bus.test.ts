// The JobEventBus contract, run on the Redis pub/sub bus and on the in-memory one of tests/fakes:
// a subscriber gets each event published on its job's channel once, in order, and nothing of
// other jobs, and nothing after it unsubscribed.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEventBus } from '../../src/domain/ports.js';
import type { JobEvent } from '../../src/domain/schemas.js';
import { createRedisJobEventBus } from '../../src/storage/job-store.js';
import { createRedis, type Redis } from '../../src/storage/redis.js';
import { createMemoryEventBus } from '../fakes/memory-queue.js';

let redis: Redis;
beforeAll(async () => {
  redis = createRedis('redis://127.0.0.1:6379', 'api');
  await new Promise((resolve) => redis.once('ready', resolve));
});
afterAll(async () => redis.quit());

const backends: Array<{ name: string; make: () => JobEventBus }> = [
  {
    name: 'Redis pub/sub',
    make: () => createRedisJobEventBus({ redis, prefix: `test-bus-${randomUUID()}` }),
  },
  { name: 'memory (tests/fakes)', make: () => createMemoryEventBus() },
];

type Received = JobEvent | { type: 'cancel' };

/** Resolves once `events` holds n entries (polled; generous for a loaded machine). */
async function until(events: Received[], n: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (events.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe.each(backends)('JobEventBus contract on $name', ({ make }) => {
  it('when events are published on a job, then its subscriber gets each once, in order, and none of another job', async () => {
    const bus = make();
    const got: Received[] = [];
    const unsubscribe = await bus.subscribe('job_a', (e) => got.push(e));
    await bus.publish('job_b', { type: 'cancel' });
    const epoch = { type: 'epoch', data: { epoch: 1, loss: 0.5 } } as unknown as JobEvent;
    await bus.publish('job_a', epoch);
    await bus.publish('job_a', { type: 'cancel' });
    await until(got, 2);
    expect(got).toEqual([epoch, { type: 'cancel' }]);
    await unsubscribe();
  });

  it('when a subscriber has unsubscribed, then later events do not reach it', async () => {
    const bus = make();
    const got: Received[] = [];
    const unsubscribe = await bus.subscribe('job_c', (e) => got.push(e));
    await bus.publish('job_c', { type: 'cancel' });
    await until(got, 1);
    await unsubscribe();
    await bus.publish('job_c', { type: 'cancel' });
    // A second subscriber that sees the later event proves it was delivered by then.
    const other: Received[] = [];
    const stop = await bus.subscribe('job_c', (e) => other.push(e));
    await bus.publish('job_c', { type: 'cancel' });
    await until(other, 1);
    expect(got).toHaveLength(1);
    await stop();
  });
});
