import { describe, expect, it } from 'vitest';
import { classificationMetrics, evaluate, regressionMetrics, Sequential } from '../../src/engine/index.js';

describe('classification metrics against a hand-worked example', () => {
  // Five rows, three classes; true labels 0, 0, 1, 2, 2; predicted (argmax) 0, 1, 1, 2, 0.
  const probs = new Float32Array([0.7, 0.2, 0.1, 0.3, 0.6, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6, 0.5, 0.1, 0.4]);
  const labels = Int32Array.from([0, 0, 1, 2, 2]);
  const m = classificationMetrics(probs, 5, 3, labels);

  it('when computed, then accuracy and the confusion matrix [true][predicted] match', () => {
    expect(m.accuracy).toBeCloseTo(3 / 5, 12);
    expect(m.confusionMatrix).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 1],
    ]);
  });

  it('when computed, then macro precision, recall and F1 match', () => {
    // precision per class = tp / column sum: 1/2, 1/2, 1/1 → macro 2/3
    expect(m.precisionMacro).toBeCloseTo(2 / 3, 12);
    // recall per class = tp / row sum: 1/2, 1/1, 1/2 → macro 2/3
    expect(m.recallMacro).toBeCloseTo(2 / 3, 12);
    // F1 per class = 2PR/(P+R): 0.5, 2/3, 2/3 → macro 11/18
    expect(m.f1Macro).toBeCloseTo(11 / 18, 12);
  });

  it('when computed, then log loss is the mean −log p(true class)', () => {
    // −(ln 0.7 + ln 0.3 + ln 0.8 + ln 0.6 + ln 0.4)/5 = 0.6421815 (probabilities held as float32)
    expect(m.logLoss).toBeCloseTo(0.6421815, 6);
  });

  it('when a class is never predicted, then its precision counts as 0 and log loss stays finite', () => {
    const r = classificationMetrics(new Float32Array([1, 0, 1, 0]), 2, 2, Int32Array.from([0, 1]));
    // class 0: P = 1/2, R = 1; class 1: P = 0 (never predicted), R = 0 → macro P 0.25, R 0.5, F1 (2/3 + 0)/2
    expect(r.precisionMacro).toBeCloseTo(0.25, 12);
    expect(r.recallMacro).toBeCloseTo(0.5, 12);
    expect(r.f1Macro).toBeCloseTo(1 / 3, 12);
    // p(true) = 0 for row 2 is clamped to 1e-15: (0 + 34.538776)/2
    expect(r.logLoss).toBeCloseTo(-Math.log(1e-15) / 2, 6);
  });

  it('when a label is out of range, then the error names it', () => {
    expect(() => classificationMetrics(new Float32Array([1, 0]), 1, 2, Int32Array.from([2]))).toThrow(
      /label 2 at row 0/,
    );
  });
});

describe('regression metrics against a hand-worked example', () => {
  it('when computed, then mse, rmse, mae and r2 match', () => {
    // errors 0, −1, 1, −1: mse = 3/4, mae = 3/4; mean target 3, SS_tot = 4 + 0 + 1 + 9 = 14, r2 = 1 − 3/14
    const m = regressionMetrics(new Float32Array([1, 2, 3, 5]), new Float32Array([1, 3, 2, 6]));
    expect(m.mse).toBeCloseTo(0.75, 12);
    expect(m.rmse).toBeCloseTo(Math.sqrt(0.75), 12);
    expect(m.mae).toBeCloseTo(0.75, 12);
    expect(m.r2).toBeCloseTo(1 - 3 / 14, 12);
  });

  it('when there are two outputs, then r2 is the mean of the per-output r2', () => {
    // output 0: pred 1,2,3 vs 1,2,4 → SS_res 1, SS_tot 4.6667 → 0.785714; output 1 exact → 1
    const m = regressionMetrics(
      new Float32Array([1, 5, 2, 6, 3, 7]),
      new Float32Array([1, 5, 2, 6, 4, 7]),
      2,
    );
    expect(m.r2).toBeCloseTo((1 - 1 / (14 / 3) + 1) / 2, 10);
    expect(m.mse).toBeCloseTo(1 / 6, 10);
  });

  it('when the target is constant, then r2 is 1 for an exact prediction and 0 otherwise', () => {
    expect(regressionMetrics(new Float32Array([2, 2]), new Float32Array([2, 2])).r2).toBe(1);
    expect(regressionMetrics(new Float32Array([2, 3]), new Float32Array([2, 2])).r2).toBe(0);
  });
});

describe('evaluate', () => {
  it('when the output is one sigmoid column, then y ≥ 0.5 is the label and p the class-1 probability', () => {
    const model = Sequential.fromJSON({
      format: 'backprop.sequential',
      version: 1,
      spec: { inputSize: 1, layers: [{ units: 1, activation: 'sigmoid' }], initializer: 'xavier' },
      params: [
        Buffer.from(new Float32Array([1]).buffer).toString('base64'),
        Buffer.from(new Float32Array([0]).buffer).toString('base64'),
      ],
    });
    // p = σ(x) = 0.8808, 0.2689, 0.6225, 0.0474 → predicted 1, 0, 1, 0 against 1, 0, 0, 1
    const m = evaluate(
      model,
      { x: new Float32Array([2, -1, 0.5, -3]), y: new Float32Array([1, 0, 0, 1]), rows: 4 },
      { loss: 'binaryCrossEntropy', kind: 'classification' },
    );
    if (!('accuracy' in m)) throw new Error('expected classification metrics');
    expect(m.accuracy).toBe(0.5);
    expect(m.confusionMatrix).toEqual([
      [1, 1],
      [1, 1],
    ]);
    // BCE = mean −[y ln p + (1 − y) ln(1 − p)] = 1.1157135 (also the log loss here)
    expect(m.loss).toBeCloseTo(1.1157135, 5);
    expect(m.logLoss).toBeCloseTo(1.1157135, 5);
  });
});
