// Redis killed (SIGKILL) under a running API and worker, then restarted on the same port and dir so
// it replays its append-only file: creating requests fail fast with 503 meanwhile, nothing accepted
// before the outage is lost, jobs continue, and readiness tracks Redis (and its eviction policy).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../helpers/processes.js';
import { epochs1toN, longRegression, sleep, startStack, terminal, type Reply, type Stack } from './stack.js';

let stack: Stack;
let friedman: string;
let worker: ServiceProcess;

beforeAll(async () => {
  stack = await startStack();
  friedman = await stack.uploadFixture('friedman1');
  worker = await stack.startWorker('worker');
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const filesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

const expectFastUnavailable = (reply: Reply, what: string) => {
  expect(reply.status, `${what}: ${JSON.stringify(reply.body)}`).toBe(503);
  expect(reply.ms, what).toBeLessThan(1000);
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(Number(reply.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(reply.body).toMatchObject({ status: 503, title: expect.any(String), detail: expect.any(String) });
};

describe('Redis outage', () => {
  it('when Redis dies and comes back, then creating requests answer 503 quickly meanwhile and every accepted job finishes', async () => {
    const running = await stack.submitRetrying(longRegression(friedman, 250));
    const queued = await stack.submitRetrying(longRegression(friedman, 30));
    await stack.waitFor(running.id, (j) => j.progress.epoch >= 3);
    expect((await stack.job(queued.id)).status).toBe('queued');

    await stack.redis.kill();
    const upload = await stack.request('POST', '/v1/datasets?name=during', 'a,b\n1,2\n3,4\n', {
      'content-type': 'text/csv',
    });
    expectFastUnavailable(upload, 'POST /v1/datasets');
    const submit = await stack.request('POST', '/v1/training-jobs', { datasetId: friedman, target: 'y' });
    expectFastUnavailable(submit, 'POST /v1/training-jobs');
    const ready = await stack.request('GET', '/readyz');
    expectFastUnavailable(ready, 'GET /readyz');
    expect((await stack.request('GET', '/healthz')).status).toBe(200);

    // Down for longer than the lock duration (2 s): the running job's lock expires meanwhile.
    await sleep(3000);
    expect(stack.api.alive()).toBe(true);
    expect(worker.alive()).toBe(true);
    expectFastUnavailable(
      await stack.request('POST', '/v1/training-jobs', { datasetId: friedman, target: 'y' }),
      'POST /v1/training-jobs, 3 s into the outage',
    );

    await stack.redis.restart();
    const back = Date.now();
    while ((await stack.request('GET', '/readyz')).status !== 200) {
      expect(Date.now() - back, 'readiness after the restart').toBeLessThan(15_000);
      await sleep(200);
    }
    // Everything answered 201/202 before the outage is still there.
    const dataset = await stack.request('GET', `/v1/datasets/${friedman}`);
    expect(dataset.status).toBe(200);
    expect(dataset.body).toMatchObject({ id: friedman, rowCount: 2000 });
    // And what was refused with 503 left nothing behind.
    const datasets = await stack.request('GET', '/v1/datasets?limit=100');
    expect(datasets.body.data.map((d: { id: string }) => d.id)).toEqual([friedman]);
    // The CSV and the typed columns read at upload.
    expect(filesIn(join(stack.dataDir, 'datasets'))).toEqual([`${friedman}.cols`, `${friedman}.csv`]);
    expect(filesIn(join(stack.dataDir, 'staging'))).toEqual([]);
    const jobs = await stack.request('GET', '/v1/training-jobs?limit=100');
    expect(jobs.body.data.map((j: { id: string }) => j.id).sort()).toEqual([running.id, queued.id].sort());

    for (const [job, epochs] of [
      [running, 250],
      [queued, 30],
    ] as const) {
      const done = await stack.waitFor(job.id, terminal, 90_000);
      expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
      expect(done.history.map((e) => e.epoch)).toEqual(epochs1toN(epochs));
      expect(await stack.modelsOf(job.id)).toHaveLength(1);
    }
    // The worker reconnected by itself: a job submitted after the outage runs too.
    const after = await stack.submitRetrying(longRegression(friedman, 5));
    expect((await stack.waitFor(after.id, terminal, 30_000)).status).toBe('succeeded');
    expect(worker.alive()).toBe(true);
    expect(stack.api.alive()).toBe(true);
  }, 150_000);

  it('when the maxmemory-policy is not noeviction, then readiness fails, and passes again once it is', async () => {
    const admin = stack.admin();
    expect((await stack.request('GET', '/readyz')).status).toBe(200);
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const ready = await stack.request('GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(ready.body.detail).toMatch(/noeviction/);
      expect(ready.body.detail).toMatch(/allkeys-lru/);
    } finally {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
    }
    expect((await stack.request('GET', '/readyz')).status).toBe(200);
  });
});
