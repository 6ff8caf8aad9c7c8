// /metrics scraped after a real job: the API's request histograms and prediction latency, the
// queue by state, and the worker's own counters, which reach the API through Redis.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startTrainingWorker, type TrainingWorker } from '../../src/worker/main.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

const IRIS = join(import.meta.dirname, '..', 'fixtures', 'iris.csv');
const EPOCHS = 12;

/** The value of one sample line (`name{labels} value`), or undefined when it is absent. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics after a job', () => {
  let t: TestApp;
  let worker: TrainingWorker;
  beforeAll(async () => {
    t = await createTestApp();
    worker = startTrainingWorker(t.config, createLogger('silent', 'worker'));
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  it('when a job has trained and a prediction was made, then the counters show them', async () => {
    const api = () => request(t.app.server);
    const ds = await api()
      .post('/v1/datasets?name=iris')
      .set('content-type', 'text/csv')
      .send(await readFile(IRIS, 'utf8'));
    const job = await api()
      .post('/v1/training-jobs')
      .send({ datasetId: ds.body.id, target: 'species', training: { epochs: EPOCHS, earlyStopping: false } });
    expect(job.status).toBe(202);
    let done = job.body;
    const deadline = Date.now() + 60_000;
    while (done.status !== 'succeeded' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      done = (await api().get(`/v1/training-jobs/${job.body.id}`)).body;
    }
    expect(done.status).toBe('succeeded');
    const predicted = await api()
      .post(`/v1/models/${done.modelId}/predict`)
      .send({ rows: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }] });
    expect(predicted.status).toBe(200);

    // The worker sends its metrics every 5 s; wait for a report that has seen the job finish.
    let text = '';
    const until = Date.now() + 15_000;
    do {
      const res = await api().get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      text = res.text;
      if (sample(text, 'backprop_jobs_finished_total', '{status="succeeded"}') === 1) break;
      await new Promise((r) => setTimeout(r, 500));
    } while (Date.now() < until);

    expect(sample(text, 'backprop_jobs_finished_total', '{status="succeeded"}')).toBe(1);
    expect(sample(text, 'backprop_training_epochs_total')).toBe(EPOCHS);
    expect(sample(text, 'backprop_job_duration_seconds_count', '{status="succeeded"}')).toBe(1);
    expect(sample(text, 'backprop_queue_wait_seconds_count')).toBe(1);
    expect(sample(text, 'backprop_workers')).toBe(1);
    expect(sample(text, 'backprop_worker_running_jobs')).toBe(0);
    expect(sample(text, 'backprop_queue_jobs', '{state="completed"}')).toBe(1);
    expect(sample(text, 'backprop_queue_jobs', '{state="waiting"}')).toBe(0);
    expect(sample(text, 'backprop_queue_oldest_wait_seconds')).toBe(0);
    // The upload was parsed on one thread, which stays loaded; nothing is parsing now.
    expect(sample(text, 'backprop_upload_parsers', '{state="alive"}')).toBe(1);
    expect(sample(text, 'backprop_upload_parsers', '{state="busy"}')).toBe(0);
    expect(sample(text, 'backprop_upload_parsers', '{state="queued"}')).toBe(0);
    expect(
      sample(
        text,
        'http_request_duration_seconds_count',
        '{method="POST",route="/v1/training-jobs",status_code="202"}',
      ),
    ).toBe(1);
    expect(sample(text, 'backprop_prediction_duration_seconds_count', '{format="json"}')).toBe(1);
    expect(sample(text, 'backprop_api_process_cpu_seconds_total')).toBeGreaterThan(0);
    // Routes are labelled by pattern, never by id (ids would make one series per resource).
    expect(text).not.toContain(job.body.id);
  });
});
