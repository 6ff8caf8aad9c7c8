// /v1/datasets against the real Redis and a temporary DATA_DIR: both upload forms, statistics,
// pagination, tenancy, deletion, limits, bad files and idempotency keys.
import { readdir, readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPaths } from '../../src/storage/files.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

const IRIS = join(import.meta.dirname, '..', 'fixtures', 'iris.csv');
const ACME = { authorization: 'Bearer key-acme' };
const GLOBEX = { authorization: 'Bearer key-globex' };
const ENV = { API_KEYS: 'acme:key-acme,globex:key-globex' };

function expectProblem(res: request.Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.status).toBe(status);
}

describe('datasets', () => {
  let t: TestApp;
  let iris: Buffer;
  beforeAll(async () => {
    t = await createTestApp({ env: ENV });
    iris = await readFile(IRIS);
  });
  afterAll(async () => t?.close());

  // Reference statistics of Fisher's iris data (UCI), population standard deviation.
  function expectIrisSummary(body: Record<string, unknown>) {
    expect(body).toMatchObject({ rowCount: 150, sizeBytes: iris.length });
    expect(body.id).toMatch(/^ds_[0-9A-Za-z]{24}$/);
    expect(new Date(body.createdAt as string).toISOString()).toBe(body.createdAt);
    const cols = body.columns as Array<Record<string, unknown>>;
    expect(cols.map((c) => c.name)).toEqual([
      'sepal_length',
      'sepal_width',
      'petal_length',
      'petal_width',
      'species',
    ]);
    const sl = cols[0] as {
      type: string;
      missing: number;
      min: number;
      max: number;
      mean: number;
      std: number;
    };
    expect(sl.type).toBe('numeric');
    expect(sl.missing).toBe(0);
    expect(sl.min).toBe(4.3);
    expect(sl.max).toBe(7.9);
    expect(sl.mean).toBeCloseTo(5.8433, 3);
    expect(sl.std).toBeCloseTo(0.8253, 3);
    const pl = cols[2] as { mean: number; min: number; max: number };
    expect(pl).toMatchObject({ min: 1, max: 6.9 });
    expect(pl.mean).toBeCloseTo(3.758, 3);
    expect(cols[4]).toEqual({
      name: 'species',
      type: 'categorical',
      missing: 0,
      categories: { setosa: 50, versicolor: 50, virginica: 50 },
    });
  }

  it('when iris is uploaded as multipart, then 201 with its statistics, named after the file', async () => {
    const res = await request(t.app.server).post('/v1/datasets').set(ACME).attach('file', IRIS);
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('iris');
    expectIrisSummary(res.body);
    const saved = await readFile(dataPaths(t.config.DATA_DIR).dataset(res.body.id));
    expect(saved.equals(iris)).toBe(true);
  });

  it('when iris is uploaded as text/csv, then 201 with the same statistics and the ?name= given', async () => {
    const res = await request(t.app.server)
      .post('/v1/datasets?name=flowers')
      .set(ACME)
      .set('content-type', 'text/csv')
      .send(iris.toString('utf8'));
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('flowers');
    expectIrisSummary(res.body);
  });

  it('when a multipart name field comes before or after the file, then it names the dataset; text/csv defaults to "dataset"', async () => {
    const named = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .field('name', 'petals')
      .attach('file', IRIS);
    expect(named.status).toBe(201);
    expect(named.body.name).toBe('petals');
    const after = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .attach('file', IRIS)
      .field('name', 'sepals');
    expect(after.status).toBe(201);
    expect(after.body.name).toBe('sepals');
    const tooLong = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .attach('file', IRIS)
      .field('name', 'x'.repeat(201));
    expectProblem(tooLong, 400);
    expect(tooLong.body.errors[0].path).toBe('name');
    const plain = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .set('content-type', 'text/csv')
      .send('a,b\n1,2\n');
    expect(plain.status).toBe(201);
    expect(plain.body.name).toBe('dataset');
  });

  it('when a column has empty or NA cells, then they are counted as missing, not as categories', async () => {
    const text = await readFile(join(import.meta.dirname, '..', 'fixtures', 'loans.csv'), 'utf8');
    const lines = text.trim().split(/\r?\n/).slice(1);
    const missingAge = lines.filter((l) => ['', 'NA', 'null', 'NaN'].includes(l.split(',')[0])).length;
    expect(missingAge).toBeGreaterThan(0);
    const res = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .attach('file', join(import.meta.dirname, '..', 'fixtures', 'loans.csv'));
    expect(res.status).toBe(201);
    expect(res.body.rowCount).toBe(lines.length);
    const age = res.body.columns.find((c: { name: string }) => c.name === 'age');
    expect(age).toMatchObject({ type: 'numeric', missing: missingAge });
    const decision = res.body.columns.find((c: { name: string }) => c.name === 'decision');
    expect(decision.type).toBe('categorical');
    const counted = Object.values(decision.categories as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(counted + decision.missing).toBe(lines.length);
  });

  it('when a dataset is fetched, then it equals the created one; another tenant gets 404 like an unknown id', async () => {
    const created = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .set('content-type', 'text/csv')
      .send('x,y\n1,a\n2,b\n');
    const got = await request(t.app.server).get(`/v1/datasets/${created.body.id}`).set(ACME);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);
    const foreign = await request(t.app.server).get(`/v1/datasets/${created.body.id}`).set(GLOBEX);
    const unknown = await request(t.app.server).get('/v1/datasets/ds_doesnotexist').set(GLOBEX);
    expectProblem(foreign, 404);
    expectProblem(unknown, 404);
    expect(foreign.body.title).toBe(unknown.body.title);
    expectProblem(await request(t.app.server).delete(`/v1/datasets/${created.body.id}`).set(GLOBEX), 404);
  });

  it('when a dataset is deleted, then 204, its file is gone and it is 404 afterwards', async () => {
    const created = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .set('content-type', 'text/csv')
      .send('x,y\n1,2\n');
    const file = dataPaths(t.config.DATA_DIR).dataset(created.body.id);
    await stat(file);
    const del = await request(t.app.server).delete(`/v1/datasets/${created.body.id}`).set(ACME);
    expect(del.status).toBe(204);
    await expect(stat(file)).rejects.toThrow();
    expectProblem(await request(t.app.server).get(`/v1/datasets/${created.body.id}`).set(ACME), 404);
    expectProblem(await request(t.app.server).delete(`/v1/datasets/${created.body.id}`).set(ACME), 404);
  });

  it('when a queued job reads the dataset, then delete answers 409 naming the job; once it is cancelled, 204', async () => {
    const created = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .set('content-type', 'text/csv')
      .send(iris);
    // No worker runs in this file: the job stays queued.
    const job = await request(t.app.server)
      .post('/v1/training-jobs')
      .set(ACME)
      .send({ datasetId: created.body.id, target: 'species', training: { epochs: 2 } });
    expect(job.status).toBe(202);
    const refused = await request(t.app.server).delete(`/v1/datasets/${created.body.id}`).set(ACME);
    expectProblem(refused, 409);
    expect(refused.body.detail).toContain(job.body.id);
    expect(refused.body.errors).toEqual([{ path: 'jobs', message: job.body.id }]);
    // Nothing was removed: the dataset and its file are still there.
    expect((await request(t.app.server).get(`/v1/datasets/${created.body.id}`).set(ACME)).status).toBe(200);
    await stat(dataPaths(t.config.DATA_DIR).dataset(created.body.id));
    // Another tenant's job never blocks, and another tenant still sees 404, not 409.
    expectProblem(await request(t.app.server).delete(`/v1/datasets/${created.body.id}`).set(GLOBEX), 404);

    const cancel = await request(t.app.server).post(`/v1/training-jobs/${job.body.id}/cancel`).set(ACME);
    expect(cancel.body.status).toBe('cancelled');
    expect((await request(t.app.server).delete(`/v1/datasets/${created.body.id}`).set(ACME)).status).toBe(
      204,
    );
  });

  it('when a tenant lists across pages, then every dataset appears once, newest first, and another tenant sees none', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await request(t.app.server)
        .post('/v1/datasets')
        .set(GLOBEX)
        .set('content-type', 'text/csv')
        .send(`v\n${i}\n`);
      ids.push(res.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await request(t.app.server)
        .get('/v1/datasets')
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set(GLOBEX);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((d: { id: string }) => d.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    const acme = await request(t.app.server).get('/v1/datasets?limit=100').set(ACME);
    expect(acme.body.data.some((d: { id: string }) => ids.includes(d.id))).toBe(false);
  });

  it('when the file is not a table, then 422 naming the row and nothing is kept', async () => {
    const cases: Array<[string, RegExp]> = [
      ['a,b\n1,2\n3\n', /row 3/],
      ['a,b\n1,"2\n3,4\n', /row 2/],
      ['a,b\n', /row|header|no rows/i],
      ['', /empty/i],
    ];
    for (const [csv, detail] of cases) {
      const res = await request(t.app.server)
        .post('/v1/datasets')
        .set(ACME)
        .set('content-type', 'text/csv')
        .send(csv);
      expectProblem(res, 422);
      expect(res.body.detail).toMatch(detail);
    }
    expect(await readdir(join(t.config.DATA_DIR, 'staging'))).toEqual([]);
  });

  it('when the body is neither multipart nor text/csv, then 415; malformed multipart is 400; no file field is 400', async () => {
    expectProblem(await request(t.app.server).post('/v1/datasets').set(ACME).send({ csv: 'a,b' }), 415);
    const malformed = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .set('content-type', 'multipart/form-data; boundary=XYZ')
      .send('--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,b\n1,2');
    expectProblem(malformed, 400);
    const noFile = await request(t.app.server).post('/v1/datasets').set(ACME).field('name', 'x');
    expectProblem(noFile, 400);
    expect(noFile.body.errors[0].path).toBe('file');
  });

  it('when ten uploads with one Idempotency-Key arrive at once, then exactly one dataset is created', async () => {
    const before = (await request(t.app.server).get('/v1/datasets?limit=100').set(ACME)).body.data.length;
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        request(t.app.server)
          .post('/v1/datasets?name=once')
          .set(ACME)
          .set('idempotency-key', 'upload-1')
          .set('content-type', 'text/csv')
          .send(iris.toString('utf8')),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(9);
    const after = (await request(t.app.server).get('/v1/datasets?limit=100').set(ACME)).body.data.length;
    expect(after).toBe(before + 1);

    const otherBody = await request(t.app.server)
      .post('/v1/datasets?name=once')
      .set(ACME)
      .set('idempotency-key', 'upload-1')
      .set('content-type', 'text/csv')
      .send('a,b\n1,2\n');
    expectProblem(otherBody, 422);
    const otherName = await request(t.app.server)
      .post('/v1/datasets?name=twice')
      .set(ACME)
      .set('idempotency-key', 'upload-1')
      .set('content-type', 'text/csv')
      .send(iris.toString('utf8'));
    expectProblem(otherName, 422);
    // Keys are per tenant: the same key from another tenant creates its own dataset.
    const globex = await request(t.app.server)
      .post('/v1/datasets?name=once')
      .set(GLOBEX)
      .set('idempotency-key', 'upload-1')
      .set('content-type', 'text/csv')
      .send(iris.toString('utf8'));
    expect(globex.status).toBe(201);
    expect(globex.body.id).not.toBe(results[0].body.id);
  });

  it('when a request with a key fails, then the key is freed and a retry creates the dataset', async () => {
    const bad = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .set('idempotency-key', 'k-fail')
      .set('content-type', 'text/csv')
      .send('');
    expectProblem(bad, 422);
    const good = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .set('idempotency-key', 'k-fail')
      .set('content-type', 'text/csv')
      .send('a\n1\n');
    expect(good.status).toBe(201);
  });
});

describe('interrupted uploads', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => t?.close());

  it('when the client disconnects mid-upload, then no dataset and no staged file are left', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      'POST /v1/datasets HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\na,b\n1,2\n3,4\n',
    );
    const staging = join(t.config.DATA_DIR, 'staging');
    // Wait until the upload is being staged, then drop the connection.
    for (let i = 0; i < 50 && (await readdir(staging)).length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect((await readdir(staging)).length).toBe(1);
    socket.destroy();
    for (let i = 0; i < 100 && (await readdir(staging)).length > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await readdir(staging)).toEqual([]);
    expect((await request(t.app.server).get('/v1/datasets')).body.data).toEqual([]);
  });
});

