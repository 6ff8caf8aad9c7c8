// HTTP conventions of every route: X-Request-Id, 415 for a JSON route sent another media type,
// Location on 201/202, WWW-Authenticate on 401, CORS (off unless configured), the queue view's
// access rules, and the separate rate-limit budget of predictions.
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

const IRIS = join(import.meta.dirname, '..', 'fixtures', 'iris.csv');
const ACME = { authorization: 'Bearer key-acme' };

describe('HTTP conventions, API keys on, CORS off', () => {
  let t: TestApp;
  let datasetId: string;
  beforeAll(async () => {
    t = await createTestApp({
      env: { API_KEYS: 'acme:key-acme,ops:key-ops', OPS_TENANTS: 'ops', RATE_LIMIT_PER_MINUTE: '8' },
    });
    const res = await request(t.app.server)
      .post('/v1/datasets?name=iris')
      .set(ACME)
      .set('content-type', 'text/csv')
      .send(await readFile(IRIS, 'utf8'));
    expect(res.status).toBe(201);
    datasetId = res.body.id;
    expect(res.headers.location).toBe(`/v1/datasets/${datasetId}`);
  });
  afterAll(async () => t?.close());

  it('when a request carries X-Request-Id, then the response echoes it; otherwise a new UUID comes back', async () => {
    const given = await request(t.app.server).get('/healthz').set('x-request-id', 'trace-42.abc');
    expect(given.headers['x-request-id']).toBe('trace-42.abc');
    const fresh = await request(t.app.server).get('/v1/nothing-here').set(ACME);
    expect(fresh.status).toBe(404);
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    // A value with spaces or quotes is not copied into headers and logs.
    const unsafe = await request(t.app.server).get('/healthz').set('x-request-id', 'a "b" c');
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when a JSON route is sent text/csv or text/plain, then 415 naming the media type; JSON with a charset is fine', async () => {
    for (const type of ['text/csv', 'text/plain', 'application/x-www-form-urlencoded']) {
      const res = await request(t.app.server)
        .post('/v1/training-jobs')
        .set(ACME)
        .set('content-type', type)
        .send('datasetId=x');
      expect(res.status, type).toBe(415);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body.detail).toContain(type);
    }
    const ok = await request(t.app.server)
      .post('/v1/training-jobs')
      .set(ACME)
      .set('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ datasetId, target: 'species', training: { epochs: 1 } }));
    expect(ok.status).toBe(202);
    expect(ok.headers.location).toBe(`/v1/training-jobs/${ok.body.id}`);
  });

  it('when the key is missing or wrong, then 401 with WWW-Authenticate: Bearer', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }]) {
      const res = await request(t.app.server).get('/v1/datasets').set(headers);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="backprop"');
    }
  });

  it('when CORS_ORIGINS is unset, then a preflight gets no Access-Control headers', async () => {
    const res = await request(t.app.server)
      .options('/v1/datasets')
      .set('origin', 'https://app.example')
      .set('access-control-request-method', 'GET');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('when the queue view is opened, then no key is 401 with a Basic challenge, a tenant outside OPS_TENANTS 403, an ops key 200', async () => {
    const none = await request(t.app.server).get('/queues/');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic /);
    const acme = await request(t.app.server).get('/queues/').auth('anyone', 'key-acme');
    expect(acme.status).toBe(403);
    const ops = await request(t.app.server).get('/queues/').auth('anyone', 'key-ops');
    expect(ops.status).toBe(200);
    expect(ops.text).toContain('Backprop queue');
    const api = await request(t.app.server)
      .get('/queues/api/queues')
      .set({ authorization: 'Bearer key-ops' });
    expect(api.status).toBe(200);
    expect(api.body.queues.map((q: { name: string }) => q.name)).toContain('training');
  });

  it('when the general budget is spent, then predictions still answer from their own budget', async () => {
    let last = 0;
    for (let i = 0; i < 12 && last !== 429; i++) {
      last = (await request(t.app.server).get('/v1/datasets').set(ACME)).status;
    }
    expect(last).toBe(429);
    // No such model, but the request passed the limiter: 404, not 429.
    const predict = await request(t.app.server)
      .post('/v1/models/mdl_none/predict')
      .set(ACME)
      .send({ rows: [{ sepal_length: 5.1 }] });
    expect(predict.status).toBe(404);
    expect(Number(predict.headers['x-ratelimit-limit'])).toBe(6000);
  });
});

describe('CORS on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example' } });
  });
  afterAll(async () => t?.close());

  it('when CORS_ORIGINS names an origin, then that origin is allowed and may read Location and X-Request-Id; another is not', async () => {
    const pre = await request(t.app.server)
      .options('/v1/training-jobs')
      .set('origin', 'https://app.example')
      .set('access-control-request-method', 'POST');
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example');
    const get = await request(t.app.server).get('/v1/datasets').set('origin', 'https://app.example');
    expect(get.headers['access-control-expose-headers']).toMatch(/location.*x-request-id/);
    const other = await request(t.app.server).get('/v1/datasets').set('origin', 'https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('content-coded request bodies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it('when a body is gzip-encoded, then 415 with Accept-Encoding: identity, for JSON and CSV alike; identity is fine', async () => {
    const csv = await readFile(IRIS);
    const upload = await request(t.app.server)
      .post('/v1/datasets?name=iris')
      .set('content-type', 'text/csv')
      .set('content-encoding', 'gzip')
      .send(gzipSync(csv));
    expect(upload.status).toBe(415);
    expect(upload.headers['content-type']).toMatch(/problem\+json/);
    expect(upload.headers['accept-encoding']).toBe('identity');
    expect(upload.body.detail).toContain('gzip');
    // Nothing was stored.
    expect((await request(t.app.server).get('/v1/datasets')).body.data).toEqual([]);

    const json = await request(t.app.server)
      .post('/v1/training-jobs')
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .send(gzipSync(JSON.stringify({ datasetId: 'ds_x', target: 'y' })));
    expect(json.status).toBe(415);
    expect(json.headers['accept-encoding']).toBe('identity');

    const plain = await request(t.app.server)
      .post('/v1/datasets?name=iris')
      .set('content-type', 'text/csv')
      .set('content-encoding', 'identity')
      .send(csv);
    expect(plain.status).toBe(201);
  });
});
