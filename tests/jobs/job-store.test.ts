// The JobStore contract, run on the Redis store and on the in-memory one the domain's unit tests
// use (tests/fakes), so the fake is held to what the real store does; then what only the Redis
// layout promises (the history beside the record, the model written in the same script).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStore } from '../../src/domain/ports.js';
import type { Job, Model } from '../../src/domain/schemas.js';
import { createRedisJobStore } from '../../src/storage/job-store.js';
import { createRedis, type Redis } from '../../src/storage/redis.js';
import { createMemoryJobStore } from '../fakes/memory-job-store.js';

const prefix = `test-jobstore-${randomUUID()}`;
let redis: Redis;

const job = (id: string, createdAt = new Date().toISOString()): Job => ({
  id,
  status: 'queued',
  datasetId: 'ds_x',
  spec: {} as Job['spec'],
  createdAt,
  startedAt: null,
  finishedAt: null,
  progress: { epoch: 0, epochs: 100 },
  history: [],
  modelId: null,
  error: null,
  cancelRequested: false,
  attempts: [],
});

beforeAll(async () => {
  redis = createRedis('redis://127.0.0.1:6379', 'api');
  await new Promise((resolve) => redis.once('ready', resolve));
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

/** Each backend with the models its final updates committed, read back its own way. */
const backends: Array<{
  name: string;
  make: () => { store: JobStore; model: (id: string) => Promise<{ tenant: string; data: Model } | null> };
}> = [
  {
    name: 'Redis',
    make: () => {
      const p = `${prefix}:${randomUUID()}`;
      return {
        store: createRedisJobStore({ redis, prefix: p }),
        model: async (id) => {
          const raw = await redis.get(`${p}:model:${id}`);
          return raw === null ? null : (JSON.parse(raw) as { tenant: string; data: Model });
        },
      };
    },
  },
  {
    name: 'memory (tests/fakes)',
    make: () => {
      const store = createMemoryJobStore();
      return {
        store,
        model: async (id) => {
          const m = store.models.get(id);
          return m ? { tenant: m.tenant, data: m.model } : null;
        },
      };
    },
  },
];

describe.each(backends)('JobStore contract on $name', ({ make }) => {
  let store: JobStore;
  let model: (id: string) => Promise<{ tenant: string; data: Model } | null>;
  beforeAll(() => {
    ({ store, model } = make());
  });

  it('when many creates race against the cap, then exactly the cap is created', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.createWithinCap('capped', job(`job_cap${i}`), 3)),
    );
    expect(results.filter(Boolean)).toHaveLength(3);
    expect((await store.activeJobs('capped')).length).toBe(3);
  });

  it('when updates race, then none is lost (each one re-reads and retries on a moved revision)', async () => {
    await store.create('t', job('job_race'));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.update('job_race', ({ job: j }) => ({
          job: { ...j, history: [...j.history, { epoch: i + 1, loss: i }] },
        })),
      ),
    );
    const after = await store.get('t', 'job_race');
    expect(after?.history.map((e) => e.loss).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    // A shorter history (a resumed attempt trims to its checkpoint) replaces the list.
    await store.update('job_race', ({ job: j }) => ({ job: { ...j, history: j.history.slice(0, 5) } }));
    expect((await store.get('t', 'job_race'))?.history).toEqual(after?.history.slice(0, 5));
    expect((await store.list('t', { limit: 10 })).data[0].history).toHaveLength(5);
  });

  it('when a job becomes final, then it leaves the active set; a model commits in the same step', async () => {
    await store.create('t2', job('job_final'));
    expect((await store.activeJobs('t2')).length).toBe(1);
    const modelRecord = { id: 'mdl_x', createdAt: new Date(1000).toISOString() } as Model;
    const res = await store.update(
      'job_final',
      ({ job: j }) => ({ job: { ...j, status: 'succeeded', modelId: 'mdl_x' } }),
      modelRecord,
    );
    expect(res.written).toBe(true);
    expect((await store.activeJobs('t2')).length).toBe(0);
    expect(await model('mdl_x')).toEqual({ tenant: 't2', data: modelRecord });
    // A mutation that declines writes nothing.
    const declined = await store.update('job_final', () => null, {
      id: 'mdl_y',
      createdAt: new Date().toISOString(),
    } as never);
    expect(declined.written).toBe(false);
    expect(await model('mdl_y')).toBeNull();
  });

  it('when epochs are appended under a lease, then each lands once, only for the owning attempt, and the progress follows', async () => {
    await store.create('t3', job('job_append'));
    const running = { token: 'tok-1', attempt: 1 };
    await store.update('job_append', ({ job: j }) => ({ job: { ...j, status: 'running' }, lease: running }));
    const e = (epoch: number) => ({ epoch, loss: 1 / epoch });
    expect(await store.appendEpochs('job_append', 'tok-1', [e(1), e(2)])).toEqual({
      owned: true,
      cancelRequested: false,
      appended: [e(1), e(2)],
    });
    // A repeat of epoch 2 is skipped, 3 follows; a gap (5 before 4) is refused.
    expect((await store.appendEpochs('job_append', 'tok-1', [e(2), e(3)])).appended).toEqual([e(3)]);
    expect((await store.appendEpochs('job_append', 'tok-1', [e(5)])).appended).toEqual([]);
    // Another attempt's token is not the owner.
    expect(await store.appendEpochs('job_append', 'tok-other', [e(4)])).toEqual({
      owned: false,
      cancelRequested: false,
      appended: [],
    });
    await store.update('job_append', ({ job: j }) => ({ job: { ...j, cancelRequested: true } }));
    expect((await store.appendEpochs('job_append', 'tok-1', [e(4)])).cancelRequested).toBe(true);
    const after = await store.get('t3', 'job_append');
    expect(after?.history).toEqual([e(1), e(2), e(3), e(4)]);
    expect(after?.progress).toEqual({ epoch: 4, epochs: 100 });
  });

  it('when a tenant lists across pages, then each job appears once, newest first, and a status filter applies', async () => {
    const ids = ['job_p1', 'job_p2', 'job_p3', 'job_p4', 'job_p5'];
    for (const [i, id] of ids.entries())
      await store.create('pages', job(id, new Date(10_000 + i).toISOString()));
    await store.update('job_p2', ({ job: j }) => ({ job: { ...j, status: 'failed' } }));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list('pages', { limit: 2, cursor });
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((j) => j.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    expect((await store.list('pages', { limit: 10, status: 'failed' })).data.map((j) => j.id)).toEqual([
      'job_p2',
    ]);
    expect((await store.activeJobs('pages')).map((j) => j.id).sort()).toEqual([
      'job_p1',
      'job_p3',
      'job_p4',
      'job_p5',
    ]);
  });

  it('keeps tenants apart: get, list and remove see only their own jobs', async () => {
    await store.create('a', job('job_a'));
    expect(await store.get('b', 'job_a')).toBeNull();
    expect((await store.list('b', { limit: 10 })).data).toEqual([]);
    expect((await store.list('a', { limit: 10 })).data.map((j) => j.id)).toEqual(['job_a']);
    await store.remove('a', 'job_a');
    expect(await store.get('a', 'job_a')).toBeNull();
    expect((await store.activeJobs('a')).length).toBe(0);
  });
});

describe('Redis job store layout', () => {
  it('when epochs are recorded, then the history is a list beside the record, and a model is indexed by its creation time', async () => {
    const p = `${prefix}:layout`;
    const store = createRedisJobStore({ redis, prefix: p });
    await store.create('t', job('job_layout'));
    for (let i = 1; i <= 3; i++) {
      await store.update('job_layout', ({ job: j }) => ({
        job: { ...j, history: [...j.history, { epoch: i, loss: i }] },
      }));
    }
    // An epoch appends an entry; the record itself stays small.
    expect(JSON.parse((await redis.get(`${p}:job:job_layout`))!).data.history).toEqual([]);
    expect(await redis.llen(`${p}:job:job_layout:history`)).toBe(3);
    const modelRecord = { id: 'mdl_l', createdAt: new Date(1000).toISOString() } as Model;
    await store.update('job_layout', ({ job: j }) => ({ job: { ...j, status: 'succeeded' } }), modelRecord);
    expect(await redis.zscore(`${p}:tenant:t:models`, 'mdl_l')).toBe('1000');
  });
});
