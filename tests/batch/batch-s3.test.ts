// Batch predictions with STORAGE=s3 (s3rver, started here): the worker reads the dataset from the
// bucket as a stream and writes the result's parts there; the API streams them back in order.
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startTrainingWorker, type TrainingWorker } from '../../src/worker/main.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { trainAndSave } from '../helpers/trained-model.js';
import { textBody } from '../helpers/text-body.js';

let s3: S3Server;
let t: TestApp;
let worker: TrainingWorker;
let modelId: string;

beforeAll(async () => {
  s3 = await startS3Server();
  t = await createTestApp({ env: s3.env('batch/') });
  modelId = (await trainAndSave(t, 'default', 'iris.csv', { target: 'species', training: { epochs: 10 } }))
    .model.id;
  worker = startTrainingWorker(t.config, createLogger('silent', 'worker'));
}, 60_000);
afterAll(async () => {
  await worker?.close();
  await t?.close();
  await s3?.stop();
});

describe('batch predictions on S3', () => {
  it('when a file stored in the bucket is scored, then the result of several parts comes back whole and in order', async () => {
    const rows = 25_000; // three parts: 10,000 + 10,000 + 5,000
    const lines = ['id,sepal_length,sepal_width,petal_length,petal_width'];
    for (let i = 0; i < rows; i++)
      lines.push(`s${i},${4 + (i % 40) / 10},3.0,${1 + (i % 60) / 10},${(i % 25) / 10}`);
    const api = () => request(t.app.server);
    const upload = await api()
      .post('/v1/datasets?name=s3')
      .set('content-type', 'text/csv')
      .send(lines.join('\n'));
    expect(upload.status).toBe(201);
    const job = await api()
      .post('/v1/batch-predictions')
      .send({ modelId, datasetId: upload.body.id, keepColumns: ['id'] });
    expect(job.status).toBe(202);
    const deadline = Date.now() + 120_000;
    let done = job.body;
    while (!['succeeded', 'failed', 'cancelled'].includes(done.status)) {
      if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(done)}`);
      await new Promise((r) => setTimeout(r, 100));
      done = (await api().get(`/v1/batch-predictions/${job.body.id}`)).body;
    }
    expect(done.status).toBe('succeeded');
    expect(done.progress).toEqual({ rows, totalRows: rows, chunks: 3 });
    const res = await api().get(`/v1/batch-predictions/${job.body.id}/result`).buffer(true).parse(textBody);
    expect(res.status).toBe(200);
    const out = parse(res.body as string) as string[][];
    expect(out.length).toBe(rows + 1);
    expect(out.slice(1).map((r) => r[0])).toEqual(Array.from({ length: rows }, (_, i) => `s${i}`));
  }, 180_000);
});
