// /v1/tuning-jobs through HTTP with two real workers over real Redis: a 30-trial random search with
// ASHA finishes with a leaderboard (every trial once, the default job's parameters among them) and
// the refit of its best trial, whose model beats the default job's on the held-out test split of a
// table where the network's size matters; the same trial parameters for the same seed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rungEpochs, sampleTrials, promotable, type Trial } from '../../src/domain/tuning.js';
import { createLogger } from '../../src/logger.js';
import { startTrainingWorker, type TrainingWorker } from '../../src/worker/main.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { interactionsCsv } from '../helpers/interactions.js';

const IRIS = join(import.meta.dirname, '..', 'fixtures', 'iris.csv');

/** What these tests read of a tuning job. */
interface TuningView {
  id: string;
  status: string;
  stage: string;
  modelId: string | null;
  leaderboard: Trial[];
  refit: { trial: number; jobId: string | null; state: string; modelId: string | null } | null;
  test?: Record<string, unknown> | null;
  stopReason?: string | null;
  refitSkipped?: string | null;
  trialsStarted: number;
}

describe('search pieces', () => {
  it('when rungs are planned, then each is the next divided by the reduction factor', () => {
    expect(rungEpochs(54, 3)).toEqual([2, 6, 18, 54]);
    expect(rungEpochs(27, 3)).toEqual([3, 9, 27]);
    expect(rungEpochs(1, 3)).toEqual([1]);
    // No more rungs than the trials can fill: the top rung needs η^(rungs−1) ≤ maxTrials.
    expect(rungEpochs(243, 3, 30)).toEqual([9, 27, 81, 243]); // 27 ≤ 30
    expect(rungEpochs(243, 3, 20)).toEqual([27, 81, 243]); // 9 ≤ 20 < 27
    expect(rungEpochs(243, 3, 6)).toEqual([81, 243]);
    expect(rungEpochs(243, 3, 2)).toEqual([243]);
  });

  it('when trials are drawn twice with one seed, then they are the same, and inside the space', () => {
    const space = { depth: { min: 2, max: 2 }, batchSize: [8] };
    const a = sampleTrials(space, 7, 20);
    expect(sampleTrials(space, 7, 20)).toEqual(a);
    expect(sampleTrials(space, 8, 20)).not.toEqual(a);
    for (const t of a) {
      expect(t.layers).toHaveLength(2);
      expect(t.batchSize).toBe(8);
      expect(t.learningRate).toBeGreaterThanOrEqual(1e-4);
      expect(t.learningRate).toBeLessThanOrEqual(3e-2);
      expect(t.dropout).toBeGreaterThanOrEqual(0);
      expect(t.dropout).toBeLessThanOrEqual(0.3);
    }
    // Dropout is searched: some trials have none, some have some.
    expect(a.some((t) => t.dropout === 0)).toBe(true);
    expect(a.some((t) => (t.dropout ?? 0) > 0)).toBe(true);
    const fixed = sampleTrials({ dropout: { min: 0.2, max: 0.2 } }, 7, 5);
    expect(fixed.map((t) => t.dropout)).toEqual([0.2, 0.2, 0.2, 0.2, 0.2]);
  });

  it('when 6 trials completed rung 0 with η = 3, then the best 2 (by validation loss) are promotable', () => {
    const trial = (index: number, loss: number, rung = 0): Trial => ({
      index,
      params: { layers: [8], learningRate: 0.01, weightDecay: 0, batchSize: 16, scaling: 'standardize' },
      rung,
      state: rung === 0 ? 'completed' : 'running',
      jobId: `job_${index}`,
      rungMetrics: [loss],
      modelId: null,
    });
    const board = [trial(0, 0.5), trial(1, 0.2), trial(2, 0.9), trial(3, 0.1), trial(4, 0.7), trial(5, 0.3)];
    expect(promotable(board, 0, 3, 'valLoss').map((t) => t.index)).toEqual([3, 1]);
    // Trial 3 already moved up: only trial 1 is left to promote.
    board[3] = trial(3, 0.1, 1);
    expect(promotable(board, 0, 3, 'valLoss').map((t) => t.index)).toEqual([1]);
    expect(promotable(board.slice(0, 2), 0, 3, 'valLoss')).toEqual([]);
  });
});

