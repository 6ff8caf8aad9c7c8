// The error contract: every failure is application/problem+json with the right status, and health
// probes answer without auth.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeJobService } from '../helpers/fake-jobs.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const AUTH = { authorization: 'Bearer key-acme' };

function expectProblem(res: request.Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
}

describe('errors and health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { API_KEYS: 'acme:key-acme,globex:key-globex' } });
  });
  afterAll(async () => t?.close());

  it('when the process is up, then /healthz answers 200 without auth', async () => {
    const res = await request(t.app.server).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('when Redis answers and never evicts, then /readyz answers 200 without auth, naming the engine’s kernels', async () => {
    const res = await request(t.app.server).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
    // The native addon when the install built it; otherwise WebAssembly and the reason.
    expect(res.body.detail).toMatch(
      /; engine: (native \((avx512|avx2|generic), 1 thread\)|wasm-simd \(native addon .+\))$/,
    );
  });

  it('when the route does not exist, then 404 problem', async () => {
    const res = await request(t.app.server).get('/v1/nothing-here').set(AUTH);
    expectProblem(res, 404);
  });

  it('when the Authorization header is missing or wrong, then 401 problem', async () => {
    expectProblem(await request(t.app.server).get('/v1/datasets'), 401);
    expectProblem(await request(t.app.server).get('/v1/datasets').set({ authorization: 'Bearer nope' }), 401);
    expectProblem(
      await request(t.app.server).get('/v1/datasets').set({ authorization: 'Basic a2V5LWFjbWU=' }),
      401,
    );
    const ok = await request(t.app.server).get('/v1/datasets').set(AUTH);
    expect(ok.status).toBe(200);
  });

  it('when the body fails the schema, then 400 with errors naming each bad field', async () => {
    const res = await request(t.app.server)
      .post('/v1/training-jobs')
      .set(AUTH)
      .send({ datasetId: 'ds_x', training: { epochs: 0, optimizer: { type: 'nope' } } });
    expectProblem(res, 400);
    const paths = (res.body.errors as Array<{ path: string }>).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['target', 'training.epochs']));
    expect(paths.some((p) => p.startsWith('training.optimizer'))).toBe(true);
  });

  it('when the JSON is malformed, then 400 problem', async () => {
    const res = await request(t.app.server)
      .post('/v1/training-jobs')
      .set(AUTH)
      .set('content-type', 'application/json')
      .send('{"datasetId": ');
    expectProblem(res, 400);
  });

  it('when the JSON has a __proto__ or constructor key, then 400 problem', async () => {
    for (const body of [
      '{"datasetId":"ds_x","target":"y","__proto__":{"admin":true}}',
      '{"datasetId":"ds_x","target":"y","model":{"constructor":{"prototype":{"x":1}}}}',
    ]) {
      const res = await request(t.app.server)
        .post('/v1/tuning-jobs')
        .set(AUTH)
        .set('content-type', 'application/json')
        .send(body);
      expectProblem(res, 400);
      expect(res.body.detail).toMatch(/forbidden key/);
      // A job spec takes such keys (columnTypes is keyed by column names), but only where a column
      // name goes: elsewhere they are unknown keys of a strict object.
      const job = await request(t.app.server)
        .post('/v1/training-jobs')
        .set(AUTH)
        .set('content-type', 'application/json')
        .send(body);
      expectProblem(job, 400);
      expect(job.body.errors[0].message).toMatch(/Unrecognized key: "(__proto__|constructor)"/);
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
    }
  });

  it('when the JSON is nested deeper than 32 levels, then 400 problem', async () => {
    const deep = `{"datasetId":"ds_x","target":"y","model":${'['.repeat(40)}${']'.repeat(40)}}`;
    const res = await request(t.app.server)
      .post('/v1/training-jobs')
      .set(AUTH)
      .set('content-type', 'application/json')
      .send(deep);
    expectProblem(res, 400);
    expect(res.body.detail).toMatch(/nested deeper/);
  });

  it('when a JSON body is larger than 1 MiB, then 413 problem', async () => {
    const res = await request(t.app.server)
      .post('/v1/training-jobs')
      .set(AUTH)
      .set('content-type', 'application/json')
      .send(JSON.stringify({ datasetId: 'ds_x', target: 'x'.repeat(1100 * 1024) }));
    expectProblem(res, 413);
  });

  it('when the media type is not supported, then 415 problem', async () => {
    const res = await request(t.app.server)
      .post('/v1/training-jobs')
      .set(AUTH)
      .set('content-type', 'application/xml')
      .send('<spec/>');
    expectProblem(res, 415);
  });

  it('when limit or cursor are invalid, then 400 naming the field', async () => {
    for (const q of ['limit=0', 'limit=101', 'limit=abc']) {
      const res = await request(t.app.server).get(`/v1/datasets?${q}`).set(AUTH);
      expectProblem(res, 400);
      expect(res.body.errors[0].path).toBe('limit');
    }
    for (const c of ['%%%', 'bm90LWpzb24', Buffer.from('[1,2]').toString('base64url')]) {
      const res = await request(t.app.server).get(`/v1/models?cursor=${c}`).set(AUTH);
      expectProblem(res, 400);
      expect(res.body.errors[0].path).toBe('cursor');
    }
  });

  it('when a job has already finished, then cancel answers 409 problem', async () => {
    const jobs = createFakeJobService();
    const t2 = await createTestApp({ jobs });
    try {
      const created = await request(t2.app.server)
        .post('/v1/training-jobs')
        .send({ datasetId: 'ds_x', target: 'y' });
      expect(created.status).toBe(202);
      jobs.setStatus(created.body.id, 'succeeded');
      expectProblem(await request(t2.app.server).post(`/v1/training-jobs/${created.body.id}/cancel`), 409);
    } finally {
      await t2.close();
    }
  });
});

