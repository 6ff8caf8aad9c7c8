// POST /v1/tuning-jobs: a retry with the same Idempotency-Key answers the first search instead of
// starting a second one, and ?dryRun=true (not available for searches yet) starts nothing.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('tuning job submit', () => {
  let t: TestApp;
  let iris: string;
  beforeAll(async () => {
    t = await createTestApp();
    const csv = await readFile(join(import.meta.dirname, '..', 'fixtures', 'iris.csv'), 'utf8');
    iris = (
      await request(t.app.server).post('/v1/datasets?name=iris').set('content-type', 'text/csv').send(csv)
    ).body.id as string;
  });
  afterAll(async () => t?.close());

  const list = async () => (await request(t.app.server).get('/v1/tuning-jobs')).body.data as { id: string }[];

  it('when the same Idempotency-Key and body are sent twice, then one search exists and the retry replays it', async () => {
    const body = { datasetId: iris, target: 'species', maxTrials: 2 };
    const first = await request(t.app.server)
      .post('/v1/tuning-jobs')
      .set('idempotency-key', 'tune-once-1')
      .send(body);
    expect(first.status).toBe(202);
    const again = await request(t.app.server)
      .post('/v1/tuning-jobs')
      .set('idempotency-key', 'tune-once-1')
      .send(body);
    expect(again.status).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect((await list()).filter((j) => j.id === first.body.id)).toHaveLength(1);
    expect(await list()).toHaveLength(1);
  });

  it('when dryRun=true is asked of a search, then 400 and no search is started', async () => {
    const before = (await list()).length;
    const res = await request(t.app.server)
      .post('/v1/tuning-jobs?dryRun=true')
      .send({ datasetId: iris, target: 'species', maxTrials: 2 });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/dryRun/);
    expect((await list()).length).toBe(before);
  });
});