describe('tuning jobs', () => {
  let t: TestApp;
  const workers: TrainingWorker[] = [];
  let datasetId: string;
  let interactions: string;
  beforeAll(async () => {
    t = await createTestApp({ env: { MAX_ACTIVE_JOBS_PER_TENANT: '1000' } });
    const upload = async (csv: string) =>
      (await request(t.app.server).post('/v1/datasets').set('content-type', 'text/csv').send(csv)).body
        .id as string;
    datasetId = await upload(await readFile(IRIS, 'utf8'));
    interactions = await upload(interactionsCsv(2000, 1));
    for (let i = 0; i < 2; i++) workers.push(startTrainingWorker(t.config, createLogger('silent', 'worker')));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await t?.close();
  });

  it('when the request names an unknown column, then 422 before anything starts', async () => {
    const res = await request(t.app.server).post('/v1/tuning-jobs').send({ datasetId, target: 'colour' });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('target');
  });

  it('when a 30-trial search runs on two workers, then it finishes with every trial once and a refit model whose test RMSE beats the default job', async () => {
    const started = Date.now();
    const created = await request(t.app.server)
      .post('/v1/tuning-jobs')
      .send({ datasetId: interactions, target: 'y', maxTrials: 30, parallelTrials: 4, seed: 3 });
    expect(created.status).toBe(202);
    expect(created.body.rungEpochs).toEqual([9, 27, 81, 243]); // the default top rung, η = 3
    expect(created.body).toMatchObject({ stage: 'trials', refit: null });
    const id = created.body.id as string;
    // The default job (the quality recipe: 5 folds, piecewise-linear encoding) on the same data and seed.
    const dfltCreated = await request(t.app.server)
      .post('/v1/training-jobs')
      .send({ datasetId: interactions, target: 'y', training: { seed: 3 } });

    let job = created.body;
    const stages = new Set<string>();
    while (!['succeeded', 'failed', 'cancelled'].includes(job.status)) {
      if (Date.now() - started > 840_000)
        throw new Error(`search still ${job.status}: ${job.trialsStarted} trials`);
      await new Promise((r) => setTimeout(r, 250));
      job = (await request(t.app.server).get(`/v1/tuning-jobs/${id}`)).body;
      stages.add(job.stage);
    }
    const wallSeconds = (Date.now() - started) / 1000;
    console.log(`30-trial search with its refit: ${wallSeconds.toFixed(1)} s`);
    expect(job.status).toBe('succeeded');
    expect(job.stage).toBe('done');
    expect(job.trialsStarted).toBe(30);
    const indexes = job.leaderboard.map((x: Trial) => x.index).sort((a: number, b: number) => a - b);
    expect(indexes).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const top = job.leaderboard[0] as Trial;
    expect(job.bestTrial).toBe(top.index);
    expect(top.rung).toBe(3);
    // ASHA stops most trials early: fewer complete each higher rung (asynchronous promotion may let
    // a little more than a third through, since early decisions see fewer results).
    const reached = (k: number) => job.leaderboard.filter((x: Trial) => x.rungMetrics.length > k).length;
    expect(reached(0)).toBe(30);
    expect(reached(1)).toBeLessThan(reached(0) / 2);
    expect(reached(2)).toBeLessThan(reached(1));
    expect(job.leaderboard.filter((x: Trial) => x.state === 'stopped').length).toBeGreaterThan(0);
    // Trial 0 is the default job's parameters (4 inputs: a 16-8 network, Adam at 1e-3, batch 32),
    // promoted at every rung whatever its rank; the best trial validated better at the top rung.
    const baseline = job.leaderboard.find((x: Trial) => x.index === 0) as Trial;
    expect(job.leaderboard.filter((x: Trial) => x.baseline)).toEqual([baseline]);
    expect(baseline.params).toMatchObject({ layers: [16, 8], learningRate: 1e-3, batchSize: 32 });
    expect(baseline.rungMetrics).toHaveLength(4);
    expect(top.rungMetrics[3]).toBeLessThanOrEqual(baseline.rungMetrics[3]);

    // The refit: the best trial's parameters trained as the default recipe trains, as its own run.
    expect(job.refit).toMatchObject({ trial: top.index, state: 'succeeded', folds: 5, error: null });
    expect(job).toMatchObject({ stopReason: 'completed', refitSkipped: null });
    expect(job.modelId).toBe(job.refit.modelId);
    const refitRun = (await request(t.app.server).get(`/v1/training-jobs/${job.refit.jobId}`)).body;
    expect(refitRun).toMatchObject({ status: 'succeeded', tuningJobId: id, tuningRole: 'refit' });
    expect(refitRun.spec.training.crossValidation).toEqual({ folds: 5 });
    expect(refitRun.spec.model.embedding).toEqual({ type: 'piecewiseLinear', bins: 8 });
    expect(refitRun.spec.model.layers.map((l: { units: number }) => l.units)).toEqual(top.params.layers);
    expect(refitRun.spec.training.optimizer.learningRate).toBe(top.params.learningRate);
    expect(refitRun.spec.training.epochs).toBe(500); // the default job's
    const bestRun = (await request(t.app.server).get(`/v1/training-jobs/${top.jobId}`)).body;
    expect(bestRun).toMatchObject({ tuningJobId: id, tuningRole: 'trial' });
    const model = (await request(t.app.server).get(`/v1/models/${job.modelId}`)).body;
    expect(job.test).toEqual(model.metrics.test);
    expect(model).toMatchObject({ tuningJobId: id, tuningRole: 'refit' });
    expect(model.metrics.folds).toHaveLength(5);
    // Stages as the GET shows them while it runs (polled every 250 ms: the refit may be missed).
    expect(stages.has('trials')).toBe(true);

    // Every model of the search names it; the default listing keeps only the refit (the result).
    const searchModels = (await request(t.app.server).get(`/v1/models?tuningJobId=${id}&limit=100`)).body
      .data;
    const runs = job.leaderboard.reduce((n: number, x: Trial) => n + x.rungMetrics.length, 0);
    expect(searchModels.length).toBe(runs + 1);
    for (const m of searchModels) expect(m.tuningJobId).toBe(id);
    expect(searchModels.filter((m: { tuningRole: string }) => m.tuningRole === 'refit')).toHaveLength(1);
    const listed = (await request(t.app.server).get('/v1/models?limit=100')).body.data.map(
      (m: { id: string }) => m.id,
    );
    expect(listed).toContain(job.modelId);
    expect(listed).not.toContain(top.modelId);

    let dflt = dfltCreated.body;
    while (dflt.status !== 'succeeded') {
      expect(['queued', 'running']).toContain(dflt.status);
      await new Promise((r) => setTimeout(r, 500));
      dflt = (await request(t.app.server).get(`/v1/training-jobs/${dflt.id}`)).body;
    }
    const dfltModel = (await request(t.app.server).get(`/v1/models/${dflt.modelId}`)).body;
    const bestTrialModel = (await request(t.app.server).get(`/v1/models/${top.modelId}`)).body;
    const figures = (m: { metrics: { test: { rmse: number }; validation: { rmse: number } } }) =>
      `test RMSE ${m.metrics.test.rmse.toFixed(4)}, cross-validated RMSE ${m.metrics.validation.rmse.toFixed(4)}`;
    console.log(`search (refit): ${figures(model)}`);
    console.log(`default job:    ${figures(dfltModel)}`);
    // Issue 11: no trial run is scored on the test split; the search's result alone is.
    expect(bestTrialModel).toMatchObject({
      metrics: { test: null },
      baselines: null,
      featureImportance: null,
    });
    for (const m of searchModels.filter((x: { tuningRole: string }) => x.tuningRole === 'trial')) {
      expect(m).toMatchObject({ metrics: { test: null }, baselines: null, featureImportance: null });
    }
    expect(model.baselines).not.toBeNull();
    expect(model.featureImportance).not.toBeNull();
    // Asserted: on the 300 test rows (the same rows for both: the same seed and test fraction), which
    // no trial and neither model trained or validated on, the search's model has a lower RMSE than
    // the default job's. Both are 5-fold ensembles with the encoding over the same folds, trained
    // for the same epochs with the same early stopping, so they differ only in the parameters the
    // search chose. On this table a 16-8 network learns the products inside the sine coarsely
    // (README "Hyperparameter search": the search won on the test split for every seed measured,
    // by a wide margin). It can fail when the search keeps the default's parameters (then both
    // models are the same and tie) or when its choice, better on the trials' validation rows,
    // generalises worse, which a smaller table or a search space without wider networks invites.
    expect(model.metrics.test.rmse).toBeLessThan(dfltModel.metrics.test.rmse);
    // And on the non-test rows, each predicted by the networks that did not train on it.
    expect(model.metrics.validation.rmse).toBeLessThan(dfltModel.metrics.validation.rmse);
    expect(dfltModel.metrics.folds).toHaveLength(5);
    expect(model.metrics.folds.map((f: { rows: number }) => f.rows)).toEqual(
      dfltModel.metrics.folds.map((f: { rows: number }) => f.rows),
    );

    const again = await request(t.app.server).post(`/v1/tuning-jobs/${id}/cancel`);
    expect(again.status).toBe(409);
  }, 900_000);

  /** Polls the search every `ms` until `done` holds of it (or it is final), within `timeoutMs`. */
  async function pollSearch(id: string, done: (s: TuningView) => boolean, ms = 50, timeoutMs = 240_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = (await request(t.app.server).get(`/v1/tuning-jobs/${id}`)).body as TuningView;
      if (done(s) || ['succeeded', 'failed', 'cancelled'].includes(s.status)) return s;
      if (Date.now() > deadline) throw new Error(`search ${id} still ${s.status} at stage ${s.stage}`);
      await new Promise((r) => setTimeout(r, ms));
    }
  }

  it('when a search runs out of maxRuntimeSeconds, then it says so: stopReason maxRuntime and the refit skipped for it', async () => {
    // 30 trials of up to 243 epochs on 2,000 rows, one at a time, cannot finish in 1 s.
    const created = await request(t.app.server).post('/v1/tuning-jobs').send({
      datasetId: interactions,
      target: 'y',
      maxTrials: 30,
      maxRuntimeSeconds: 1,
      parallelTrials: 1,
      seed: 4,
    });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ stopReason: null, refitSkipped: null });
    const done = await pollSearch(created.body.id, () => false, 100, 120_000);
    expect(done).toMatchObject({
      stage: 'done',
      refit: null,
      stopReason: 'maxRuntime',
      refitSkipped: 'maxRuntime',
    });
    expect(done.trialsStarted).toBeLessThan(30);
  }, 150_000);

  it('when a search is cancelled during its refit, then the refit run is cancelled and the search ends cancelled', async () => {
    const friedman = await request(t.app.server)
      .post('/v1/datasets')
      .set('content-type', 'text/csv')
      .send(await readFile(join(import.meta.dirname, '..', 'fixtures', 'friedman1.csv'), 'utf8'));
    // One trial of 30 epochs on 1,400 rows; its refit trains five such networks on 1,120 rows each
    // (with the encoding): several times the trial, long enough to be caught and cancelled.
    const created = await request(t.app.server)
      .post('/v1/tuning-jobs')
      .send({
        datasetId: friedman.body.id,
        target: 'y',
        maxTrials: 1,
        maxEpochs: 30,
        searchSpace: { depth: { min: 2, max: 2 }, width: { min: 128, max: 128 }, batchSize: [16] },
        seed: 5,
      });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    const refitting = await pollSearch(id, (s) => s.stage === 'refit');
    expect(refitting).toMatchObject({
      status: 'running',
      stage: 'refit',
      refit: { trial: 0, state: 'running' },
    });
    const cancelled = await request(t.app.server).post(`/v1/tuning-jobs/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    const done = await pollSearch(id, () => false);
    expect(done).toMatchObject({
      status: 'cancelled',
      stage: 'done',
      refit: { state: 'cancelled' },
      stopReason: 'cancelled',
      refitSkipped: null,
    });
    const run = (await request(t.app.server).get(`/v1/training-jobs/${refitting.refit!.jobId}`)).body;
    expect(run).toMatchObject({ status: 'cancelled', tuningJobId: id, tuningRole: 'refit', modelId: null });
    // The trial had finished: its model is what a cancelled search still points to.
    expect(done.modelId).toBe(done.leaderboard[0].modelId);
  }, 300_000);

  it('when refit is false, then the best trial model is the result and no refit runs', async () => {
    const created = await request(t.app.server)
      .post('/v1/tuning-jobs')
      .send({ datasetId, target: 'species', maxTrials: 3, maxEpochs: 9, refit: false, seed: 2 });
    expect(created.status).toBe(202);
    const done = await pollSearch(created.body.id, () => false, 200);
    expect(done).toMatchObject({
      status: 'succeeded',
      stage: 'done',
      refit: null,
      stopReason: 'completed',
      refitSkipped: 'disabled',
    });
    expect(done.modelId).toBe(done.leaderboard[0].modelId);
    const models = (await request(t.app.server).get(`/v1/models?tuningJobId=${created.body.id}`)).body.data;
    expect(models.map((m: { tuningRole: string }) => m.tuningRole)).toEqual(models.map(() => 'trial'));
    // Trial runs are not scored on the test split (issue 11), so neither is a result that is one.
    for (const m of models) expect(m).toMatchObject({ metrics: { test: null }, baselines: null });
    expect(done.test).toBeNull();
    // The job list leaves the search's runs out unless asked for them by tuningJobId.
    const runIds = done.leaderboard.map((x) => x.jobId);
    const own = await request(t.app.server).post('/v1/training-jobs').send({ datasetId, target: 'species' });
    expect(own.status).toBe(202);
    const listed = (await request(t.app.server).get('/v1/training-jobs?limit=100&history=none')).body.data;
    expect(listed.map((j: { id: string }) => j.id)).toContain(own.body.id);
    for (const j of listed) expect(j.tuningJobId).toBeUndefined();
    const runs = await request(t.app.server).get(`/v1/training-jobs?limit=100&tuningJobId=${done.id}`);
    expect(runs.status).toBe(200);
    const ids = runs.body.data.map((j: { id: string }) => j.id);
    for (const id of runIds) expect(ids).toContain(id);
    for (const j of runs.body.data) expect(j).toMatchObject({ tuningJobId: done.id, tuningRole: 'trial' });
    const none = await request(t.app.server).get('/v1/training-jobs?tuningJobId=tun_unknown');
    expect(none.body.data).toEqual([]);
    await request(t.app.server).post(`/v1/training-jobs/${own.body.id}/cancel`);
  }, 300_000);
});
