// End to end through HTTP: the API built by buildApp, a worker in the same process sharing the
// test's Redis prefix and DATA_DIR, real BullMQ in between. Upload → train with defaults → predict.
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startTrainingWorker, type TrainingWorker } from '../../src/worker/main.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const AUTH = { authorization: 'Bearer key-acme' };

let t: TestApp;
let worker: TrainingWorker;
const durations: Record<string, number> = {};
const measured: Record<string, unknown> = {};

beforeAll(async () => {
  t = await createTestApp({ env: { API_KEYS: 'acme:key-acme' }, sseHeartbeatMs: 60_000 });
  worker = startTrainingWorker(t.config, createLogger('silent', 'worker'));
});
afterAll(async () => {
  await worker?.close();
  await t?.close();
  // Visible in the run's output: how long each default training took end to end.
  console.log(
    'e2e job durations (ms):',
    JSON.stringify(durations),
    'test metrics:',
    JSON.stringify(measured),
  );
});

const api = () => request(t.app.server);

async function upload(name: string, form: 'multipart' | 'csv' = 'multipart'): Promise<string> {
  const res =
    form === 'multipart'
      ? await api()
          .post('/v1/datasets')
          .set(AUTH)
          .attach('file', join(FIXTURES, `${name}.csv`))
      : await api()
          .post(`/v1/datasets?name=${name}`)
          .set(AUTH)
          .set('content-type', 'text/csv')
          .send(
            await import('node:fs/promises').then((fs) => fs.readFile(join(FIXTURES, `${name}.csv`), 'utf8')),
          );
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function submit(body: object) {
  const res = await api().post('/v1/training-jobs').set(AUTH).send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.status).toBe('queued');
  return res.body as { id: string; spec: Record<string, unknown> };
}