describe('rate limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      env: { API_KEYS: 'acme:key-acme,globex:key-globex', RATE_LIMIT_PER_MINUTE: '3' },
    });
  });
  afterAll(async () => t?.close());

  it('when a key exceeds its requests a minute, then 429 with Retry-After, other keys and probes unaffected', async () => {
    for (let i = 0; i < 3; i++)
      expect((await request(t.app.server).get('/v1/datasets').set(AUTH)).status).toBe(200);
    const limited = await request(t.app.server).get('/v1/datasets').set(AUTH);
    expectProblem(limited, 429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const other = await request(t.app.server).get('/v1/datasets').set({ authorization: 'Bearer key-globex' });
    expect(other.status).toBe(200);
    expect((await request(t.app.server).get('/healthz')).status).toBe(200);
  });

  it('when a client keeps guessing keys, then its failures are rate limited too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await request(t.app.server)
        .get('/v1/models')
        .set({ authorization: `Bearer guess-${i}` });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});

describe('when Redis is unreachable', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Nothing listens on port 1.
    t = await createTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' }, jobs: createFakeJobService() });
  });
  afterAll(async () => t?.close());

  it('then resource routes answer 503 with Retry-After in under a second', async () => {
    const started = Date.now();
    const res = await request(t.app.server).get('/v1/datasets');
    expect(Date.now() - started).toBeLessThan(1000);
    expectProblem(res, 503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.body.detail).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|enableOfflineQueue/);
  });

  it('then /readyz answers 503 naming the reason and /healthz still 200', async () => {
    const ready = await request(t.app.server).get('/readyz');
    expectProblem(ready, 503);
    expect(ready.body.detail).toMatch(/Redis/);
    expect((await request(t.app.server).get('/healthz')).status).toBe(200);
  });
});

describe('readiness against a private Redis', () => {
  let server: RedisServer;
  let t: TestApp;
  beforeAll(async () => {
    // Later arguments win: this Redis would evict keys under memory pressure.
    server = await startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    t = await createTestApp({ env: { REDIS_URL: server.url }, jobs: createFakeJobService() });
  });
  afterAll(async () => {
    await t?.close();
    await server?.stop();
  });

  it('when Redis may evict keys, then /readyz answers 503 naming the policy', async () => {
    const res = await request(t.app.server).get('/readyz');
    expectProblem(res, 503);
    expect(res.body.detail).toMatch(/allkeys-lru.*noeviction/);
    await t.redis.config('SET', 'maxmemory-policy', 'noeviction');
    expect((await request(t.app.server).get('/readyz')).status).toBe(200);
  });

  it('when Redis hangs, then /readyz answers 503 within about a second', async () => {
    server.pause();
    try {
      const started = Date.now();
      const res = await request(t.app.server).get('/readyz');
      expect(Date.now() - started).toBeLessThan(1800);
      expectProblem(res, 503);
      expect(res.body.detail).toMatch(/did not answer within \d+ ms/);
    } finally {
      server.resume();
    }
  });
});
