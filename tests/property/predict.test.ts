// Generated prediction requests against models trained by the real worker code (a loans classifier
// with numeric and categorical features, a friedman1 regressor): never a 5xx, every refusal a
// problem+json, every 200 one finite prediction per row, and the server healthy afterwards.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startTrainingWorker, type TrainingWorker } from '../../src/worker/main.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { expectContract, expectStillHealthy, PROPERTY_ENV } from './contract.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

interface TrainedModel {
  id: string;
  task: 'classification' | 'regression';
  classes: string[] | null;
  features: Array<{ name: string; type: 'numeric' | 'categorical' }>;
}

let t: TestApp;
let worker: TrainingWorker;
const models: TrainedModel[] = [];

async function train(fixture: string, spec: Record<string, unknown>): Promise<TrainedModel> {
  const upload = await t.app.inject({
    method: 'POST',
    url: `/v1/datasets?name=${fixture}`,
    headers: { 'content-type': 'text/csv' },
    payload: await readFile(join(FIXTURES, `${fixture}.csv`)),
  });
  expect(upload.statusCode, upload.body).toBe(201);
  const datasetId = (JSON.parse(upload.body) as { id: string }).id;
  const submit = await t.app.inject({
    method: 'POST',
    url: '/v1/training-jobs',
    payload: { datasetId, ...spec },
  });
  expect(submit.statusCode, submit.body).toBe(202);
  const jobId = (JSON.parse(submit.body) as { id: string }).id;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = JSON.parse(
      (await t.app.inject({ method: 'GET', url: `/v1/training-jobs/${jobId}` })).body,
    ) as {
      status: string;
      modelId: string | null;
    };
    if (job.status === 'succeeded') {
      return JSON.parse(
        (await t.app.inject({ method: 'GET', url: `/v1/models/${job.modelId}` })).body,
      ) as TrainedModel;
    }
    if (job.status === 'failed' || job.status === 'cancelled' || Date.now() > deadline) {
      throw new Error(`training ${fixture} ended ${JSON.stringify(job)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  t = await createTestApp({ env: { ...PROPERTY_ENV, MAX_ROWS: '10000', MAX_UPLOAD_BYTES: '1000000' } });
  worker = startTrainingWorker(t.config, createLogger('silent', 'test'));
  models.push(
    await train('loans', {
      target: 'decision',
      model: { layers: [{ units: 8, activation: 'relu' }] },
      training: { epochs: 3, earlyStopping: false },
      preprocessing: { unknownCategory: 'error' },
    }),
    await train('friedman1', {
      target: 'y',
      model: { layers: [{ units: 8, activation: 'tanh' }] },
      training: { epochs: 3, earlyStopping: false },
      preprocessing: { scaling: 'minmax' },
    }),
  );
  await worker.close();
}, 60_000);
afterAll(async () => {
  await worker?.close();
  await t?.close();
});

const value = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, 2 ** 53, 1e30),
  fc.string({ maxLength: 10 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.constantFrom('east', 'north', 'self-employed', 'yes', 'no', '', 'NA', 'NaN', '1e999', '42', ' 3.5 '),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);

const rowFor = (model: TrainedModel) =>
  fc.dictionary(
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...model.features.map((f) => f.name)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
    ),
    value,
    { maxKeys: model.features.length + 3 },
  );

const requestFor = (model: TrainedModel) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.array(rowFor(model), { minLength: 0, maxLength: 12 }).map((rows) => ({ rows })),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.array(rowFor(model), { maxLength: 3 }), fc.jsonValue())
        .map(([rows, extra]) => ({ rows, extra })),
    },
  );

describe('generated prediction rows', () => {
  it('when any rows are sent to a trained model, then a 200 has one finite prediction per row, and anything else is a 4xx problem', async () => {
    let ok = 0;
    const picked = fc
      .constantFrom(...models)
      .chain((model) => fc.tuple(fc.constant(model), requestFor(model)));
    await fc.assert(
      fc.asyncProperty(picked, fc.boolean(), async ([model, body], protoKey) => {
        let text = JSON.stringify(body) ?? 'null';
        // Now and then a __proto__ key inside a row, which the JSON parser must refuse.
        if (protoKey && text.startsWith('{"rows":[{'))
          text = text.replace('{"rows":[{', '{"rows":[{"__proto__":1,');
        const res = await t.app.inject({
          method: 'POST',
          url: `/v1/models/${model.id}/predict`,
          headers: { 'content-type': 'application/json' },
          payload: text,
        });
        const answer = expectContract(res, text) as
          | { predictions: Array<{ label?: string; probabilities?: Record<string, number>; value?: number }> }
          | undefined;
        if (res.statusCode !== 200) return;
        ok += 1;
        const rows = (body as { rows: unknown[] }).rows;
        expect(answer?.predictions).toHaveLength(rows.length);
        for (const p of answer!.predictions) {
          if (model.task === 'regression') {
            expect(Number.isFinite(p.value)).toBe(true);
          } else {
            expect(model.classes).toContain(p.label);
            const probs = Object.values(p.probabilities ?? {});
            expect(probs.every(Number.isFinite)).toBe(true);
            expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
          }
        }
      }),
      // One request known to be valid (every feature missing, so imputed) among the generated ones,
      // so the 200 path is always exercised whatever the random draw.
      { numRuns: 300, examples: [[[models[0], { rows: [{}] }], false]] },
    );
    expect(ok).toBeGreaterThan(0);
    await expectStillHealthy(t.app);
  }, 60_000);

  it('when a model id is made up, then predict answers a 4xx problem', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 120 }), async (id) => {
        const res = await t.app.inject({
          method: 'POST',
          url: `/v1/models/${encodeURIComponent(id)}/predict`,
          payload: { rows: [{ age: 1 }] },
        });
        expectContract(res, id);
        expect(res.statusCode).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 100 },
    );
  });
});
