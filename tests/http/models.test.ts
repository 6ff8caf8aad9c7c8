// /v1/models: models trained here with the real training procedure on the fixtures, saved through
// the model store, then read, predicted with and deleted over HTTP.
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Encoder } from '../../src/data/index.js';
import type { Model } from '../../src/domain/schemas.js';
import { Sequential } from '../../src/engine/index.js';
import { dataPaths } from '../../src/storage/files.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { FIXTURES, trainAndSave } from '../helpers/trained-model.js';

const ACME = { authorization: 'Bearer key-acme' };
const GLOBEX = { authorization: 'Bearer key-globex' };

function parseCsvRows(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trim().split(/\r?\n/);
  const names = header.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i], v])));
}

describe('models', () => {
  let t: TestApp;
  let iris: Awaited<ReturnType<typeof trainAndSave>>;
  let friedman: Awaited<ReturnType<typeof trainAndSave>>;
  let loans: Awaited<ReturnType<typeof trainAndSave>>;
  let irisRows: Record<string, string>[];

  beforeAll(async () => {
    t = await createTestApp({ env: { API_KEYS: 'acme:key-acme,globex:key-globex' } });
    iris = await trainAndSave(t, 'acme', 'iris.csv', {
      target: 'species',
      training: { epochs: 150, optimizer: { type: 'adam', learningRate: 0.01 }, earlyStopping: false },
    });
    friedman = await trainAndSave(t, 'acme', 'friedman1.csv', { target: 'y', training: { epochs: 5 } });
    loans = await trainAndSave(t, 'acme', 'loans.csv', {
      target: 'has_mortgage',
      model: { binaryOutput: 'sigmoid' },
      training: { epochs: 5 },
    });
    irisRows = parseCsvRows(await readFile(join(FIXTURES, 'iris.csv'), 'utf8'));
  });
  afterAll(async () => t?.close());

  it('when a model is fetched or listed, then it is its record; another tenant gets 404', async () => {
    const got = await request(t.app.server).get(`/v1/models/${iris.model.id}`).set(ACME);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(iris.model);
    const list = await request(t.app.server).get('/v1/models?limit=2').set(ACME);
    expect(list.body.data.map((m: Model) => m.id)).toEqual([loans.model.id, friedman.model.id]);
    const next = await request(t.app.server)
      .get(`/v1/models?limit=2&cursor=${list.body.nextCursor}`)
      .set(ACME);
    expect(next.body).toEqual({ data: [iris.model], nextCursor: null });
    const foreign = await request(t.app.server).get(`/v1/models/${iris.model.id}`).set(GLOBEX);
    expect(foreign.status).toBe(404);
    expect(foreign.headers['content-type']).toMatch(/problem\+json/);
    expect((await request(t.app.server).get('/v1/models').set(GLOBEX)).body.data).toEqual([]);
    expect(
      (
        await request(t.app.server)
          .post(`/v1/models/${iris.model.id}/predict`)
          .set(GLOBEX)
          .send({ rows: [{}] })
      ).status,
    ).toBe(404);
  });

  it('when a model is trained, then it carries permutation importance by column and the baselines of its test split', async () => {
    const got = (await request(t.app.server).get(`/v1/models/${iris.model.id}`).set(ACME)).body;
    const names = got.featureImportance.map((f: { feature: string }) => f.feature);
    expect([...names].sort()).toEqual(['petal_length', 'petal_width', 'sepal_length', 'sepal_width']);
    // Iris is separated by its petals: one of them is the most important column.
    expect(names[0]).toMatch(/^petal_/);
    expect(got.featureImportance[0].mean).toBeGreaterThan(0.1);
    // The stratified test split has 8 rows of each class: the majority baseline is right on a third.
    expect(got.baselines.majority.accuracy).toBeCloseTo(1 / 3, 12);
    expect(got.metrics.test.accuracy).toBeGreaterThan(got.baselines.majority.accuracy);
    const reg = (await request(t.app.server).get(`/v1/models/${friedman.model.id}`).set(ACME)).body;
    expect(reg.baselines.mean.r2).toBeLessThanOrEqual(0);
    expect(reg.featureImportance).toHaveLength(10);
  });

  it('when explain is true, then each prediction has per-column contributions that sum to its output minus the baseline', async () => {
    const rows = irisRows.slice(0, 5).map(({ species: _species, ...features }) => features);
    const res = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict`)
      .set(ACME)
      .send({ rows, explain: true });
    expect(res.status).toBe(200);
    for (const p of res.body.predictions) {
      const e = p.explanation;
      expect(e.method).toBe('shapleySampling');
      expect(Object.keys(e.contributions).sort()).toEqual([
        'petal_length',
        'petal_width',
        'sepal_length',
        'sepal_width',
      ]);
      const sum = Object.values(e.contributions as Record<string, number>).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(p.probabilities[p.label] - e.baseline, 5);
    }
    const reg = await request(t.app.server)
      .post(`/v1/models/${friedman.model.id}/predict`)
      .set(ACME)
      .send({ rows: [{ x1: 0.9, x2: 0.1, x4: 0.7 }], explain: true });
    const [p] = reg.body.predictions;
    const sum = Object.values(p.explanation.contributions as Record<string, number>).reduce(
      (a, b) => a + b,
      0,
    );
    expect(sum).toBeCloseTo(p.value - p.explanation.baseline, 4);
    // x3, x5 … are absent, so they sit at the baseline: their contribution is exactly 0.
    expect(p.explanation.contributions.x3).toBe(0);
    const plain = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict`)
      .set(ACME)
      .send({ rows });
    expect(plain.body.predictions[0].explanation).toBeUndefined();
    const tooMany = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict`)
      .set(ACME)
      .send({ rows: irisRows.slice(0, 101), explain: true });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.detail).toMatch(/at most 100 rows/);
  });

  it('when iris rows are predicted, then labels match the species for nearly all rows and probabilities sum to 1', async () => {
    const rows = irisRows.map(({ species: _species, ...features }) => features);
    const res = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict`)
      .set(ACME)
      .send({ rows });
    expect(res.status).toBe(200);
    const predictions = res.body.predictions as Array<{
      label: string;
      probabilities: Record<string, number>;
    }>;
    expect(predictions).toHaveLength(150);
    let correct = 0;
    predictions.forEach((p, i) => {
      expect(Object.keys(p.probabilities).sort()).toEqual(['setosa', 'versicolor', 'virginica']);
      const sum = Object.values(p.probabilities).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
      const best = Object.entries(p.probabilities).sort((a, b) => b[1] - a[1])[0][0];
      expect(p.label).toBe(best);
      if (p.label === irisRows[i].species) correct++;
    });
    expect(correct / 150).toBeGreaterThan(0.9);
  });

  it('when a value has the wrong type, then 400 naming rows[i].column; unknown keys and missing values are fine', async () => {
    const res = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict`)
      .set(ACME)
      .send({ rows: [{ sepal_length: 5.1 }, { sepal_length: 'tall', sepal_width: 3 }] });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.body.errors).toEqual([{ path: 'rows[1].sepal_length', message: expect.any(String) }]);
    const lenient = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict`)
      .set(ACME)
      .send({ rows: [{ sepal_length: null, colour: 'blue' }] });
    expect(lenient.status).toBe(200);
    expect(lenient.body.predictions).toHaveLength(1);
  });

  it('when the body is not a predict request, then 400 naming the field', async () => {
    const res = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict`)
      .set(ACME)
      .send({ rows: [] });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('rows');
  });

  it('when a regression model predicts, then each value is the decoded network output', async () => {
    const rows = parseCsvRows(await readFile(join(FIXTURES, 'friedman1.csv'), 'utf8')).slice(0, 5);
    const res = await request(t.app.server)
      .post(`/v1/models/${friedman.model.id}/predict`)
      .set(ACME)
      .send({ rows });
    expect(res.status).toBe(200);
    const encoder = Encoder.fromJSON(friedman.artifact.encoder);
    const network = Sequential.fromJSON(
      friedman.artifact.network as Parameters<typeof Sequential.fromJSON>[0],
    );
    const out = network.predict(encoder.transformRecords(rows), rows.length);
    expect(res.body.predictions).toEqual(Array.from(out, (v) => ({ value: encoder.decodeValue(v) })));
  });

  it('when a binary model has one sigmoid output, then both classes get probabilities summing to 1', async () => {
    expect(loans.model.classes).toHaveLength(2);
    const rows = [
      {
        age: 40,
        income: 50000,
        employment: 'employed',
        region: 'east',
        debt_ratio: 0.2,
        decision: 'approve',
      },
    ];
    const res = await request(t.app.server)
      .post(`/v1/models/${loans.model.id}/predict`)
      .set(ACME)
      .send({ rows });
    expect(res.status).toBe(200);
    const p = res.body.predictions[0];
    expect(Object.keys(p.probabilities).sort()).toEqual([...loans.model.classes!].sort());
    const values = Object.values(p.probabilities) as number[];
    expect(values[0] + values[1]).toBeCloseTo(1, 6);
    expect(p.label).toBe(values[0] >= values[1] ? loans.model.classes![0] : loans.model.classes![1]);
  });

  it('when a model was predicted once, then later predictions come from the cache, not the file', async () => {
    const rows = [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }];
    const first = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict`)
      .set(ACME)
      .send({ rows });
    const file = dataPaths(t.config.DATA_DIR).model(iris.model.id);
    const saved = await readFile(file);
    await rm(file);
    const second = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict`)
      .set(ACME)
      .send({ rows });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    await import('node:fs/promises').then((fs) => fs.writeFile(file, saved));
  });

  it('when a model is deleted, then 204, its artifact is gone and it is 404 afterwards, also for predict', async () => {
    const file = dataPaths(t.config.DATA_DIR).model(friedman.model.id);
    await stat(file);
    expect((await request(t.app.server).delete(`/v1/models/${friedman.model.id}`).set(GLOBEX)).status).toBe(
      404,
    );
    expect((await request(t.app.server).delete(`/v1/models/${friedman.model.id}`).set(ACME)).status).toBe(
      204,
    );
    await expect(stat(file)).rejects.toThrow();
    expect((await request(t.app.server).get(`/v1/models/${friedman.model.id}`).set(ACME)).status).toBe(404);
    const predict = await request(t.app.server)
      .post(`/v1/models/${friedman.model.id}/predict`)
      .set(ACME)
      .send({ rows: [{ x1: 1 }] });
    expect(predict.status).toBe(404);
  });

  it('when predictions are asked for as CSV, then the lines carry the same labels and probabilities as the JSON answer', async () => {
    const rows = irisRows.slice(0, 20).map(({ species: _species, ...features }) => features);
    const json = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict`)
      .set(ACME)
      .send({ rows });
    const csv = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict.csv`)
      .set(ACME)
      .send({ rows });
    expect(csv.status, csv.text).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const [header, ...lines] = parse(csv.text) as string[][];
    const classes = iris.model.classes!;
    expect(header).toEqual(['label', ...classes.map((c) => `probability:${c}`)]);
    expect(lines).toHaveLength(20);
    lines.forEach((line, r) => {
      const p = json.body.predictions[r];
      expect(line[0]).toBe(p.label);
      classes.forEach((c, k) => expect(Number(line[k + 1])).toBe(p.probabilities[c]));
    });
    const regressor = await trainAndSave(t, 'acme', 'friedman1.csv', {
      target: 'y',
      training: { epochs: 2 },
    });
    const regression = await request(t.app.server)
      .post(`/v1/models/${regressor.model.id}/predict.csv`)
      .set(ACME)
      .send({ rows: [{ x1: 0.5 }] });
    const [valueHeader, valueLine] = parse(regression.text) as string[][];
    expect(valueHeader).toEqual(['value']);
    expect(Number.isFinite(Number(valueLine[0]))).toBe(true);
    const foreign = await request(t.app.server)
      .post(`/v1/models/${iris.model.id}/predict.csv`)
      .set(GLOBEX)
      .send({ rows });
    expect(foreign.status).toBe(404);
  });

  it('when class names from the uploaded file look like spreadsheet formulas, then the CSV answer neutralizes them', async () => {
    const risky = await trainAndSave(t, 'acme', 'formula-labels.csv', {
      target: 'outcome',
      training: { epochs: 30 },
    });
    const classes = risky.model.classes!;
    expect(classes.some((c) => c.startsWith('='))).toBe(true);
    const res = await request(t.app.server)
      .post(`/v1/models/${risky.model.id}/predict.csv`)
      .set(ACME)
      .send({
        rows: [
          { x: 0.1, signal: 'low' },
          { x: 2.2, signal: '+1' },
          { x: 4.3, signal: 'low' },
        ],
      });
    expect(res.status).toBe(200);
    const cells = (parse(res.text) as string[][]).flat();
    // No cell may start with a formula character; the risky names come back behind an apostrophe.
    expect(cells.filter((c) => /^[=+\-@\t\r]/.test(c))).toEqual([]);
    // A header cell starts with "probability:", which no spreadsheet reads as a formula.
    expect(cells).toContain('probability:=HYPERLINK("http://example.com";"x")');
    const labels = (parse(res.text) as string[][]).slice(1).map((l) => l[0]);
    for (const label of labels)
      expect(classes.map((c) => (/^[=+\-@]/.test(c) ? `'${c}` : c))).toContain(label);
  });

  it('when models come from a search, then they carry its id; trial runs are listed only under ?tuningJobId, and exports drop the link', async () => {
    // Three copies of the iris model as a search's runs would record them, one ms apart (newest last).
    const linked = async (tuningJobId: string, tuningRole: 'trial' | 'refit', ms: number) => {
      const model: Model = {
        ...iris.model,
        id: `mdl_tuning${tuningRole}${ms}`,
        createdAt: new Date(Date.now() + ms).toISOString(),
        tuningJobId,
        tuningRole,
      };
      await t.modelStore.save('acme', model, iris.artifact);
      return model;
    };
    const trialA = await linked('tun_a', 'trial', 1);
    const refitA = await linked('tun_a', 'refit', 2);
    const trialB = await linked('tun_b', 'trial', 3);
    const ids = async (query: string) =>
      ((await request(t.app.server).get(`/v1/models${query}`).set(ACME)).body.data as Model[]).map(
        (m) => m.id,
      );
    const all = await ids('?limit=100');
    expect(all).toContain(refitA.id);
    expect(all).not.toContain(trialA.id);
    expect(all).not.toContain(trialB.id);
    expect(all).toContain(iris.model.id);
    expect(await ids('?tuningJobId=tun_a')).toEqual([refitA.id, trialA.id]);
    expect(await ids('?tuningJobId=tun_b')).toEqual([trialB.id]);
    // Paged one at a time, the filter still walks past the models it leaves out.
    const first = await request(t.app.server).get('/v1/models?tuningJobId=tun_a&limit=1').set(ACME);
    expect(first.body.data.map((m: Model) => m.id)).toEqual([refitA.id]);
    const second = await request(t.app.server)
      .get(`/v1/models?tuningJobId=tun_a&limit=1&cursor=${first.body.nextCursor}`)
      .set(ACME);
    expect(second.body).toMatchObject({ data: [{ id: trialA.id, tuningRole: 'trial' }], nextCursor: null });
    expect(await ids('?tuningJobId=tun_none')).toEqual([]);
    // A trial model is still a model: fetched by id with its link; exported without it, so an
    // import elsewhere is an ordinary, listed model.
    const got = await request(t.app.server).get(`/v1/models/${trialA.id}`).set(ACME);
    expect(got.body).toMatchObject({ tuningJobId: 'tun_a', tuningRole: 'trial' });
    const exported = await request(t.app.server).get(`/v1/models/${trialA.id}/export?format=json`).set(ACME);
    expect(exported.status).toBe(200);
    expect(exported.body.model.id).toBe(trialA.id);
    expect(exported.body.model).not.toHaveProperty('tuningJobId');
    expect(exported.body.model).not.toHaveProperty('tuningRole');
    for (const m of [trialA, refitA, trialB])
      expect((await request(t.app.server).delete(`/v1/models/${m.id}`).set(ACME)).status).toBe(204);
  });
});