async function until(
  id: string,
  done: (job: { status: string; progress: { epoch: number } }) => boolean,
  timeoutMs = 50_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api().get(`/v1/training-jobs/${id}`).set(AUTH);
    expect(res.status).toBe(200);
    if (done(res.body)) return res.body;
    if (Date.now() > deadline)
      throw new Error(`job ${id} still ${res.body.status} at epoch ${res.body.progress.epoch}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const finished = (j: { status: string }) => ['succeeded', 'failed', 'cancelled'].includes(j.status);

// The default recipe trains five networks (cross-validation): on a machine shared at load 10+ a
// 3,000-row table takes a minute or two, so these waits are generous.
const DEFAULT_JOB_TIMEOUT_MS = 240_000;

async function trainWithDefaults(label: string, datasetId: string, target: string) {
  const started = Date.now();
  const job = await submit({ datasetId, target });
  const done = await until(job.id, finished, DEFAULT_JOB_TIMEOUT_MS);
  durations[label] = Date.now() - started;
  expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
  const model = await api().get(`/v1/models/${done.modelId}`).set(AUTH);
  expect(model.status).toBe(200);
  const { confusionMatrix: _cm, ...test } = model.body.metrics.test;
  measured[label] = { epochs: done.history.length, ...test };
  return { job: done, model: model.body };
}

describe('training end to end', () => {
  it(
    'when iris is uploaded as multipart and trained with only datasetId and target, then test accuracy ≥ 0.90 and predictions name the species',
    async () => {
      const id = await upload('iris');
      const { job, model } = await trainWithDefaults('iris', id, 'species');
      expect(job.spec).toMatchObject({ task: 'classification', training: { loss: 'crossEntropy' } });
      expect(model.metrics.test.accuracy).toBeGreaterThanOrEqual(0.9);
      const test = model.metrics.test;
      expect(test.classes).toEqual(['setosa', 'versicolor', 'virginica']);
      expect(test.perClass.map((c: { class: string }) => c.class)).toEqual(test.classes);
      expect(test.perClass.reduce((n: number, c: { support: number }) => n + c.support, 0)).toBe(
        test.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0),
      );
      expect(test.rocAuc).toBeGreaterThan(0.9);
      expect(test.calibration.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(24);
      const res = await api()
        .post(`/v1/models/${model.id}/predict`)
        .set(AUTH)
        .send({
          rows: [
            { sepal_length: 5.0, sepal_width: 3.4, petal_length: 1.5, petal_width: 0.2 },
            { sepal_length: 6.9, sepal_width: 3.1, petal_length: 5.4, petal_width: 2.1 },
          ],
        });
      expect(res.status).toBe(200);
      expect(res.body.predictions.map((p: { label: string }) => p.label)).toEqual(['setosa', 'virginica']);
    },
    DEFAULT_JOB_TIMEOUT_MS + 30_000,
  );

  it('when iris is uploaded as text/csv and its events are streamed, then the stream has the status, every epoch once, and closes after succeeded', async () => {
    const id = await upload('iris', 'csv');
    const job = await submit({
      datasetId: id,
      target: 'species',
      training: { epochs: 15, earlyStopping: false },
    });
    const res = await api()
      .get(`/v1/training-jobs/${job.id}/events`)
      .set(AUTH)
      .buffer(true)
      .parse((r, cb) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c.toString()));
        r.on('end', () => cb(null, text));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = (res.body as string)
      .split('\n\n')
      .filter((b) => b.startsWith('event:'))
      .map((b) => {
        const [ev, data] = b.split('\n');
        return { type: ev.slice('event: '.length), data: JSON.parse(data.slice('data: '.length)) };
      });
    expect(events[0].type).toBe('status');
    const epochs = events.filter((e) => e.type === 'epoch').map((e) => e.data.epoch as number);
    const final = await api().get(`/v1/training-jobs/${job.id}`).set(AUTH);
    // Epochs the first status already held are not repeated; the rest come once each, in order.
    const firstHistory = (events[0].data.history as unknown[]).length;
    expect(epochs).toEqual(Array.from({ length: 15 - firstHistory }, (_, i) => firstHistory + i + 1));
    expect(events.filter((e) => e.type === 'epoch').every((e) => e.data.epochs === 15)).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'status', data: { status: 'succeeded' } });
    expect(final.body.history).toHaveLength(15);
  });

  it(
    'when loans are trained with defaults, then test accuracy ≥ 0.78 and raw rows with missing values are predicted',
    async () => {
      const id = await upload('loans');
      const { model } = await trainWithDefaults('loans', id, 'decision');
      expect(model.metrics.test.accuracy).toBeGreaterThanOrEqual(0.78);
      const res = await api()
        .post(`/v1/models/${model.id}/predict`)
        .set(AUTH)
        .send({
          rows: [
            {
              age: 45,
              income: 120000,
              employment: 'salaried',
              region: 'north',
              debt_ratio: 0.1,
              has_mortgage: 'yes',
            },
            { age: null, income: 20000, employment: 'unemployed', debt_ratio: 0.6, has_mortgage: 'no' },
            { income: '55000', region: null },
          ],
        });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.predictions).toHaveLength(3);
      for (const p of res.body.predictions as { label: string; probabilities: Record<string, number> }[]) {
        expect(model.classes).toContain(p.label);
        const total = Object.values(p.probabilities).reduce((a, b) => a + b, 0);
        expect(total).toBeCloseTo(1, 4);
      }
    },
    DEFAULT_JOB_TIMEOUT_MS + 30_000,
  );

  it(
    'when friedman1 is trained with defaults, then it is a regression with test r2 ≥ 0.88 and predictions in the target units',
    async () => {
      const id = await upload('friedman1');
      const { job, model } = await trainWithDefaults('friedman1', id, 'y');
      expect(job.spec).toMatchObject({ task: 'regression', training: { loss: 'mse' } });
      expect(model.metrics.test.r2).toBeGreaterThanOrEqual(0.88);
      // y = 10 sin(π x1 x2) + 20 (x3 − 0.5)² + 10 x4 + 5 x5 (+ noise): at x = 0.5 everywhere ≈ 7.07 + 0 + 5 + 2.5 = 14.57
      const row = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x${i + 1}`, 0.5]));
      const res = await api()
        .post(`/v1/models/${model.id}/predict`)
        .set(AUTH)
        .send({ rows: [row] });
      expect(res.status).toBe(200);
      expect(res.body.predictions[0].value).toBeGreaterThan(11);
      expect(res.body.predictions[0].value).toBeLessThan(18);
    },
    DEFAULT_JOB_TIMEOUT_MS + 30_000,
  );

  it('when a running job is cancelled over HTTP, then it ends cancelled within an epoch; a finished job answers 409', async () => {
    const id = await upload('friedman1');
    const job = await submit({
      datasetId: id,
      target: 'y',
      model: { layers: [{ units: 64 }, { units: 64 }] },
      training: { epochs: 5000, batchSize: 8, earlyStopping: false },
    });
    await until(job.id, (j) => j.status === 'running' && j.progress.epoch >= 1);
    const cancel = await api().post(`/v1/training-jobs/${job.id}/cancel`).set(AUTH);
    expect(cancel.status).toBe(200);
    expect(cancel.body.cancelRequested).toBe(true);
    const done = await until(job.id, finished, 10_000);
    expect(done.status).toBe('cancelled');
    expect(done.modelId).toBeNull();

    const list = await api().get('/v1/training-jobs?status=succeeded').set(AUTH);
    expect(list.status).toBe(200);
    const succeeded = list.body.data[0];
    const conflict = await api().post(`/v1/training-jobs/${succeeded.id}/cancel`).set(AUTH);
    expect(conflict.status).toBe(409);
  });
});
