import { describe, expect, it } from 'vitest';
import {
  createRng,
  fit,
  ModelFormatError,
  Sequential,
  type ModelSpec,
  type SerializedModel,
} from '../../src/engine/index.js';

const SPEC: ModelSpec = {
  inputSize: 5,
  layers: [
    { units: 7, activation: 'leakyRelu' },
    { units: 6, activation: 'sigmoid' },
    { units: 3, activation: 'softmax' },
  ],
  initializer: 'heNormal',
};

function bytes(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
}

function inputs(rows: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: rows * 5 }, () => rng.normal() * 3);
}

describe('Sequential', () => {
  it('when created, then sizes and the parameter count follow the spec (biases zero)', () => {
    const m = Sequential.create(SPEC, createRng(1));
    expect(m.inputSize).toBe(5);
    expect(m.outputSize).toBe(3);
    expect(m.paramCount()).toBe(5 * 7 + 7 + 7 * 6 + 6 + 6 * 3 + 3);
    expect(
      m
        .params()
        .filter((p) => !p.decay)
        .every((p) => p.value.every((v) => v === 0)),
    ).toBe(true);
  });

  it('when predicting, then a new rows × outputs array of probabilities comes back', () => {
    const m = Sequential.create(SPEC, createRng(1));
    const p = m.predict(inputs(4, 2), 4);
    const q = m.predict(inputs(4, 2), 4);
    expect(p).not.toBe(q);
    expect(p.length).toBe(12);
    for (let r = 0; r < 4; r++) expect(p[3 * r] + p[3 * r + 1] + p[3 * r + 2]).toBeCloseTo(1, 6);
    expect(() => m.predict(new Float32Array(9), 2)).toThrow(/x has 9 values, expected 2×5/);
  });

  it('when predicting more rows than one chunk, then each row matches its own prediction', () => {
    const m = Sequential.create(SPEC, createRng(1));
    const x = inputs(2500, 3);
    const all = m.predict(x, 2500);
    for (const r of [0, 1023, 1024, 2499]) {
      const one = m.predict(x.slice(r * 5, r * 5 + 5), 1);
      for (let j = 0; j < 3; j++) expect(all[r * 3 + j]).toBeCloseTo(one[j], 6);
    }
  });

  it('when saved to JSON text and loaded, then predictions are bit-identical', () => {
    const m = Sequential.create(SPEC, createRng(4));
    const loaded = Sequential.fromJSON(JSON.parse(JSON.stringify(m.toJSON())) as SerializedModel);
    const x = inputs(50, 5);
    expect(bytes(loaded.predict(x, 50))).toBe(bytes(m.predict(x, 50)));
    expect(loaded.spec).toEqual(SPEC);
    expect(loaded.toJSON()).toEqual(m.toJSON());
  });

  it('when the weights change (setWeights, fit, params()), then predict follows them, not a stale prepared copy', async () => {
    const m = Sequential.create(SPEC, createRng(1));
    const other = Sequential.create(SPEC, createRng(2));
    const x = inputs(3, 6);
    const before = m.predict(x, 3);
    m.setWeights(other.getWeights());
    expect(bytes(m.predict(x, 3))).toBe(bytes(other.predict(x, 3)));
    expect(bytes(m.predict(x, 3))).not.toBe(bytes(before));

    const y = new Float32Array(9).fill(0);
    for (let r = 0; r < 3; r++) y[r * 3 + r] = 1;
    const beforeFit = m.predict(x, 3);
    await fit(
      m,
      { x, y, rows: 3 },
      {
        epochs: 3,
        batchSize: 3,
        optimizer: { type: 'sgd', learningRate: 0.5 },
        loss: 'crossEntropy',
        seed: 1,
      },
    );
    const afterFit = m.predict(x, 3);
    expect(bytes(afterFit)).not.toBe(bytes(beforeFit));
    const viaForward = m.forward(x, 3);
    for (let i = 0; i < 9; i++) expect(afterFit[i]).toBeCloseTo(viaForward[i], 6);

    m.params()[4].value.fill(0); // the last layer's weights: every output becomes softmax(bias)
    const flat = m.predict(x, 3);
    for (let i = 0; i < 9; i++) expect(flat[i]).toBeCloseTo(flat[i % 3], 6);
  });

  it('when the same seed creates two models, then their weights are byte-identical; another seed differs', () => {
    const a = Sequential.create(SPEC, createRng(8)).toJSON();
    expect(Sequential.create(SPEC, createRng(8)).toJSON()).toEqual(a);
    expect(Sequential.create(SPEC, createRng(9)).toJSON().params).not.toEqual(a.params);
  });

  it('when the model file is foreign, of another version or the wrong shape, then fromJSON says what is wrong', () => {
    const good = Sequential.create(SPEC, createRng(1)).toJSON();
    const bad = (patch: Partial<SerializedModel> | Record<string, unknown>) => () =>
      Sequential.fromJSON({ ...good, ...patch } as SerializedModel);
    expect(bad({ format: 'other' })).toThrow(ModelFormatError);
    expect(bad({ format: 'other' })).toThrow(/format "other"/);
    expect(bad({ version: 2 })).toThrow(/version 2/);
    expect(bad({ params: good.params.slice(1) })).toThrow(/5 parameter arrays, expected 6/);
    expect(bad({ params: [good.params[1], ...good.params.slice(1)] })).toThrow(
      /layers\.0\.weight has 7 values, expected 35/,
    );
    expect(bad({ params: ['@@@@', ...good.params.slice(1)] })).toThrow(/params\[0\]/);
    expect(bad({ spec: { ...SPEC, layers: [{ units: 3, activation: 'swish' }] } })).toThrow(
      /activation "swish"/,
    );
    expect(bad({ spec: { ...SPEC, inputSize: 0 } })).toThrow(/inputSize/);
  });
});
