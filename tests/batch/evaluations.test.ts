// Evaluations through HTTP against the real Redis: a model scored on a new labelled dataset, with
// its metrics checked against the single-row predict endpoint on the same rows, and the baselines
// against values worked out by hand from the data.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/trained-model.js';
import { ACME, OTHER, createScoringApp, type ScoringApp } from './scoring-app.js';

let s: ScoringApp;
let irisModel: string;
let mpgModel: string;

beforeAll(async () => {
  s = await createScoringApp();
  ({ irisModel, mpgModel } = s);
}, 60_000);
afterAll(async () => {
  await s?.t.close();
});

const api = () => s.api();
const uploadCsv = (text: string) => s.uploadCsv(text);
const evaluate = (body: object, auth = ACME) => api().post('/v1/evaluations').set(auth).send(body);

describe('evaluations', () => {
  it('when a classifier is evaluated on new labelled rows, then its accuracy is that of the predict endpoint and the baselines are those of the class frequencies', async () => {
    // 40 setosa, 30 versicolor, 30 virginica from the fixture, plus a row without a target and one
    // of a class the model never saw: 100 rows scored, 2 skipped.
    const lines = (await readFile(join(FIXTURES, 'iris.csv'), 'utf8')).trim().split(/\r?\n/);
    const pick = [...lines.slice(1, 41), ...lines.slice(51, 81), ...lines.slice(101, 131)];
    const text = [lines[0], ...pick, '5.0,3.4,1.5,0.2,', '6.1,2.8,4.0,1.3,daisy'].join('\n');
    const res = await evaluate({ modelId: irisModel, datasetId: await uploadCsv(text) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const ev = res.body;
    expect(ev).toMatchObject({
      modelId: irisModel,
      task: 'classification',
      target: 'species',
      rows: 100,
      rowsSkipped: 2,
    });
    expect(res.headers.location).toBe(`/v1/evaluations/${ev.id}`);

    const rows = pick.map((l) => {
      const [a, b, c, d] = l.split(',');
      return { sepal_length: a, sepal_width: b, petal_length: c, petal_width: d };
    });
    const predicted = await api().post(`/v1/models/${irisModel}/predict`).set(ACME).send({ rows });
    expect(predicted.status, JSON.stringify(predicted.body).slice(0, 300)).toBe(200);
    const truth = pick.map((l) => l.split(',')[4]);
    const correct = predicted.body.predictions.filter(
      (p: { label: string }, i: number) => p.label === truth[i],
    ).length;
    expect(ev.metrics.accuracy).toBeCloseTo(correct / 100, 10);
    expect(ev.metrics.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(ev.metrics.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(100);
    expect(ev.metrics.perClass.map((c: { support: number }) => c.support)).toEqual([40, 30, 30]);
    // Majority: the frequencies (0.4, 0.3, 0.3) for every row, so the label is always setosa:
    // accuracy 40/100; log loss −(40 ln 0.4 + 60 ln 0.3)/100 (by hand).
    expect(ev.baselines.majority.accuracy).toBeCloseTo(0.4, 10);
    expect(ev.baselines.majority.logLoss).toBeCloseTo(-(40 * Math.log(0.4) + 60 * Math.log(0.3)) / 100, 5);
    expect(ev.baselines.stratified.accuracy).toBeGreaterThanOrEqual(0);
    expect(ev.baselines.stratified.accuracy).toBeLessThanOrEqual(1);
    expect(ev.metrics.accuracy).toBeGreaterThan(ev.baselines.majority.accuracy);

    expect((await api().get(`/v1/evaluations/${ev.id}`).set(ACME)).body).toEqual(ev);
    const list = await api().get('/v1/evaluations').set(ACME);
    expect(list.body.data.map((e: { id: string }) => e.id)).toContain(ev.id);
    expect((await api().get(`/v1/evaluations/${ev.id}`).set(OTHER)).status).toBe(404);
    expect((await api().get('/v1/evaluations').set(OTHER)).body.data).toEqual([]);
  });

  it('when a regression model is evaluated, then its RMSE is that of the predict endpoint and the mean baseline has R² 0', async () => {
    const text = await readFile(join(FIXTURES, 'cases/mpg-clean.csv'), 'utf8');
    const res = await evaluate({ modelId: mpgModel, datasetId: await uploadCsv(text) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const ev = res.body;
    const lines = text.trim().split('\n').slice(1);
    expect(ev.rows).toBe(lines.length);
    const rows = lines.map((l) => {
      const [weight, horsepower] = l.split(',');
      return { weight, horsepower };
    });
    const predicted = await api().post(`/v1/models/${mpgModel}/predict`).set(ACME).send({ rows });
    const sq = lines.reduce(
      (s, l, i) => s + (Number(l.split(',')[2]) - predicted.body.predictions[i].value) ** 2,
      0,
    );
    expect(ev.metrics.rmse).toBeCloseTo(Math.sqrt(sq / lines.length), 3);
    // Predicting the data's own mean leaves every deviation unexplained: R² = 1 − SS/SS = 0.
    expect(ev.baselines.mean.r2).toBeCloseTo(0, 5);
    // The median minimizes the mean absolute error among constants.
    expect(ev.baselines.median.mae).toBeLessThanOrEqual(ev.baselines.mean.mae + 1e-6);
    expect(ev.metrics.r2).toBeGreaterThan(ev.baselines.mean.r2);
  });

  it('when the dataset lacks the target or features, or the target has the wrong type, then 422 says so', async () => {
    const noTarget = await evaluate({
      modelId: irisModel,
      datasetId: await uploadCsv('sepal_length,sepal_width,petal_length,petal_width\n5,3,1,0.2\n'),
    });
    expect(noTarget.status).toBe(422);
    expect(noTarget.body.detail).toMatch(/no column "species"/);
    const noFeature = await evaluate({
      modelId: irisModel,
      datasetId: await uploadCsv('sepal_length,species\n5,setosa\n'),
    });
    expect(noFeature.status).toBe(422);
    expect(noFeature.body.detail).toMatch(/petal_length/);
    const textTarget = await evaluate({
      modelId: mpgModel,
      datasetId: await uploadCsv('weight,horsepower,mpg\n2712,83,high\n3323,120,low\n'),
    });
    expect(textTarget.status).toBe(422);
    expect(textTarget.body.detail).toMatch(/"mpg" is categorical.*needs numbers/);
    const unknownClasses = await evaluate({
      modelId: irisModel,
      datasetId: await uploadCsv(
        'sepal_length,sepal_width,petal_length,petal_width,species\n5,3,1,0.2,rose\n',
      ),
    });
    expect(unknownClasses.status).toBe(422);
    expect(unknownClasses.body.detail).toMatch(/no row of the dataset has a class the model knows/);
    const noModel = await evaluate({ modelId: 'mdl_nope', datasetId: 'ds_nope' });
    expect(noModel.status).toBe(422);
    expect(noModel.body.errors).toEqual([{ path: 'modelId', message: 'no such model' }]);
    expect((await evaluate({ modelId: irisModel })).status).toBe(400);
    const ds = await uploadCsv(
      'sepal_length,sepal_width,petal_length,petal_width,species\n5,3,1,0.2,setosa\n',
    );
    expect((await evaluate({ modelId: irisModel, datasetId: ds }, OTHER)).status).toBe(422);
  });
});