describe('dataset limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { MAX_UPLOAD_BYTES: '1000', MAX_COLUMNS: '3' } });
  });
  afterAll(async () => t?.close());

  it('when an upload is larger than MAX_UPLOAD_BYTES, then 413 both ways and no file is left', async () => {
    const csv = await readFile(IRIS);
    expectProblem(
      await request(t.app.server).post('/v1/datasets').set('content-type', 'text/csv').send(csv.toString()),
      413,
    );
    expectProblem(await request(t.app.server).post('/v1/datasets').attach('file', IRIS), 413);
    expect(await readdir(join(t.config.DATA_DIR, 'staging'))).toEqual([]);
    const list = await request(t.app.server).get('/v1/datasets');
    expect(list.body.data).toEqual([]);
  });

  it('when a replay of an Idempotency-Key upload is larger than MAX_UPLOAD_BYTES, then 413 and the first dataset stays', async () => {
    // The replay's body is read only for its fingerprint; the dataset store drains it under the
    // same byte count as a stored upload, so a replay cannot stream past the limit either.
    const small = 'a,b\n1,2\n3,4\n';
    const first = await request(t.app.server)
      .post('/v1/datasets')
      .set('idempotency-key', 'replay-large')
      .set('content-type', 'text/csv')
      .send(small);
    expect(first.status).toBe(201);
    const replay = await request(t.app.server)
      .post('/v1/datasets')
      .set('idempotency-key', 'replay-large')
      .set('content-type', 'text/csv')
      .send(small + '5,6\n'.repeat(400));
    expectProblem(replay, 413);
    const again = await request(t.app.server)
      .post('/v1/datasets')
      .set('idempotency-key', 'replay-large')
      .set('content-type', 'text/csv')
      .send(small);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    await request(t.app.server).delete(`/v1/datasets/${first.body.id}`).expect(204);
  });

  it('when a table has more columns than MAX_COLUMNS, then 413', async () => {
    const res = await request(t.app.server)
      .post('/v1/datasets')
      .set('content-type', 'text/csv')
      .send('a,b,c,d\n1,2,3,4\n');
    expectProblem(res, 413);
    expect(res.body.detail).toMatch(/column/i);
  });
});

describe('request timeout', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp({ env: { REQUEST_TIMEOUT_MS: '1000' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => t?.close());

  it('when a client stops sending its upload, then the server answers 408 and drops it soon after the timeout', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const closed = new Promise((r) => socket.once('close', r));
    const started = Date.now();
    socket.write(
      'POST /v1/datasets HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\na,b\n1,2\n',
    );
    await closed;
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(3000);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    const staging = join(t.config.DATA_DIR, 'staging');
    for (let i = 0; i < 50 && (await readdir(staging)).length > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await readdir(staging)).toEqual([]);
  });
});
