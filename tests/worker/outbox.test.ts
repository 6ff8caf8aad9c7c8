// The outbox of ended jobs, against the real Redis and BullMQ: a job that ends joins it in the same
// write, and a job whose worker died before announcing its end (webhook event, search step) is
// announced by the reconciler's sweep — once: emitting the same end again makes no second delivery.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestCancel } from '../../src/domain/lifecycle.js';
import type { Job } from '../../src/domain/schemas.js';
import { createWebhookEmitter } from '../../src/domain/webhooks.js';
import { createLogger } from '../../src/logger.js';
import { createQueueReconcileTarget, type QueueReconcileTarget } from '../../src/queue/training-queue.js';
import { createWebhookQueue } from '../../src/queue/webhook-queue.js';
import { createRedisJobStore, type RedisJobStore } from '../../src/storage/job-store.js';
import { createWebhookStore } from '../../src/storage/webhook-store.js';
import { createJobAnnouncer } from '../../src/worker/announcer.js';
import { createReconciler } from '../../src/worker/reconciler.js';
import { createHarness, TENANT, type Harness } from './harness.js';

let h: Harness;
let iris: string;
let store: RedisJobStore;
let target: QueueReconcileTarget;
let webhookQueue: ReturnType<typeof createWebhookQueue>;
const webhooks = () => createWebhookStore({ redis: h.redis, prefix: h.config.REDIS_PREFIX });

beforeAll(async () => {
  h = await createHarness();
  iris = await h.upload('iris');
  store = createRedisJobStore({ redis: h.redis, prefix: h.config.REDIS_PREFIX });
  target = createQueueReconcileTarget({ connection: h.redis, config: h.config });
  webhookQueue = createWebhookQueue({ connection: h.redis, config: h.config });
});
afterAll(async () => {
  await target?.close();
  await webhookQueue?.close();
  await h?.close();
});

/** A queued job cancelled with a plain compare-and-set: it ends, and nobody announces it. */
async function endedUnannounced(): Promise<Job> {
  const submitted = await h.submit({
    datasetId: iris,
    target: 'species',
    training: { epochs: 5, earlyStopping: false },
  });
  const res = await store.update(submitted.id, (current) => requestCancel(current, new Date().toISOString()));
  expect(res.written).toBe(true);
  return res.stored!.job;
}

describe('outbox of ended jobs', () => {
  it('when a job ends, then it is in the outbox until its end is marked announced', async () => {
    const before = Date.now();
    const job = await endedUnannounced();
    expect(job.status).toBe('cancelled');
    expect(await store.unannounced(Date.now() + 1000, 100)).toContain(job.id);
    // Scored by when it ended: an earlier cut-off leaves it out.
    expect(await store.unannounced(before - 60_000, 100)).not.toContain(job.id);
    await store.markAnnounced(job.id);
    expect(await store.unannounced(Date.now() + 1000, 100)).not.toContain(job.id);
  });

  it('when a worker died before announcing an ended job, then the sweep emits its event once and steps its search', async () => {
    const hooks = webhooks();
    const webhookId = `wh_${randomUUID().replace(/-/g, '')}`;
    await hooks.put(TENANT, {
      id: webhookId,
      url: 'https://hooks.example.com/backprop',
      events: ['training-job.cancelled'],
      description: '',
      createdAt: new Date().toISOString(),
      secret: 'whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=',
    });
    const emit = createWebhookEmitter({ store: hooks, queue: webhookQueue });
    const stepped: string[] = [];
    const announce = createJobAnnouncer({
      jobs: store,
      emit,
      onJobEnded: async (id) => {
        stepped.push(id);
        return false; // not a trial run of a search
      },
    });
    const reconciler = createReconciler({
      jobs: store,
      queue: target,
      logger: createLogger('silent', 'reconciler'),
      intervalMs: 50,
      graceMs: 0,
      outbox: { jobs: store, announce },
    });

    const job = await endedUnannounced();
    const pass = await reconciler.runOnce();
    expect(pass.ran).toBe(true);
    expect(pass.announced).toContain(job.id);
    expect(stepped).toContain(job.id);
    const deliveries = async () =>
      (await hooks.listDeliveries(webhookId, { limit: 100 })).data.filter((d) => d.body.includes(job.id));
    expect(await deliveries()).toHaveLength(1);
    expect((await deliveries())[0].eventType).toBe('training-job.cancelled');
    expect(await store.unannounced(Date.now() + 1000, 100)).not.toContain(job.id);

    // The worker's own announcement arriving late (it raced the sweep) makes no second delivery.
    await announce((await store.read(job.id))!);
    expect(await deliveries()).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 60)); // the reconciler's lock lasts one interval
    expect((await reconciler.runOnce()).announced).not.toContain(job.id);
    await reconciler.stop();

    // A search's trial run is announced by its search (tuning-job.finished): no training-job event.
    const trial = await endedUnannounced();
    const asTrial = createJobAnnouncer({ jobs: store, emit, onJobEnded: async () => true });
    await asTrial((await store.read(trial.id))!);
    const trialDeliveries = (await hooks.listDeliveries(webhookId, { limit: 100 })).data.filter((d) =>
      d.body.includes(trial.id),
    );
    expect(trialDeliveries).toEqual([]);
    expect(await store.unannounced(Date.now() + 1000, 100)).not.toContain(trial.id);
  });
});
