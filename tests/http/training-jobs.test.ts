// /v1/training-jobs: with the real job service and queue (no worker runs, so jobs stay queued),
// and with an in-memory fake to drive the event stream by hand.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeJobService, type FakeJobService } from '../helpers/fake-jobs.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

const IRIS = join(import.meta.dirname, '..', 'fixtures', 'iris.csv');

describe('training jobs with the real job service', () => {
  let t: TestApp;
  let datasetId: string;
  beforeAll(async () => {
    t = await createTestApp();
    const res = await request(t.app.server)
      .post('/v1/datasets')
      .set('content-type', 'text/csv')
      .send(await readFile(IRIS, 'utf8'));
    datasetId = res.body.id;
  });
  afterAll(async () => t?.close());

  it('when a spec with only datasetId and target is submitted, then 202 with the resolved spec, readable and listed', async () => {
    const res = await request(t.app.server).post('/v1/training-jobs').send({ datasetId, target: 'species' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', datasetId, modelId: null, error: null, history: [] });
    expect(res.body.id).toMatch(/^job_[0-9A-Za-z]{24}$/);
    expect(res.body.spec).toMatchObject({
      target: 'species',
      task: 'classification',
      features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
      training: { optimizer: { type: 'adam' }, loss: 'crossEntropy' },
    });
    const got = await request(t.app.server).get(`/v1/training-jobs/${res.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body.id).toBe(res.body.id);
    const queued = await request(t.app.server).get('/v1/training-jobs?status=queued');
    expect(queued.body.data.map((j: { id: string }) => j.id)).toContain(res.body.id);
    const running = await request(t.app.server).get('/v1/training-jobs?status=running');
    expect(running.body.data).toEqual([]);
    expect((await request(t.app.server).get('/v1/training-jobs?status=sleeping')).status).toBe(400);
  });

  it('when the target does not exist, then 422 naming target; an unknown dataset is 404 or 422', async () => {
    const res = await request(t.app.server).post('/v1/training-jobs').send({ datasetId, target: 'colour' });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('target');
    const missing = await request(t.app.server)
      .post('/v1/training-jobs')
      .send({ datasetId: 'ds_nope', target: 'species' });
    expect([404, 422]).toContain(missing.status);
    expect(missing.headers['content-type']).toMatch(/problem\+json/);
  });

  it('when minmax or standardize scaling meets a column whose range overflows float64, then 422 naming the column before anything is queued', async () => {
    // max − min = 1.7e308 − (−1.7e308) is Infinity in float64: no finite minmax scale exists, and
    // standardize's x − mean overflows for a value of the sign away from the training mean.
    const csv = 'huge,x,y\n-1.7e308,1,a\n1.7e308,2,b\n5,3,a\n6,4,b\n7,5,a\n8,6,b\n';
    const ds = await request(t.app.server).post('/v1/datasets').set('content-type', 'text/csv').send(csv);
    expect(ds.status).toBe(201);
    const before = (await request(t.app.server).get('/v1/training-jobs?limit=100')).body.data.length;
    const spec = { datasetId: ds.body.id, target: 'y', recipe: 'fast' };
    const res = await request(t.app.server)
      .post('/v1/training-jobs')
      .send({ ...spec, preprocessing: { scaling: 'minmax' } });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('preprocessing.scaling');
    expect(res.body.detail).toMatch(/minmax scaling cannot scale column "huge"/);
    expect(res.body.detail).toMatch(/use robust scaling/);
    for (const path of ['/v1/training-jobs', '/v1/training-jobs?dryRun=true']) {
      // The default scaling is standardize: the job a user submits without options is refused.
      const standardize = await request(t.app.server).post(path).send({ datasetId: ds.body.id, target: 'y' });
      expect(standardize.status).toBe(422);
      expect(standardize.body.errors[0].path).toBe('preprocessing.scaling');
      expect(standardize.body.detail).toMatch(/standardize scaling cannot scale column "huge"/);
    }
    expect((await request(t.app.server).get('/v1/training-jobs?limit=100')).body.data).toHaveLength(before);
    // Without "huge", or with a scaling that divides by a spread instead of the range, it is accepted.
    const without = await request(t.app.server)
      .post('/v1/training-jobs')
      .send({ ...spec, features: ['x'], preprocessing: { scaling: 'minmax' } });
    expect(without.status).toBe(202);
    const robust = await request(t.app.server)
      .post('/v1/training-jobs')
      .send({ ...spec, preprocessing: { scaling: 'robust' } });
    expect(robust.status).toBe(202);
  });

  it('when a queued job is cancelled, then 200 cancelled, and cancelling it again is a 409 conflict', async () => {
    const job = await request(t.app.server).post('/v1/training-jobs').send({ datasetId, target: 'species' });
    const cancelled = await request(t.app.server).post(`/v1/training-jobs/${job.body.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    // A cancelled job has finished: cancelling it again conflicts with its state, as for succeeded or failed.
    const again = await request(t.app.server).post(`/v1/training-jobs/${job.body.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toMatch(/problem\+json/);
    expect((await request(t.app.server).get(`/v1/training-jobs/${job.body.id}`)).body.status).toBe(
      'cancelled',
    );
    expect((await request(t.app.server).post('/v1/training-jobs/job_unknown/cancel')).status).toBe(404);
  });

  it('when ten submissions with one Idempotency-Key arrive at once, then one job; another body with the key is 422', async () => {
    const body = { datasetId, target: 'species', training: { epochs: 20 } };
    const before = (await request(t.app.server).get('/v1/training-jobs?limit=100')).body.data.length;
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        request(t.app.server).post('/v1/training-jobs').set('idempotency-key', 'job-key-1').send(body),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(202));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const after = (await request(t.app.server).get('/v1/training-jobs?limit=100')).body.data.length;
    expect(after).toBe(before + 1);
    // Same body with its keys in another order is the same request.
    const reordered = await request(t.app.server)
      .post('/v1/training-jobs')
      .set('idempotency-key', 'job-key-1')
      .send({ training: { epochs: 20 }, target: 'species', datasetId });
    expect(reordered.status).toBe(202);
    expect(reordered.body.id).toBe(results[0].body.id);
    const other = await request(t.app.server)
      .post('/v1/training-jobs')
      .set('idempotency-key', 'job-key-1')
      .send({ ...body, training: { epochs: 21 } });
    expect(other.status).toBe(422);
    const badKey = await request(t.app.server)
      .post('/v1/training-jobs')
      .set('idempotency-key', 'x'.repeat(300))
      .send(body);
    expect(badKey.status).toBe(400);
  });
});

describe('training job events from the real job service', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => t?.close());

  it('when a queued job is cancelled while its stream is open, then the stream shows both statuses and closes', async () => {
    const dataset = await request(t.app.server)
      .post('/v1/datasets')
      .set('content-type', 'text/csv; charset=utf-8')
      .send('a,b\n1,x\n2,y\n3,x\n4,y\n');
    expect(dataset.status).toBe(201);
    const job = await request(t.app.server)
      .post('/v1/training-jobs')
      .send({ datasetId: dataset.body.id, target: 'b' });
    expect(job.status).toBe(202);
    const res = await fetch(`${base}/v1/training-jobs/${job.body.id}/events`);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = res.text();
    await new Promise((r) => setTimeout(r, 100));
    expect((await request(t.app.server).post(`/v1/training-jobs/${job.body.id}/cancel`)).status).toBe(200);
    const body = await text;
    const statuses = [...body.matchAll(/^event: status\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]).status);
    expect(statuses).toEqual(['queued', 'cancelled']);
  });
});

describe('training job events', () => {
  let t: TestApp;
  let jobs: FakeJobService;
  let base: string;
  beforeAll(async () => {
    jobs = createFakeJobService();
    t = await createTestApp({ jobs, sseHeartbeatMs: 50 });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => t?.close());

  function openStream(id: string): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) =>
      http.get(`${base}/v1/training-jobs/${id}/events`, resolve).on('error', reject),
    );
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('when a job trains and finishes, then the stream carries status, epochs and the final status, then closes', async () => {
    const job = (
      await request(t.app.server).post('/v1/training-jobs').send({ datasetId: 'ds_x', target: 'y' })
    ).body;
    const res = await openStream(job.id);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    const ended = new Promise((r) => res.on('end', r));
    await sleep(120);
    jobs.setStatus(job.id, 'running');
    jobs.epoch(job.id, 1, 0.9);
    jobs.epoch(job.id, 2, 0.7);
    jobs.setStatus(job.id, 'succeeded');
    await ended;
    const events = text
      .split('\n\n')
      .filter((block) => block.startsWith('event:'))
      .map((block) => {
        const [eventLine, dataLine] = block.split('\n');
        return { type: eventLine.slice('event: '.length), data: JSON.parse(dataLine.slice('data: '.length)) };
      });
    expect(events.map((e) => e.type)).toEqual(['status', 'status', 'epoch', 'epoch', 'status']);
    expect(events.map((e) => (e.type === 'status' ? e.data.status : e.data.epoch))).toEqual([
      'queued',
      'running',
      1,
      2,
      'succeeded',
    ]);
    expect(events[2].data).toEqual({ epoch: 1, loss: 0.9, epochs: expect.any(Number) });
    expect(text).toMatch(/^: heartbeat$/m);
    expect(jobs.openStreams).toBe(0);
  });

  it('when the client disconnects, then the job stream is released', async () => {
    const job = (
      await request(t.app.server).post('/v1/training-jobs').send({ datasetId: 'ds_x', target: 'y' })
    ).body;
    const res = await openStream(job.id);
    await sleep(50);
    expect(jobs.openStreams).toBe(1);
    res.destroy();
    for (let i = 0; i < 50 && jobs.openStreams > 0; i++) await sleep(20);
    expect(jobs.openStreams).toBe(0);
  });

  it('when the server shuts down, then open streams end at once instead of holding up the close', async () => {
    const own = await createTestApp({ jobs: createFakeJobService() });
    await own.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(own.app.server.address() as AddressInfo).port}`;
    const job = (
      await request(own.app.server).post('/v1/training-jobs').send({ datasetId: 'ds_x', target: 'y' })
    ).body;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(`${url}/v1/training-jobs/${job.id}/events`, resolve).on('error', reject),
    );
    res.resume();
    const ended = new Promise((r) => res.on('close', r));
    const started = Date.now();
    await own.close();
    await ended;
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('when the job does not exist, then 404 problem before any event', async () => {
    const res = await request(t.app.server).get('/v1/training-jobs/job_nope/events');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });
});
