// Batch predictions through HTTP: the API built by buildApp, a worker in this process sharing the
// test's Redis prefix and DATA_DIR, real BullMQ in between. The result is checked against the
// single-row predict endpoint on the same rows.
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/engine/index.js';
import { createLogger } from '../../src/logger.js';
import { startTrainingWorker, type TrainingWorker } from '../../src/worker/main.js';
import { ACME, OTHER, createScoringApp, type ScoringApp } from './scoring-app.js';
import { textBody } from '../helpers/text-body.js';

let s: ScoringApp;
let worker: TrainingWorker | null = null;
let irisModel: string;
let mpgModel: string;

beforeAll(async () => {
  s = await createScoringApp();
  ({ irisModel, mpgModel } = s);
}, 60_000);
afterAll(async () => {
  await worker?.close();
  await s?.t.close();
});

const api = () => s.api();
const uploadCsv = (text: string, auth = ACME) => s.uploadCsv(text, auth);
const finished = (s: string) => ['succeeded', 'failed', 'cancelled'].includes(s);

async function waitFinished(id: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api().get(`/v1/batch-predictions/${id}`).set(ACME);
    expect(res.status).toBe(200);
    if (finished(res.body.status)) return res.body;
    if (Date.now() > deadline)
      throw new Error(`batch ${id} still ${res.body.status}: ${JSON.stringify(res.body.progress)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function resultRows(id: string): Promise<string[][]> {
  const res = await api().get(`/v1/batch-predictions/${id}/result`).set(ACME).buffer(true).parse(textBody);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/csv/);
  return parse(res.body as string) as string[][];
}

/** Seeded iris-like rows (uniform within the ranges of the iris fixture), with an id column. */
function irisLike(rows: number, seed: number): string {
  const rng = createRng(seed);
  const u = (lo: number, hi: number) => (lo + (hi - lo) * rng.next()).toFixed(1);
  const lines = ['id,sepal_length,sepal_width,petal_length,petal_width'];
  for (let i = 0; i < rows; i++) lines.push(`r${i},${u(4.3, 7.9)},${u(2, 4.4)},${u(1, 6.9)},${u(0.1, 2.5)}`);
  return lines.join('\n') + '\n';
}

describe('batch predictions: before any worker runs', () => {
  it('when a queued batch prediction is cancelled, then it ends cancelled at once and has no result (409)', async () => {
    const datasetId = await uploadCsv(irisLike(10, 1));
    const res = await api().post('/v1/batch-predictions').set(ACME).send({ modelId: irisModel, datasetId });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', progress: { rows: 0, totalRows: 10, chunks: 0 } });
    expect(res.body.columns).toEqual([
      'label',
      'probability:setosa',
      'probability:versicolor',
      'probability:virginica',
      'error',
    ]);
    const id = res.body.id as string;
    expect((await api().get(`/v1/batch-predictions/${id}/result`).set(ACME)).status).toBe(409);
    const cancelled = await api().post(`/v1/batch-predictions/${id}/cancel`).set(ACME);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect((await api().post(`/v1/batch-predictions/${id}/cancel`).set(ACME)).status).toBe(409);
    expect((await api().get(`/v1/batch-predictions/${id}/result`).set(ACME)).status).toBe(409);
  });

  it('when the request names what does not exist or cannot be kept, then 400/422 say which field', async () => {
    const datasetId = await uploadCsv(irisLike(5, 2));
    const post = (body: object) => api().post('/v1/batch-predictions').set(ACME).send(body);
    const noModel = await post({ modelId: 'mdl_nope', datasetId });
    expect(noModel.status).toBe(422);
    expect(noModel.body.errors).toEqual([{ path: 'modelId', message: 'no such model' }]);
    const noDataset = await post({ modelId: irisModel, datasetId: 'ds_nope' });
    expect(noDataset.status).toBe(422);
    expect(noDataset.body.errors[0].path).toBe('datasetId');
    const unknown = await post({ modelId: irisModel, datasetId, keepColumns: ['id', 'nope'] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.detail).toMatch(/nope/);
    const clash = await uploadCsv('label,sepal_length\na,5.1\n');
    const clashing = await post({ modelId: irisModel, datasetId: clash, keepColumns: ['label'] });
    expect(clashing.status).toBe(422);
    expect(clashing.body.errors[0].path).toBe('keepColumns');
    const repeated = await post({ modelId: irisModel, datasetId, keepColumns: ['id', 'id'] });
    expect(repeated.status).toBe(422);
    const noFeatures = await uploadCsv('a,b\n1,2\n');
    expect((await post({ modelId: irisModel, datasetId: noFeatures })).status).toBe(422);
    expect((await post({ datasetId })).status).toBe(400);
    expect((await post({ modelId: irisModel, datasetId, extra: 1 })).status).toBe(400);
  });

  it('when a dataset is read by an unfinished batch prediction, then deleting it answers 409 naming the job', async () => {
    const datasetId = await uploadCsv(irisLike(5, 6));
    const job = await api().post('/v1/batch-predictions').set(ACME).send({ modelId: irisModel, datasetId });
    const refused = await api().delete(`/v1/datasets/${datasetId}`).set(ACME);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain(job.body.id);
    expect((await api().post(`/v1/batch-predictions/${job.body.id}/cancel`).set(ACME)).body.status).toBe(
      'cancelled',
    );
    expect((await api().delete(`/v1/datasets/${datasetId}`).set(ACME)).status).toBe(204);
  });

  it('when a submit is retried with the same Idempotency-Key, then it answers the first job and queues no other', async () => {
    const datasetId = await uploadCsv(irisLike(5, 5));
    const send = (body: object) =>
      api().post('/v1/batch-predictions').set(ACME).set('idempotency-key', 'bp-retry-1').send(body);
    const first = await send({ modelId: irisModel, datasetId });
    const again = await send({ modelId: irisModel, datasetId });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((await send({ modelId: irisModel, datasetId, keepColumns: ['id'] })).status).toBe(422);
  });

  it("when another tenant asks for a tenant's batch prediction or model, then it is not found", async () => {
    const datasetId = await uploadCsv(irisLike(5, 3));
    const own = await api().post('/v1/batch-predictions').set(ACME).send({ modelId: irisModel, datasetId });
    const id = own.body.id as string;
    expect((await api().get(`/v1/batch-predictions/${id}`).set(OTHER)).status).toBe(404);
    expect((await api().get(`/v1/batch-predictions/${id}/result`).set(OTHER)).status).toBe(404);
    expect((await api().post(`/v1/batch-predictions/${id}/cancel`).set(OTHER)).status).toBe(404);
    expect((await api().get('/v1/batch-predictions').set(OTHER)).body.data).toEqual([]);
    const theirs = await uploadCsv(irisLike(5, 4), OTHER);
    const borrowed = await api()
      .post('/v1/batch-predictions')
      .set(OTHER)
      .send({ modelId: irisModel, datasetId: theirs });
    expect(borrowed.status).toBe(422);
    const list = await api().get('/v1/batch-predictions?limit=100').set(ACME);
    expect(list.body.data.map((b: { id: string }) => b.id)).toContain(id);
  });
});

describe('batch predictions: with a worker', () => {
  beforeAll(() => {
    worker = startTrainingWorker(s.t.config, createLogger('silent', 'worker'));
  });

  it('when a file with unscorable rows is scored, then each row is in the result once, in order, and the bad ones carry their reason', async () => {
    const text = [
      'id,sepal_length,sepal_width,petal_length,petal_width',
      'a,5.1,3.5,1.4,0.2',
      'b,oops,3.0,5.1,1.8',
      'c,6.7,,5.8,2.2',
      'd,=cmd,3.0,4.5,1.5',
      'e,6.0,2.2,5.0,1.5',
    ].join('\n');
    const datasetId = await uploadCsv(text);
    const submitted = await api()
      .post('/v1/batch-predictions')
      .set(ACME)
      .send({ modelId: irisModel, datasetId, keepColumns: ['id', 'petal_length'] });
    expect(submitted.status).toBe(202);
    const done = await waitFinished(submitted.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress).toMatchObject({ rows: 5, totalRows: 5, chunks: 1 });
    expect(done.rowsFailed).toBe(2);
    const rows = await resultRows(done.id);
    expect(rows[0]).toEqual(done.columns);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(rows[2][6]).toBe('column "sepal_length": "oops" is not a number');
    expect(rows[2].slice(2, 6)).toEqual(['', '', '', '']);
    expect(rows[4][6]).toMatch(/sepal_length/);
    // Scored rows: the label and probabilities of the single-row endpoint for the same raw values.
    const single = await api()
      .post(`/v1/models/${irisModel}/predict`)
      .set(ACME)
      .send({ rows: [{ sepal_length: '6.7', sepal_width: '', petal_length: '5.8', petal_width: '2.2' }] });
    const p = single.body.predictions[0];
    expect(rows[3][2]).toBe(p.label);
    expect(Number(rows[3][3])).toBeCloseTo(p.probabilities.setosa, 6);
    expect(Number(rows[3][5])).toBeCloseTo(p.probabilities.virginica, 6);
    expect(rows[3][6]).toBe('');
  });

  it('when the file is uploaded in the same call, then it is stored as a dataset and scored; a job that cannot start leaves no dataset', async () => {
    const text =
      'id,sepal_length,sepal_width,petal_length,petal_width\nx1,5.1,3.5,1.4,0.2\nx2,6.7,3.0,5.2,2.3\n';
    const form = await api()
      .post(`/v1/batch-predictions?modelId=${irisModel}&keepColumns=id`)
      .set(ACME)
      .attach('file', Buffer.from(text), 'fresh.csv');
    expect(form.status, JSON.stringify(form.body)).toBe(202);
    expect(form.body.keepColumns).toEqual(['id']);
    const dataset = await api().get(`/v1/datasets/${form.body.datasetId}`).set(ACME);
    expect(dataset.body).toMatchObject({ name: 'fresh', rowCount: 2 });
    const done = await waitFinished(form.body.id);
    expect(done.status).toBe('succeeded');
    expect((await resultRows(done.id)).map((r) => r[0])).toEqual(['id', 'x1', 'x2']);

    const raw = await api()
      .post(`/v1/batch-predictions?modelId=${irisModel}&keepColumns=["id"]&name=raw`)
      .set(ACME)
      .set('content-type', 'text/csv')
      .send(text);
    expect(raw.status, JSON.stringify(raw.body)).toBe(202);
    expect((await waitFinished(raw.body.id)).progress.rows).toBe(2);

    const before = (await api().get('/v1/datasets?limit=100').set(ACME)).body.data.length;
    const refused = await api()
      .post(`/v1/batch-predictions?modelId=${irisModel}&keepColumns=nope`)
      .set(ACME)
      .attach('file', Buffer.from(text), 'refused.csv');
    expect(refused.status).toBe(422);
    expect(refused.body.errors[0].path).toBe('keepColumns');
    expect((await api().get('/v1/datasets?limit=100').set(ACME)).body.data.length).toBe(before);
    const noModel = await api()
      .post('/v1/batch-predictions')
      .set(ACME)
      .attach('file', Buffer.from(text), 'x.csv');
    expect(noModel.status).toBe(400);
    expect(noModel.body.errors[0].path).toBe('modelId');
    const mixed = await api()
      .post(`/v1/batch-predictions?modelId=${irisModel}`)
      .set(ACME)
      .send({ modelId: irisModel, datasetId: form.body.datasetId });
    expect(mixed.status).toBe(400);
  });

  it('when a regression model scores a file, then the result has a value column in the target units', async () => {
    const csv = (await import('node:fs/promises')).readFile(
      new URL('../fixtures/cases/mpg-clean.csv', import.meta.url),
      'utf8',
    );
    const datasetId = await uploadCsv(await csv);
    const submitted = await api()
      .post('/v1/batch-predictions')
      .set(ACME)
      .send({ modelId: mpgModel, datasetId });
    const done = await waitFinished(submitted.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.columns).toEqual(['value', 'error']);
    const rows = await resultRows(done.id);
    expect(rows.length - 1).toBe(done.progress.totalRows);
    const values = rows.slice(1).map((r) => Number(r[0]));
    expect(values.every((v) => Number.isFinite(v) && v > 5 && v < 60)).toBe(true);
  });

  it('when a seeded 200,000-row file is scored, then the result has every row once and a sample matches single predictions', async () => {
    const datasetId = await uploadCsv(irisLike(200_000, 42));
    const started = Date.now();
    const submitted = await api()
      .post('/v1/batch-predictions')
      .set(ACME)
      .send({ modelId: irisModel, datasetId, keepColumns: ['id'] });
    const done = await waitFinished(submitted.body.id, 300_000);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `batch prediction: 200000 rows in ${seconds.toFixed(1)} s (${Math.round(200_000 / seconds)} rows/s, in-process worker)`,
    );
    expect(done.status).toBe('succeeded');
    expect(done.progress).toEqual({ rows: 200_000, totalRows: 200_000, chunks: 20 });
    expect(done.rowsFailed).toBe(0);
    const rows = await resultRows(done.id);
    expect(rows.length).toBe(200_001);
    const ids = rows.slice(1).map((r) => r[0]);
    expect(new Set(ids).size).toBe(200_000);
    expect(ids[0]).toBe('r0');
    expect(ids[199_999]).toBe('r199999');
    const source = irisLike(200_000, 42).split('\n');
    const sample = [0, 9_999, 10_000, 123_457, 199_999];
    const single = await api()
      .post(`/v1/models/${irisModel}/predict`)
      .set(ACME)
      .send({
        rows: sample.map((i) => {
          const [, a, b, c, d] = source[i + 1].split(',');
          return { sepal_length: a, sepal_width: b, petal_length: c, petal_width: d };
        }),
      });
    sample.forEach((i, k) => {
      const row = rows[i + 1];
      const p = single.body.predictions[k];
      expect(row[0]).toBe(`r${i}`);
      expect(row[1]).toBe(p.label);
      expect(Number(row[2])).toBeCloseTo(p.probabilities.setosa, 6);
      expect(Number(row[4])).toBeCloseTo(p.probabilities.virginica, 6);
    });
  }, 400_000);
});
