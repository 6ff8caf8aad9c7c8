// Baselines and permutation importance against hand-worked values.
import { describe, expect, it } from 'vitest';
import { Encoder, type Encoded } from '../../src/data/index.js';
import {
  classificationBaselines,
  permutationImportance,
  regressionBaselines,
} from '../../src/domain/model-insight.js';
import { Sequential, createRng } from '../../src/engine/index.js';

const f32 = (v: number[]) => Buffer.from(new Float32Array(v).buffer).toString('base64');

function encoded(y: number[], labels: number[] | null, x: number[] = [], inSize = 0): Encoded {
  const rows = y.length / (labels && y.length > labels.length ? y.length / labels.length : 1);
  return {
    x: Float32Array.from(x.length ? x : new Array(rows * inSize).fill(0)),
    y: Float32Array.from(y),
    rows,
    labels: labels ? Int32Array.from(labels) : null,
    kept: Int32Array.from({ length: rows }, (_, i) => i),
  };
}

const regressionEncoder = Encoder.fromJSON({
  version: 1,
  task: 'regression',
  scaling: 'standardize',
  target: 'y',
  features: [
    { name: 'a', type: 'numeric', impute: 0, shift: 0, scale: 1 },
    { name: 'b', type: 'numeric', impute: 0, shift: 0, scale: 1 },
  ],
  classes: null,
  binaryOutput: false,
  unknownCategory: 'missing',
  targetMean: 10,
  targetStd: 2,
});

describe('baselines', () => {
  it('when training labels are 0, 0, 0, 1, then majority predicts the frequencies and stratified draws labels', () => {
    const train = encoded([1, 0, 1, 0, 1, 0, 0, 1], [0, 0, 0, 1]);
    const test = encoded([1, 0, 0, 1, 0, 1], [0, 1, 1]);
    const b = classificationBaselines(train, test, 2, 42);
    // every row predicts [0.75, 0.25] → label 0: accuracy 1/3; log loss −(ln 0.75 + 2 ln 0.25)/3
    expect(b.majority.accuracy).toBeCloseTo(1 / 3, 12);
    expect(b.majority.logLoss).toBeCloseTo(-(Math.log(0.75) + 2 * Math.log(0.25)) / 3, 6);
    expect(b.majority.loss).toBe(b.majority.logLoss);
    expect(b.majority.rocAuc).toBe(0.5); // constant scores: one tied threshold
    // stratified probabilities are one-hot: the Brier score is the error rate (binary form)
    expect(b.stratified.brierScore).toBeCloseTo(1 - b.stratified.accuracy, 12);
    expect(classificationBaselines(train, test, 2, 42)).toEqual(b);
  });

  it('when the training target is −1, 0, 0.5, 3 (standardized; mean 10, std 2), then mean and median baselines match', () => {
    const train = encoded([-1, 0, 0.5, 3], null);
    const test = encoded([0, 1], null); // 10 and 12 in the target's units
    const b = regressionBaselines(train, test, regressionEncoder, 'mse');
    // mean 0.625 → 11.25: errors 1.25, 0.75 → mae 1, mse (1.5625 + 0.5625)/2 = 1.0625
    expect(b.mean.mae).toBeCloseTo(1, 6);
    expect(b.mean.mse).toBeCloseTo(1.0625, 6);
    // median 0.25 → 10.5: errors 0.5, 1.5 → mae 1, mse 1.25
    expect(b.median.mae).toBeCloseTo(1, 6);
    expect(b.median.mse).toBeCloseTo(1.25, 6);
    // loss on the standardized target: mse of 0.625 against 0, 1 = (0.390625 + 0.140625)/2
    expect(b.mean.loss).toBeCloseTo(0.265625, 6);
  });
});

describe('permutation importance', () => {
  // y = 1·a + 0·b: shuffling b changes nothing, shuffling a destroys the fit.
  const net = Sequential.fromJSON({
    format: 'backprop.sequential',
    version: 1,
    spec: { inputSize: 2, layers: [{ units: 1, activation: 'linear' }], initializer: 'xavier' },
    params: [f32([1, 0]), f32([0])],
  });
  const rng = createRng(3);
  const x = Array.from({ length: 400 }, () => rng.normal());
  const y = x.filter((_, i) => i % 2 === 0);
  const test = encoded(y, null, x, 2);

  it('when a column is unused, then its importance is exactly 0; the used one drops r² by about 2', () => {
    const imp = permutationImportance(net, regressionEncoder, test, 42)!;
    expect(imp.map((f) => f.feature)).toEqual(['a', 'b']);
    expect(imp[1]).toEqual({ feature: 'b', mean: 0, std: 0 });
    // r² of a shuffled copy of y against y is 1 − 2(1 − ρ) ≈ −1 for ρ ≈ 0: the drop is about 2
    expect(imp[0].mean).toBeGreaterThan(1.5);
    expect(imp[0].mean).toBeLessThan(2.5);
    expect(imp[0].std).toBeGreaterThan(0);
  });

  it('when run twice with one seed, then the result is the same; an aborted signal gives null', () => {
    expect(permutationImportance(net, regressionEncoder, test, 7)).toEqual(
      permutationImportance(net, regressionEncoder, test, 7),
    );
    expect(permutationImportance(net, regressionEncoder, test, 7, AbortSignal.abort())).toBeNull();
  });
});
