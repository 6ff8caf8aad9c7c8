// Generated training-job bodies (shaped like TrainingSpecInput, with wrong types, out-of-range and
// extreme numbers, unknown keys, nested garbage, __proto__/constructor keys, deep nesting, broken
// JSON and odd Idempotency-Keys) against the real app and Redis: never a 5xx, every refusal a
// problem+json, and the server healthy afterwards.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { expectContract, expectStillHealthy, PROPERTY_ENV } from './contract.js';

let t: TestApp;
let datasetId: string;
beforeAll(async () => {
  t = await createTestApp({ env: PROPERTY_ENV });
  const rows = Array.from(
    { length: 40 },
    (_, i) => `${i % 7},${(i * 3) % 11},${i % 3 ? 'x' : 'y'},${i % 2 ? 'a' : 'b'}`,
  );
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/datasets?name=spec-target',
    headers: { 'content-type': 'text/csv' },
    payload: ['n1,n2,cat,label', ...rows].join('\n') + '\n',
  });
  expect(res.statusCode, res.body).toBe(201);
  datasetId = (JSON.parse(res.body) as { id: string }).id;
});
afterAll(async () => {
  await t?.close();
});

const garbage = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(1e308, -1e308, 5e-324, -0, 2 ** 53 + 1, 0.5, -1, 1e6, 1e12) },
);
const num = fc.oneof(
  fc.integer({ min: -5, max: 100 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, 1, 2 ** 31, 2 ** 32, 1e308, 1e-300, 10_001, 8193, 33),
);
const maybe = <T>(a: fc.Arbitrary<T>) =>
  fc.option(fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: garbage }), {
    nil: undefined,
    freq: 3,
  });

const layer = fc.record(
  {
    units: fc.oneof(fc.integer({ min: -2, max: 20 }), num),
    activation: fc.constantFrom('relu', 'tanh', 'sigmoid', 'leakyRelu', 'linear', 'softmax', 'RELU', ''),
  },
  { requiredKeys: [] },
);
const optimizer = fc.record(
  {
    type: fc.constantFrom('sgd', 'momentum', 'adagrad', 'rmsprop', 'adam', 'lbfgs', ''),
    learningRate: num,
    momentum: num,
    beta1: num,
    beta2: num,
    epsilon: num,
    rho: num,
    nesterov: fc.oneof(fc.boolean(), garbage),
    weightDecay: num,
    clipNorm: num,
  },
  { requiredKeys: [] },
);

