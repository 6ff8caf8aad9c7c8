import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/domain/schemas.js';
import { createRedisJobStore } from '../../src/storage/job-store.js';
import { createRedis, type Redis } from '../../src/storage/redis.js';

const prefix = `test-jobstore-${randomUUID()}`;
let redis: Redis;
let store: ReturnType<typeof createRedisJobStore>;

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
  store = createRedisJobStore({ redis, prefix });
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('redis job store', () => {
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
    // The history is a list beside the record: an epoch appends an entry, the record stays small.
    expect(JSON.parse((await redis.get(`${prefix}:job:job_race`))!).data.history).toEqual([]);
    expect(await redis.llen(`${prefix}:job:job_race:history`)).toBe(20);
    // A shorter history (a resumed attempt trims to its checkpoint) replaces the list.
    await store.update('job_race', ({ job: j }) => ({ job: { ...j, history: j.history.slice(0, 5) } }));
    expect((await store.get('t', 'job_race'))?.history).toEqual(after?.history.slice(0, 5));
    expect((await store.list('t', { limit: 10 })).data[0].history).toHaveLength(5);
  });

  it('when a job becomes final, then it leaves the active set; a model commits in the same step', async () => {
    await store.create('t2', job('job_final'));
    expect((await store.activeJobs('t2')).length).toBe(1);
    const model = { id: 'mdl_x', createdAt: new Date(1000).toISOString() } as never;
    const res = await store.update(
      'job_final',
      ({ job: j }) => ({ job: { ...j, status: 'succeeded', modelId: 'mdl_x' } }),
      model,
    );
    expect(res.written).toBe(true);
    expect((await store.activeJobs('t2')).length).toBe(0);
    expect(JSON.parse((await redis.get(`${prefix}:model:mdl_x`))!)).toEqual({ tenant: 't2', data: model });
    expect(await redis.zscore(`${prefix}:tenant:t2:models`, 'mdl_x')).toBe('1000');
    // A mutation that declines writes nothing.
    const declined = await store.update('job_final', () => null, {
      id: 'mdl_y',
      createdAt: new Date().toISOString(),
    } as never);
    expect(declined.written).toBe(false);
    expect(await redis.exists(`${prefix}:model:mdl_y`)).toBe(0);
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
