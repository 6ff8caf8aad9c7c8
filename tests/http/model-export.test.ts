// Export and import over HTTP: a JSON export imported into a fresh deployment (its own Redis prefix
// and data directory) predicts exactly the same; the ONNX export runs in ONNX Runtime and agrees
// with /predict; tenants, idempotency and bad documents behave as the contract says.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { InferenceSession } from 'onnxruntime-node';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { FIXTURES, onnxFeeds, trainAndSave } from '../helpers/trained-model.js';

const ACME = { authorization: 'Bearer key-acme' };
const GLOBEX = { authorization: 'Bearer key-globex' };
const ENV = { API_KEYS: 'acme:key-acme,globex:key-globex' };

describe('model export and import', () => {
  let t: TestApp;
  let fresh: TestApp;
  let loans: Awaited<ReturnType<typeof trainAndSave>>;
  let friedman: Awaited<ReturnType<typeof trainAndSave>>;
  let embedded: Awaited<ReturnType<typeof trainAndSave>>;
  let foldsWithBins: Awaited<ReturnType<typeof trainAndSave>>;
  let mixedBins: Awaited<ReturnType<typeof trainAndSave>>;
  let loanRows: Record<string, string>[];

  beforeAll(async () => {
    t = await createTestApp({ env: ENV });
    fresh = await createTestApp({ env: ENV });
    loans = await trainAndSave(t, 'acme', 'loans.csv', { target: 'decision', training: { epochs: 5 } });
    friedman = await trainAndSave(t, 'acme', 'friedman1.csv', { target: 'y', training: { epochs: 5 } });
    embedded = await trainAndSave(t, 'acme', 'friedman1.csv', {
      target: 'y',
      model: { embedding: { type: 'periodic' } },
      training: { epochs: 3 },
    });
    foldsWithBins = await trainAndSave(t, 'acme', 'loans.csv', {
      target: 'decision',
      model: { embedding: { type: 'piecewiseLinear' } },
      training: { crossValidation: { folds: 3 }, epochs: 4 },
    });
    mixedBins = await trainAndSave(t, 'acme', 'loans.csv', {
      target: 'decision',
      model: { embedding: { type: 'piecewiseLinear', members: 'alternate' } },
      training: { crossValidation: { folds: 3 }, epochs: 4 },
    });
    const text = await readFile(join(FIXTURES, 'loans.csv'), 'utf8');
    loanRows = (parse(text, { columns: true }) as Record<string, string>[]).slice(0, 300);
  });
  afterAll(async () => {
    await t?.close();
    await fresh?.close();
  });

  async function predict(app: TestApp, id: string, rows: Record<string, unknown>[]) {
    const res = await request(app.app.server).post(`/v1/models/${id}/predict`).set(ACME).send({ rows });
    expect(res.status).toBe(200);
    return res.body.predictions;
  }

  it('when a JSON export is imported on a fresh deployment, then its predictions are identical', async () => {
    for (const { model } of [loans, friedman, embedded, foldsWithBins, mixedBins]) {
      const exported = await request(t.app.server).get(`/v1/models/${model.id}/export`).set(ACME);
      expect(exported.status).toBe(200);
      expect(exported.body).toMatchObject({ format: 'backprop.model', version: 1, model: { id: model.id } });
      const imported = await request(fresh.app.server)
        .post('/v1/models/import')
        .set(ACME)
        .send(exported.body);
      expect(imported.status).toBe(201);
      expect(imported.body.id).not.toBe(model.id);
      expect(imported.body).toMatchObject({
        task: model.task,
        classes: model.classes,
        features: model.features,
        metrics: model.metrics,
        importedFrom: { modelId: model.id },
      });
      const rows = model.task === 'regression' ? [{ x1: 0.3, x2: 0.9, x4: 'NA' }, { x5: null }] : loanRows;
      expect(await predict(fresh, imported.body.id, rows)).toEqual(await predict(t, model.id, rows));
      const again = await request(fresh.app.server).get(`/v1/models/${imported.body.id}/export`).set(ACME);
      expect(again.body.network).toEqual(exported.body.network);
      expect(again.body.encoder).toEqual(exported.body.encoder);
    }
  });

  it('when another tenant asks for the export, then 404; an import belongs to the importing tenant', async () => {
    const foreign = await request(t.app.server).get(`/v1/models/${loans.model.id}/export`).set(GLOBEX);
    expect(foreign.status).toBe(404);
    expect(foreign.headers['content-type']).toMatch(/problem\+json/);
    const doc = (await request(t.app.server).get(`/v1/models/${loans.model.id}/export`).set(ACME)).body;
    const imported = await request(t.app.server).post('/v1/models/import').set(GLOBEX).send(doc);
    expect(imported.status).toBe(201);
    expect(imported.headers.location).toBe(`/v1/models/${imported.body.id}`);
    expect((await request(t.app.server).get(imported.headers.location).set(GLOBEX)).status).toBe(200);
    expect((await request(t.app.server).get(`/v1/models/${imported.body.id}`).set(ACME)).status).toBe(404);
    expect((await request(t.app.server).get(`/v1/models/${imported.body.id}`).set(GLOBEX)).status).toBe(200);
  });

  it('when an import is retried with the same Idempotency-Key, then one model is created', async () => {
    const doc = (await request(t.app.server).get(`/v1/models/${friedman.model.id}/export`).set(ACME)).body;
    const send = () =>
      request(fresh.app.server)
        .post('/v1/models/import')
        .set(GLOBEX)
        .set('idempotency-key', 'imp-1')
        .send(doc);
    const [a, b] = [await send(), await send()];
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.body.id).toBe(a.body.id);
    expect(b.headers.location).toBe(`/v1/models/${a.body.id}`);
  });

  it('when the document is malformed or its parts do not fit, then 400 or 422 names the problem', async () => {
    const doc = (await request(t.app.server).get(`/v1/models/${loans.model.id}/export`).set(ACME)).body;
    const noFormat = await request(t.app.server)
      .post('/v1/models/import')
      .set(ACME)
      .send({ ...doc, format: 'other' });
    expect(noFormat.status).toBe(400);
    expect(noFormat.body.detail).toMatch(/format/);
    const other = (await request(t.app.server).get(`/v1/models/${friedman.model.id}/export`).set(ACME)).body;
    const mixed = await request(t.app.server)
      .post('/v1/models/import')
      .set(ACME)
      .send({ ...doc, network: other.network });
    expect(mixed.status).toBe(422);
    expect(mixed.body.detail).toMatch(/inputs/);
    const badWeights = await request(t.app.server)
      .post('/v1/models/import')
      .set(ACME)
      .send({ ...doc, network: { ...doc.network, params: doc.network.params.slice(1) } });
    expect(badWeights.status).toBe(422);
  });

  it('when a network has numeric embeddings, then its JSON export carries them and ONNX export answers 422 naming them', async () => {
    const exported = await request(t.app.server).get(`/v1/models/${embedded.model.id}/export`).set(ACME);
    expect(exported.status).toBe(200);
    // friedman1 has ten numeric inputs, each embedded with the schema's defaults.
    expect(exported.body.network.spec.embedding).toEqual({
      type: 'periodic',
      features: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      frequencies: 16,
      size: 3,
      sigma: 0.1,
    });
    const onnx = await request(t.app.server)
      .get(`/v1/models/${embedded.model.id}/export?format=onnx`)
      .set(ACME);
    expect(onnx.status).toBe(422);
    expect(JSON.stringify(onnx.body)).toMatch(/numeric embeddings/);
  });

  async function expectOnnxAgreesWithPredict(model: typeof loans.model) {
    const res = await request(t.app.server)
      .get(`/v1/models/${model.id}/export?format=onnx`)
      .set(ACME)
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    const session = await InferenceSession.create(new Uint8Array(res.body as Buffer));
    const rows = loanRows.slice(0, 50);
    const out = await session.run(onnxFeeds(model.features, rows));
    const expected = await predict(t, model.id, rows);
    const probs = out.probabilities.data as Float32Array;
    const classes = model.classes!;
    expected.forEach((p: { label: string; probabilities: Record<string, number> }, r: number) => {
      expect((out.label.data as string[])[r]).toBe(p.label);
      classes.forEach((c, k) =>
        expect(Math.abs(probs[r * classes.length + k] - p.probabilities[c])).toBeLessThan(1e-5),
      );
    });
  }

  it('when exported as ONNX, then ONNX Runtime gives the probabilities and labels of /predict', async () => {
    await expectOnnxAgreesWithPredict(loans.model);
    const bad = await request(t.app.server).get(`/v1/models/${loans.model.id}/export?format=pmml`).set(ACME);
    expect(bad.status).toBe(400);
  });

  it('when a cross-validated ensemble with piecewise-linear encoding is exported as ONNX, then ONNX Runtime agrees with /predict', async () => {
    const exported = await request(t.app.server).get(`/v1/models/${foldsWithBins.model.id}/export`).set(ACME);
    expect(exported.status).toBe(200);
    expect(exported.body.network.format).toBe('backprop.ensemble');
    expect(exported.body.network.members).toHaveLength(3);
    expect(exported.body.network.members[0].spec.embedding.type).toBe('piecewiseLinear');
    await expectOnnxAgreesWithPredict(foldsWithBins.model);
  });

  it('when an ensemble whose embedding members alternate is exported as ONNX, then its plain and encoded networks agree with /predict', async () => {
    const exported = await request(t.app.server).get(`/v1/models/${mixedBins.model.id}/export`).set(ACME);
    expect(exported.status).toBe(200);
    const members = exported.body.network.members as { spec: { embedding?: { type: string } } }[];
    expect(members.map((m) => m.spec.embedding?.type ?? 'none')).toEqual([
      'piecewiseLinear',
      'none',
      'piecewiseLinear',
    ]);
    await expectOnnxAgreesWithPredict(mixedBins.model);
  });
});