const spec = fc.record(
  {
    datasetId: fc.oneof(
      { weight: 4, arbitrary: fc.constant('REAL') },
      { weight: 1, arbitrary: garbage },
      { weight: 1, arbitrary: fc.string() },
    ),
    target: fc.oneof(fc.constantFrom('label', 'n1', 'cat', 'nope', ''), garbage),
    features: maybe(fc.array(fc.constantFrom('n1', 'n2', 'cat', 'label', 'ghost', ''), { maxLength: 5 })),
    task: maybe(fc.constantFrom('classification', 'regression', 'clustering')),
    model: maybe(
      fc.record(
        {
          layers: maybe(fc.array(layer, { maxLength: 40 })),
          initializer: maybe(fc.constantFrom('he', 'xavier', 'uniform', 'normal', 'zeros')),
          binaryOutput: maybe(fc.constantFrom('softmax', 'sigmoid', 'tanh')),
        },
        { requiredKeys: [] },
      ),
    ),
    training: maybe(
      fc.record(
        {
          epochs: maybe(num),
          batchSize: maybe(num),
          optimizer: maybe(optimizer),
          loss: maybe(fc.constantFrom('crossEntropy', 'binaryCrossEntropy', 'mse', 'mae', 'hinge')),
          validationSplit: maybe(num),
          testSplit: maybe(num),
          earlyStopping: maybe(
            fc.oneof(
              fc.constant(false),
              fc.constant(true),
              fc.record({ patience: num, minDelta: num, restoreBest: fc.boolean() }, { requiredKeys: [] }),
            ),
          ),
          seed: maybe(num),
          maxRuntimeSeconds: maybe(num),
        },
        { requiredKeys: [] },
      ),
    ),
    preprocessing: maybe(
      fc.record(
        {
          scaling: maybe(fc.constantFrom('standardize', 'minmax', 'none', 'log')),
          unknownCategory: maybe(fc.constantFrom('missing', 'error', 'ignore')),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: ['datasetId', 'target'] },
);

/** Specs that should be accepted, so the 202 path is exercised as well. */
const validish = fc.record(
  {
    datasetId: fc.constant('REAL'),
    target: fc.constantFrom('label', 'n1'),
    model: fc.record({
      layers: fc.array(
        fc.record({ units: fc.integer({ min: 1, max: 16 }), activation: fc.constantFrom('relu', 'tanh') }),
        {
          maxLength: 3,
        },
      ),
    }),
    training: fc.record(
      { epochs: fc.integer({ min: 1, max: 50 }), seed: fc.nat(), batchSize: fc.integer({ min: 1, max: 64 }) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['datasetId', 'target'] },
);

/** Serialises a body, then perhaps plants unknown keys, a __proto__/constructor key, deep nesting or a cut. */
const bodyText = fc
  .tuple(
    fc.oneof({ weight: 4, arbitrary: spec }, { weight: 1, arbitrary: validish }),
    fc.constantFrom(
      'plain',
      'plain',
      'plain',
      'unknownKey',
      'proto',
      'constructor',
      'deep',
      'truncated',
      'notObject',
    ),
    fc.jsonValue({ maxDepth: 2 }),
    fc.string({ minLength: 1, maxLength: 12 }),
    fc.integer({ min: 20, max: 200 }),
  )
  .map(([s, how, extra, key, depth]) => {
    const text = JSON.stringify(s).replace('"REAL"', JSON.stringify(datasetId));
    const inner = text.slice(1, -1);
    const sep = inner.length > 0 ? ',' : '';
    switch (how) {
      case 'unknownKey':
        return `{${inner}${sep}${JSON.stringify(key)}:${JSON.stringify(extra)}}`;
      case 'proto':
        return text.replace(/\{"/, `{"__proto__":{"polluted":true},"`);
      case 'constructor':
        return `{${inner}${sep}"training":{"constructor":{"prototype":{"polluted":true}}}}`;
      case 'deep':
        return `{${inner}${sep}"model":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      case 'truncated':
        return text.slice(0, Math.max(1, text.length - (depth % text.length)));
      case 'notObject':
        return JSON.stringify(extra);
      default:
        return text;
    }
  });

const idempotencyKey = fc.option(
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 300,
  }),
  { nil: undefined },
);

describe('generated job specs', () => {
  it('when any JSON shaped like a training spec is submitted, then the answer is a 202 job or a 4xx problem, never a 5xx', async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        bodyText,
        idempotencyKey,
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'text/plain',
          'application/x-www-form-urlencoded',
        ),
        async (text, key, type) => {
          const res = await t.app.inject({
            method: 'POST',
            url: '/v1/training-jobs',
            headers: { 'content-type': type, ...(key === undefined ? {} : { 'idempotency-key': key }) },
            payload: text,
          });
          seen.add(res.statusCode);
          const job = expectContract(res, text) as
            { id: string; status: string; spec: { training: { epochs: number } } } | undefined;
          if (res.statusCode === 202) {
            expect(job?.id).toMatch(/^job_/);
            expect(job?.status).toBe('queued');
            expect(Number.isInteger(job?.spec.training.epochs)).toBe(true);
          }
        },
      ),
      { numRuns: 250 },
    );
    // The generator reaches both sides: accepted specs and refused ones.
    expect(seen.has(202)).toBe(true);
    expect(seen.has(400)).toBe(true);
    // Nothing was polluted by the __proto__ and constructor keys.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectStillHealthy(t.app);
  }, 60_000);
});
