// Job documents without their per-epoch history (?history=none) and the paginated history.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeJobService, type FakeJobService } from '../helpers/fake-jobs.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('training job history', () => {
  let t: TestApp;
  let fake: FakeJobService;
  let jobId: string;
  beforeAll(async () => {
    fake = createFakeJobService();
    t = await createTestApp({ jobs: fake });
    const res = await request(t.app.server)
      .post('/v1/training-jobs')
      .send({ datasetId: 'ds_x', target: 'y', training: { epochs: 300 } });
    jobId = res.body.id;
    const job = await fake.get('default', jobId);
    for (let epoch = 1; epoch <= 250; epoch++) job.history.push({ epoch, loss: 1 / epoch });
  });
  afterAll(async () => t?.close());

  it('when history=none, then the job and the list carry an empty history; by default the whole of it', async () => {
    const full = await request(t.app.server).get(`/v1/training-jobs/${jobId}`);
    expect(full.body.history).toHaveLength(250);
    const bare = await request(t.app.server).get(`/v1/training-jobs/${jobId}?history=none`);
    expect(bare.status).toBe(200);
    expect(bare.body.history).toEqual([]);
    expect(bare.body.progress).toEqual(full.body.progress);
    const list = await request(t.app.server).get('/v1/training-jobs?history=none');
    expect(list.body.data[0].history).toEqual([]);
    expect((await request(t.app.server).get('/v1/training-jobs?history=some')).status).toBe(400);
  });

  it('when the history is paged, then pages follow each other to the end and nextOffset is null there', async () => {
    const first = await request(t.app.server).get(`/v1/training-jobs/${jobId}/history?limit=100`);
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(250);
    expect(first.body.data.map((e: { epoch: number }) => e.epoch)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    expect(first.body.nextOffset).toBe(100);
    const last = await request(t.app.server).get(`/v1/training-jobs/${jobId}/history?offset=200&limit=100`);
    expect(last.body.data).toHaveLength(50);
    expect(last.body.data[0]).toEqual({ epoch: 201, loss: 1 / 201 });
    expect(last.body.nextOffset).toBeNull();
    const bad = await request(t.app.server).get(`/v1/training-jobs/${jobId}/history?limit=0`);
    expect(bad.status).toBe(400);
    expect((await request(t.app.server).get('/v1/training-jobs/job_none/history')).status).toBe(404);
  });
});
