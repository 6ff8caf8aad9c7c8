// The reconciler against the real Redis and BullMQ: records that lost their queue entry (a
// half-failed submit, a Redis restart) are enqueued again and run; everything else is left alone.
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/domain/schemas.js';
import { createLogger } from '../../src/logger.js';
import {
  createQueueReconcileTarget,
  createTrainingQueue,
  TRAINING_QUEUE,
  type QueueReconcileTarget,
} from '../../src/queue/training-queue.js';
import { redisKeys } from '../../src/storage/redis.js';
import { createRedisJobStore, type RedisJobStore } from '../../src/storage/job-store.js';
import { createReconciler } from '../../src/worker/reconciler.js';
import { createHarness, TENANT, type Harness } from './harness.js';

const INTERVAL_MS = 300;

let h: Harness;
let iris: string;
let store: RedisJobStore;
let target: QueueReconcileTarget;
let producer: ReturnType<typeof createTrainingQueue>;
/** BullMQ's own view of the training queue, to count its entries by state. */
let bull: Queue;

beforeAll(async () => {
  h = await createHarness({ RECONCILE_INTERVAL_MS: String(INTERVAL_MS) });
  iris = await h.upload('iris');
  store = createRedisJobStore({ redis: h.redis, prefix: h.config.REDIS_PREFIX });
  target = createQueueReconcileTarget({ connection: h.redis, config: h.config });
  producer = createTrainingQueue({ connection: h.redis, config: h.config });
  bull = new Queue(TRAINING_QUEUE, {
    connection: h.redis,
    prefix: redisKeys(h.config.REDIS_PREFIX).queuePrefix,
  });
});
afterAll(async () => {
  await target?.close();
  await producer?.close();
  await bull?.close();
  await h?.close();
});

let workerStarted = false;
const ensureWorker = () => {
  if (!workerStarted) h.startWorker();
  workerStarted = true;
};
const terminal = (j: { status: string }) => ['succeeded', 'failed', 'cancelled'].includes(j.status);
const spec = () => ({
  datasetId: iris,
  target: 'species',
  training: { epochs: 5, earlyStopping: false as const },
});
const minuteAgo = () => new Date(Date.now() - 60_000).toISOString();

/** A record written as a half-failed submit leaves it: in the job store, never in the queue. */
async function recordWithoutEntry(template: Job, change: Partial<Job> = {}): Promise<Job> {
  const job: Job = { ...template, id: `job_${randomUUID()}`, createdAt: minuteAgo(), ...change };
  await store.create(TENANT, job);
  return job;
}

async function expectSucceededWithModel(jobId: string) {
  const done = await h.waitFor(jobId, terminal, 40_000);
  expect(done.status).toBe('succeeded');
  expect(done.modelId).not.toBeNull();
  expect(await h.models.get(TENANT, done.modelId!)).toMatchObject({ jobId, epochsTrained: 5 });
  return done;
}

