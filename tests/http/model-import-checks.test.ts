// POST /v1/models/import refuses an edited export that would load but predict wrongly: a class,
// feature or category listed twice, a NaN or infinite parameter, an output layer whose activation
// or width does not fit the encoder. Each is a 422 naming the place in the document; nothing is saved.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { trainAndSave } from '../helpers/trained-model.js';

const ACME = { authorization: 'Bearer key-acme' };
const ENV = { API_KEYS: 'acme:key-acme' };

type Doc = {
  encoder: { classes: string[]; features: { name: string; type: string; categories?: string[] }[] };
  network: { spec: { layers: { units: number; activation: string }[] }; params: string[] };
};

/** params[i] of the document with value `v` written at index `k` (base64 little-endian float32). */
function withParam(b64: string, k: number, v: number): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes.writeFloatLE(v, k * 4);
  return bytes.toString('base64');
}

describe('model import checks', () => {
  let t: TestApp;
  let doc: Doc;
  let loansDoc: Doc;

  beforeAll(async () => {
    t = await createTestApp({ env: ENV });
    const iris = await trainAndSave(t, 'acme', 'iris.csv', { target: 'species', training: { epochs: 2 } });
    const loans = await trainAndSave(t, 'acme', 'loans.csv', { target: 'decision', training: { epochs: 2 } });
    doc = (await request(t.app.server).get(`/v1/models/${iris.model.id}/export`).set(ACME)).body;
    loansDoc = (await request(t.app.server).get(`/v1/models/${loans.model.id}/export`).set(ACME)).body;
  });
  afterAll(async () => t?.close());

  const edited = (d: Doc, edit: (copy: Doc) => void): Doc => {
    const copy = structuredClone(d);
    edit(copy);
    return copy;
  };
  async function importing(body: Doc) {
    return request(t.app.server).post('/v1/models/import').set(ACME).send(body);
  }
  async function modelCount(): Promise<number> {
    return (await request(t.app.server).get('/v1/models?limit=100').set(ACME)).body.data.length;
  }

  it('when the export is unedited, then it imports (the checks refuse only what is wrong)', async () => {
    const res = await importing(doc);
    expect(res.status).toBe(201);
    expect(res.body.classes).toEqual(['setosa', 'versicolor', 'virginica']);
  });

  it('when a class is listed twice, then 422 naming the class and where', async () => {
    const before = await modelCount();
    const res = await importing(edited(doc, (d) => (d.encoder.classes = ['setosa', 'setosa', 'virginica'])));
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.body.detail).toContain('classes.1');
    expect(res.body.detail).toContain('the class "setosa" is listed twice');
    expect(await modelCount()).toBe(before);
  });

  it('when a feature or a category is listed twice, then 422 naming it', async () => {
    const twiceFeature = await importing(
      edited(
        doc,
        (d) => (d.encoder.features[1] = { ...d.encoder.features[1], name: d.encoder.features[0].name }),
      ),
    );
    expect(twiceFeature.status).toBe(422);
    expect(twiceFeature.body.detail).toContain('the feature "sepal_length" is listed twice');
    const categorical = loansDoc.encoder.features.findIndex(
      (f) => f.type === 'categorical' && (f.categories?.length ?? 0) >= 2,
    );
    expect(categorical).toBeGreaterThanOrEqual(0);
    const twiceCategory = await importing(
      edited(loansDoc, (d) => {
        const cats = d.encoder.features[categorical].categories!;
        cats[1] = cats[0];
      }),
    );
    expect(twiceCategory.status).toBe(422);
    expect(twiceCategory.body.detail).toMatch(/the category ".*" of ".*" is listed twice/);
  });

  it('when a parameter is NaN or infinite, then 422 naming the array, the layer and the index', async () => {
    const before = await modelCount();
    const nan = await importing(
      edited(doc, (d) => (d.network.params[0] = withParam(d.network.params[0], 5, NaN))),
    );
    expect(nan.status).toBe(422);
    expect(nan.body.detail).toContain('network.params[0] (layers.0.weight) holds NaN at index 5');
    expect(nan.body.errors[0].path).toBe('network.params[0]');
    const last = doc.network.params.length - 1;
    const inf = await importing(
      edited(doc, (d) => (d.network.params[last] = withParam(d.network.params[last], 2, -Infinity))),
    );
    expect(inf.status).toBe(422);
    expect(inf.body.detail).toContain(`network.params[${last}]`);
    expect(inf.body.detail).toContain('holds -Infinity at index 2');
    expect(await modelCount()).toBe(before);
  });

  it('when the output layer does not fit the classes, then 422 names the widths or the activation', async () => {
    // Two classes left for a three-unit softmax: the encoder gives 2 outputs, the network 3.
    const fewer = await importing(edited(doc, (d) => (d.encoder.classes = ['setosa', 'versicolor'])));
    expect(fewer.status).toBe(422);
    expect(fewer.body.detail).toContain('2 outputs');
    expect(fewer.body.detail).toContain('gives 3');
    const out = doc.network.spec.layers.length - 1;
    const linear = await importing(edited(doc, (d) => (d.network.spec.layers[out].activation = 'linear')));
    expect(linear.status).toBe(422);
    expect(linear.body.detail).toContain(`network.spec.layers[${out}].activation is "linear"`);
    expect(linear.body.detail).toContain('"softmax"');
  });

  it('when a feature is dropped from the encoder, then 422 names the input widths', async () => {
    const res = await importing(edited(doc, (d) => d.encoder.features.pop()));
    expect(res.status).toBe(422);
    expect(res.body.detail).toContain('gives 3 inputs');
    expect(res.body.detail).toContain('(3 features, 3 classes)');
    expect(res.body.detail).toContain('takes 4');
  });
});
