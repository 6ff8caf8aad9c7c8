// Refusals say what is wrong and how to do it right: uploads in the wrong media type or with two
// files, a prediction row with only the target, explanations asked as CSV, an over-long id, webhook
// addresses in plain English, a page offset past every bound. Real Redis, through HTTP.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressRefusal } from '../../src/net/webhook-transport.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { FIXTURES, trainAndSave } from '../helpers/trained-model.js';

const ACME = { authorization: 'Bearer key-acme' };
const ENV = { API_KEYS: 'acme:key-acme' };
const IRIS = join(FIXTURES, 'iris.csv');

function expectProblem(res: request.Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.status).toBe(status);
}

describe('refusal messages', () => {
  let t: TestApp;
  let iris: string;
  let modelId: string;

  beforeAll(async () => {
    t = await createTestApp({ env: ENV });
    iris = await readFile(IRIS, 'utf8');
    modelId = (await trainAndSave(t, 'acme', 'iris.csv', { target: 'species', training: { epochs: 2 } }))
      .model.id;
  });
  afterAll(async () => t?.close());

  const datasetCount = async () =>
    (await request(t.app.server).get('/v1/datasets?limit=100').set(ACME)).body.data.length as number;

  it('when a CSV is uploaded as JSON, octet-stream or a urlencoded form, then 415 saying how to send it', async () => {
    const before = await datasetCount();
    for (const type of [
      'application/json',
      'application/octet-stream',
      'application/x-www-form-urlencoded',
    ]) {
      const res = await request(t.app.server)
        .post('/v1/datasets')
        .set(ACME)
        .set('content-type', type)
        .send(iris);
      expectProblem(res, 415);
      expect(res.body.detail, type).toContain(`"${type}" is not accepted for an upload`);
      expect(res.body.detail, type).toContain('text/csv');
      expect(res.body.detail, type).toContain('multipart/form-data with the file in a "file" field');
    }
    expect(await datasetCount()).toBe(before);
    // The accepted forms still work.
    const csv = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .set('content-type', 'text/csv')
      .send(iris);
    expect(csv.status).toBe(201);
  });

  it('when a form carries two file fields, then 400 saying one file per upload', async () => {
    const before = await datasetCount();
    const res = await request(t.app.server)
      .post('/v1/datasets')
      .set(ACME)
      .attach('file', Buffer.from(iris), 'a.csv')
      .attach('file', Buffer.from(iris), 'b.csv');
    expectProblem(res, 400);
    expect(res.body.detail).toContain('one file per upload');
    expect(await datasetCount()).toBe(before);
  });

  it('when a prediction row holds only the target, then 400 naming the features and the target', async () => {
    const res = await request(t.app.server)
      .post(`/v1/models/${modelId}/predict`)
      .set(ACME)
      .send({ rows: [{ sepal_length: 5.1 }, { species: 'setosa' }] });
    expectProblem(res, 400);
    expect(res.body.detail).toContain(
      `row 1 has none of the model's features ("sepal_length", "sepal_width", "petal_length", "petal_width")`,
    );
    expect(res.body.detail).toContain('it has only the target "species"');
    expect(res.body.detail).not.toContain('empty');
    const other = await request(t.app.server)
      .post(`/v1/models/${modelId}/predict`)
      .set(ACME)
      .send({ rows: [{ species: 'setosa', colour: 'red' }] });
    expectProblem(other, 400);
    expect(other.body.detail).toContain('it has "colour" and the target "species"');
  });

  it('when predict.csv is asked for explanations, then 400 saying they are JSON only', async () => {
    const row = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
    const res = await request(t.app.server)
      .post(`/v1/models/${modelId}/predict.csv`)
      .set(ACME)
      .send({ rows: [row], explain: true });
    expectProblem(res, 400);
    expect(res.body.detail).toContain('JSON only');
    expect(res.body.errors[0].path).toBe('explain');
    const plain = await request(t.app.server)
      .post(`/v1/models/${modelId}/predict.csv`)
      .set(ACME)
      .send({ rows: [row] });
    expect(plain.status).toBe(200);
    expect(plain.headers['content-type']).toMatch(/^text\/csv/);
  });

  it('when an id in the path is over-long, then 414 as a problem like every other error', async () => {
    const res = await request(t.app.server)
      .get(`/v1/models/${'m'.repeat(150)}`)
      .set(ACME);
    expectProblem(res, 414);
    expect(res.body.detail).toContain('longer than 100 characters');
    expect(res.body.detail).not.toContain('mmmmm');
  });

  it('when a page offset is past every bound, then 400 names the field once', async () => {
    const res = await request(t.app.server).get('/v1/training-jobs/job_x/history?offset=1e20').set(ACME);
    expectProblem(res, 400);
    expect(res.body.detail).toBe('Invalid query: offset');
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toEqual({ path: 'offset', message: expect.stringContaining('1000000') });
  });

  it('when a webhook address is refused, then the reason reads as English', async () => {
    expect(addressRefusal('0.0.0.0')).toBe('0.0.0.0 is an unspecified address');
    expect(addressRefusal('169.254.169.254')).toBe('169.254.169.254 is a link-local address');
    expect(addressRefusal('fd00::1')).toBe('fd00::1 is a unique local address');
    expect(addressRefusal('100.64.0.1')).toBe('100.64.0.1 is a carrier-grade NAT address');
    const byName = await request(t.app.server)
      .post('/v1/webhooks')
      .set(ACME)
      .send({ url: 'http://localhost:9/hook', events: ['training-job.succeeded'] });
    expectProblem(byName, 422);
    expect(byName.body.detail).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    const ftp = await request(t.app.server)
      .post('/v1/webhooks')
      .set(ACME)
      .send({ url: 'ftp://example.com/x', events: ['training-job.succeeded'] });
    expectProblem(ftp, 400);
    expect(ftp.body.errors[0]).toEqual({
      path: 'url',
      message: expect.stringContaining('only http and https'),
    });
  });
});
