// POST /v1/tuning-jobs: a retry with the same Idempotency-Key answers the first search instead of
// starting a second one, and ?dryRun=true reports what the search would run and starts nothing.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv } from '../../src/data/index.js';
import { TrainingSpecSchema } from '../../src/domain/schemas.js';
import { runTraining } from '../../src/domain/training.js';
import { searchBounds } from '../../src/domain/tuning-preflight.js';
import { sampleTrials } from '../../src/domain/tuning.js';
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

  it('when dryRun=true is asked of a search, then 200 with its rungs, trials and bounds, and nothing is started or queued', async () => {
    const before = (await list()).length;
    const keysBefore = (await t.redis.keys(`${t.config.REDIS_PREFIX}:*`)).sort();
    const body = { datasetId: iris, target: 'species', maxTrials: 9, maxEpochs: 27, seed: 5 };
    const res = await request(t.app.server).post('/v1/tuning-jobs?dryRun=true').send(body);
    expect(res.status).toBe(200);
    expect(res.body.dryRun).toBe(true);
    expect(res.body.rungEpochs).toEqual([3, 9, 27]);
    // The trials are the ones the real search would start: the default job's parameters (iris's
    // 16-8 network, Adam at 1e-3, batch 32, standardized), then 8 draws from the same seed.
    expect(res.body.trials[0]).toMatchObject({ layers: [16, 8], learningRate: 1e-3, batchSize: 32 });
    expect(res.body.trials.slice(1)).toEqual(JSON.parse(JSON.stringify(sampleTrials({}, 5, 8))));
    // Largest trial of the default space: 3 hidden layers of 128, 64, 32 units on 4 inputs, 3 classes:
    // (4·128 + 128) + (128·64 + 64) + (64·32 + 32) + (32·3 + 3) = 640 + 8256 + 2080 + 99 = 11075.
    expect(res.body.largestTrial.parameterCount).toBe(11075);
    expect(res.body.largestTrial.spec.training.epochs).toBe(27);
    // 9 trials at rung 0, ⌈9/3⌉ = 3 at rung 1, 1 at rung 2: 13 runs, 9·3 + 3·9 + 1·27 = 81 epochs.
    expect(res.body.bounds.trialRuns).toBe(13);
    expect(res.body.bounds.epochs).toBe(81);
    expect(searchBounds(9, [3, 9, 27], 3)).toEqual({ trialRuns: 13, epochs: 81 });
    expect(res.body.bounds.trainingSeconds).toBeGreaterThan(0);
    // The refit of that trial: the default recipe's 5 folds and 8-bin encoding, top-rung epochs; its
    // time is part of the bound.
    expect(res.body.refit.spec.training.crossValidation).toEqual({ folds: 5 });
    expect(res.body.refit.spec.model.embedding).toEqual({ type: 'piecewiseLinear', bins: 8 });
    // The refit trains the default job's 500 epochs (more than the top rung's 27).
    expect(res.body.refit.spec.training.epochs).toBe(500);
    // Its parameters are the 5 fold networks', each on 4 inputs plus 8 bins of each: 36 inputs,
    // (36·128 + 128) + (128·64 + 64) + (64·32 + 32) + (32·3 + 3) = 4736 + 8256 + 2080 + 99 = 15171.
    expect(res.body.refit.parameterCount).toBe(5 * 15171);
    expect(res.body.bounds.trainingSeconds).toBeGreaterThan(
      81 * res.body.largestTrial.estimate.secondsPerEpoch +
        res.body.refit.estimate.maxTrainingSeconds * 0.999,
    );
    const noRefit = await request(t.app.server)
      .post('/v1/tuning-jobs?dryRun=true')
      .send({ ...body, refit: false });
    expect(noRefit.body.refit).toBeNull();
    expect(noRefit.body.request.refit).toBe(false);
    expect((await list()).length).toBe(before);
    // Nothing stored: the tenant's keys are the same before and after.
    expect((await t.redis.keys(`${t.config.REDIS_PREFIX}:*`)).sort()).toEqual(keysBefore);
  });

  it('when the metric does not fit the task (r² of a classification), then 422 naming metric and nothing starts', async () => {
    const before = (await list()).length;
    for (const path of ['/v1/tuning-jobs', '/v1/tuning-jobs?dryRun=true']) {
      const res = await request(t.app.server)
        .post(path)
        .send({ datasetId: iris, target: 'species', metric: 'valR2', maxTrials: 3 });
      expect(res.status).toBe(422);
      expect(res.body.errors[0].path).toBe('metric');
      expect(res.body.detail).toContain('valAccuracy');
    }
    expect((await list()).length).toBe(before);
  });

  it('when the search space scales with minmax or standardize and a column range overflows float64, then 422 naming searchSpace.scaling', async () => {
    // max − min = 1.7e308 − (−1.7e308) is Infinity: the default space's minmax trials could not train.
    const csv = 'huge,x,y\n-1.7e308,1,a\n1.7e308,2,b\n5,3,a\n6,4,b\n7,5,a\n8,6,b\n';
    const ds = (await request(t.app.server).post('/v1/datasets').set('content-type', 'text/csv').send(csv))
      .body.id as string;
    const before = (await list()).length;
    for (const path of ['/v1/tuning-jobs', '/v1/tuning-jobs?dryRun=true']) {
      const res = await request(t.app.server).post(path).send({ datasetId: ds, target: 'y', maxTrials: 3 });
      expect(res.status).toBe(422);
      expect(res.body.errors[0].path).toBe('searchSpace.scaling');
      expect(res.body.detail).toMatch(/column "huge"/);
    }
    expect((await list()).length).toBe(before);
    const narrowed = await request(t.app.server)
      .post('/v1/tuning-jobs?dryRun=true')
      .send({ datasetId: ds, target: 'y', maxTrials: 3, searchSpace: { scaling: ['standardize'] } });
    expect(narrowed.status).toBe(422);
    expect(narrowed.body.detail).toMatch(/standardize scaling cannot scale column "huge"/);
    const without = await request(t.app.server)
      .post('/v1/tuning-jobs?dryRun=true')
      .send({
        datasetId: ds,
        target: 'y',
        features: ['x'],
        maxTrials: 3,
        searchSpace: { scaling: ['standardize'] },
      });
    expect(without.status).toBe(200);
  });

  it('when a search is dry-run, then the parameter counts of its largest trial and refit are those of the models they train', async () => {
    const csv = await readFile(join(import.meta.dirname, '..', 'fixtures', 'friedman1.csv'), 'utf8');
    const ds = (await request(t.app.server).post('/v1/datasets').set('content-type', 'text/csv').send(csv))
      .body.id as string;
    const res = await request(t.app.server)
      .post('/v1/tuning-jobs?dryRun=true')
      .send({ datasetId: ds, target: 'y', maxTrials: 3, maxEpochs: 9, seed: 5 });
    expect(res.status).toBe(200);
    // Each spec trained here for one epoch (the count does not depend on the epochs): the refit's 5
    // fold networks each see friedman1's 10 inputs plus 8 bins of each (every input continuous, so
    // every bin is kept), one network of the largest trial the 10 inputs alone.
    const table = await readCsv(csv, { maxColumns: 100, maxRows: 100_000, maxLineBytes: 1 << 16 });
    const trained = async (spec: unknown) => {
      const parsed = TrainingSpecSchema.parse(spec);
      const once = { ...parsed, training: { ...parsed.training, epochs: 1 } };
      return (await runTraining(table, once)).parameterCount;
    };
    expect(res.body.refit.parameterCount).toBe(await trained(res.body.refit.spec));
    expect(res.body.largestTrial.parameterCount).toBe(await trained(res.body.largestTrial.spec));
    // 5 · ((90·128 + 128) + (128·64 + 64) + (64·32 + 32) + (32 + 1)) = 5 · (11648 + 8256 + 2080 + 33).
    expect(res.body.refit.parameterCount).toBe(5 * 22017);
  });

  it('when searchSpace depth or width bounds are not integers, then 400 naming the bound and nothing starts', async () => {
    const before = (await list()).length;
    const cases: [object, string][] = [
      [{ depth: { min: 1.5, max: 2.5 } }, 'searchSpace.depth.min'],
      [{ depth: { min: 2, max: 2 }, width: { min: 2, max: 2.9 } }, 'searchSpace.width.max'],
    ];
    for (const [searchSpace, path] of cases) {
      for (const url of ['/v1/tuning-jobs', '/v1/tuning-jobs?dryRun=true']) {
        const res = await request(t.app.server)
          .post(url)
          .send({ datasetId: iris, target: 'species', searchSpace });
        expect(res.status).toBe(400);
        expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
      }
    }
    // A bound far past the range names the range, not the safe-integer limit of JavaScript numbers.
    const huge = await request(t.app.server)
      .post('/v1/tuning-jobs?dryRun=true')
      .send({ datasetId: iris, target: 'species', searchSpace: { width: { min: 2, max: 1e300 } } });
    expect(huge.status).toBe(400);
    const widthMax = (huge.body.errors as { path: string; message: string }[]).find(
      (e) => e.path === 'searchSpace.width.max',
    );
    expect(widthMax?.message).toMatch(/<=1024/);
    expect((await list()).length).toBe(before);
    // Integer bounds: every draw has depth 2 and a first layer of 2 or 3 units.
    const ok = await request(t.app.server)
      .post('/v1/tuning-jobs?dryRun=true')
      .send({
        datasetId: iris,
        target: 'species',
        searchSpace: { depth: { min: 2, max: 2 }, width: { min: 2, max: 3 } },
      });
    expect(ok.status).toBe(200);
    for (const trial of ok.body.trials as { layers: number[] }[]) {
      expect(trial.layers).toHaveLength(2);
      expect([2, 3]).toContain(trial.layers[0]);
    }
  });

  it('when maxRuntimeSeconds exceeds the job limit, then 422 naming maxRuntimeSeconds as for a training job', async () => {
    for (const url of ['/v1/tuning-jobs', '/v1/tuning-jobs?dryRun=true']) {
      const res = await request(t.app.server)
        .post(url)
        .send({ datasetId: iris, target: 'species', maxTrials: 2, maxRuntimeSeconds: 1e12 });
      expect(res.status).toBe(422);
      expect(res.body.errors[0].path).toBe('maxRuntimeSeconds');
      expect(res.body.detail).toMatch(/exceeds the limit of \d+/);
    }
    const job = await request(t.app.server)
      .post('/v1/training-jobs?dryRun=true')
      .send({ datasetId: iris, target: 'species', training: { maxRuntimeSeconds: 1e12 } });
    expect(job.status).toBe(422);
    expect(job.body.errors[0].path).toBe('training.maxRuntimeSeconds');
  });

  it('when a dry run names an unknown column, then the same 422 as a submit', async () => {
    const res = await request(t.app.server)
      .post('/v1/tuning-jobs?dryRun=true')
      .send({ datasetId: iris, target: 'colour' });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('target');
  });
});