describe('reconciler', () => {
  it('when records lost their queue entries, then one pass enqueues exactly those and they succeed; live and cancelled jobs are left alone', async () => {
    // cancelled: submitted, then cancelled while queued, so its entry went with it. Its submit
    // answer (a queued job) is the template of the records below, all a minute old.
    const template = await h.submit(spec());
    await h.jobs.cancel(TENANT, template.id);
    const cancelled = template;
    expect(await target.entryState(cancelled.id)).toBe('missing');
    // live: record and queue entry, as a submit that went well leaves them.
    const live = await recordWithoutEntry(template);
    await producer.enqueue(TENANT, live.id);
    // orphan: the record exists, the queue entry was never written.
    const orphan = await recordWithoutEntry(template);
    // lost: recorded and enqueued, then the entry vanished (as after a Redis restart).
    const lost = await recordWithoutEntry(template);
    await producer.enqueue(TENANT, lost.id);
    expect(await producer.remove(lost.id)).toBe(true);
    expect(await target.entryState(lost.id)).toBe('missing');
    // young: no entry yet, but within the grace period (its submit may still be enqueueing).
    const young = await recordWithoutEntry(template, { createdAt: new Date().toISOString() });

    // Its lock lasts one interval: 3 s, longer than a pass takes even on a loaded machine, so the
    // second pass below meets the lock (the worker's own reconciler uses INTERVAL_MS).
    const reconciler = createReconciler({
      jobs: store,
      queue: target,
      logger: createLogger('silent', 'test'),
      intervalMs: 3000,
      graceMs: 10_000,
    });
    const pass = await reconciler.runOnce();
    expect(pass.ran).toBe(true);
    expect(pass.checked).toBe(4); // live, orphan, lost, young: the cancelled job is not active
    expect(pass.reenqueued.sort()).toEqual([orphan.id, lost.id].sort());
    // The lock holds for one interval: a second worker's pass right now does nothing.
    expect((await reconciler.runOnce()).ran).toBe(false);
    expect(await target.entryState(young.id)).toBe('missing');
    // live, orphan and lost wait once each: nothing was added twice.
    expect((await bull.getJobCounts()).waiting).toBe(3);

    // The young record is a real job too: cancel it so the worker has nothing left to find.
    await h.jobs.cancel(TENANT, young.id);
    ensureWorker();
    for (const id of [live.id, orphan.id, lost.id]) {
      const done = await expectSucceededWithModel(id);
      expect(done.attempts).toHaveLength(1);
    }
    // The job record ends before BullMQ moves its entry to completed (the worker commits the result
    // first, then returns), so the last entry may still be active for a moment: wait for the move.
    let counts = await bull.getJobCounts();
    for (let i = 0; i < 50 && counts.completed < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      counts = await bull.getJobCounts();
    }
    expect(counts.completed).toBe(3);
    expect(counts.waiting + counts.active + counts.delayed + counts.failed).toBe(0);
    // Several rounds of the worker's own reconciler later, the cancelled jobs are still not queued.
    await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
    for (const id of [cancelled.id, young.id]) {
      expect(await target.entryState(id)).toBe('missing');
      expect((await h.jobs.get(TENANT, id)).status).toBe('cancelled');
    }
  });

  it("when a record is left running by a dead worker and its entry is gone, then the worker's reconciler puts it back and a new attempt finishes it", async () => {
    const template = await h.waitFor((await h.submit(spec())).id, terminal, 40_000);
    const orphan = await recordWithoutEntry({
      ...template,
      status: 'queued',
      modelId: null,
      finishedAt: null,
      startedAt: null,
      history: [],
      progress: { epoch: 0, epochs: 5 },
      attempts: [],
      // Young, so the worker's reconciler (grace 2 × interval) waits until it is marked running below.
      createdAt: new Date().toISOString(),
    });
    // The dead worker's attempt: running, an open attempt, a lease nobody holds any more.
    const startedAt = minuteAgo();
    const res = await store.update(orphan.id, ({ job }) => ({
      job: {
        ...job,
        status: 'running',
        startedAt,
        attempts: [{ attempt: 1, startedAt, endedAt: null, outcome: null, resumedFromEpoch: 0 }],
      },
      lease: { token: 'dead-worker', attempt: 1 },
    }));
    expect(res.written).toBe(true);
    // No pass by hand: the worker's reconciler finds it on its own timer.
    ensureWorker();
    const done = await expectSucceededWithModel(orphan.id);
    expect(done.attempts).toHaveLength(2);
    expect(done.attempts[0].outcome).toBe('workerCrashed');
    expect(done.attempts[1].outcome).toBeNull();
  });

  it('when a record says queued but its queue entry already finished, then the entry is replaced and the job runs again', async () => {
    ensureWorker();
    const first = await expectSucceededWithModel((await h.submit(spec())).id);
    // BullMQ marks its entry completed just after the processor has committed the record.
    await expect.poll(() => target.entryState(first.id), { timeout: 5000 }).toBe('finished');
    // The record rolls back to queued (as a restart may keep an older record than the queue's).
    const res = await store.update(first.id, ({ job }) => ({
      job: { ...job, status: 'queued', modelId: null, finishedAt: null },
      lease: null,
    }));
    expect(res.written).toBe(true);
    const again = await h.waitFor(
      first.id,
      (j) => j.status === 'succeeded' && j.modelId !== first.modelId,
      40_000,
    );
    expect(again.attempts).toHaveLength(2);
    expect(await h.models.get(TENANT, again.modelId!)).toMatchObject({ jobId: first.id });
  });
});
