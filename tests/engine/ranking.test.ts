// Expected values from scikit-learn 1.2.1 (Debian bookworm's python3-sklearn) on the same
// float32 probabilities: roc_auc_score, average_precision_score, brier_score_loss, log_loss,
// calibration_curve(n_bins=10), precision_recall_fscore_support, mean_absolute_percentage_error
// and numpy.quantile, as noted beside each number.
import { describe, expect, it } from 'vitest';
import { classificationMetrics, regressionMetrics } from '../../src/engine/index.js';
import { averagePrecision, calibrationTable, quantileSorted, rocAuc } from '../../src/engine/ranking.js';

const binaryLabels = Int32Array.from([0, 0, 1, 1, 0, 1, 1, 0, 1, 0]);
const binaryP = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.65, 0.2, 0.4, 0.55];

function twoColumns(p: number[]): Float32Array {
  const out = new Float32Array(p.length * 2);
  p.forEach((v, r) => {
    out[2 * r] = 1 - v;
    out[2 * r + 1] = v;
  });
  return out;
}

describe('binary ranking metrics against scikit-learn', () => {
  const m = classificationMetrics(twoColumns(binaryP), 10, 2, binaryLabels);

  it('when scores tie across classes, then ROC AUC counts the tie as half', () => {
    expect(m.rocAuc).toBeCloseTo(0.8, 12); // roc_auc_score
    expect(rocAuc(Float32Array.from(binaryP), binaryLabels)).toBeCloseTo(0.8, 12);
  });

  it('when computed, then average precision is the step-wise PR AUC', () => {
    expect(m.prAuc).toBeCloseTo(0.8392857142857143, 12); // average_precision_score
  });

  it('when computed, then Brier score and log loss match', () => {
    expect(m.brierScore).toBeCloseTo(0.16275000414252297, 6); // brier_score_loss
    expect(m.logLoss).toBeCloseTo(0.48740629522975676, 6); // log_loss
  });

  it('when computed, then the calibration table has the non-empty bins of calibration_curve', () => {
    // float32 0.1 and 0.2 lie just above their edges, so they fall in the bins above them.
    expect(m.calibration.map((b) => b.observed)).toEqual([0, 0, 1, 1 / 3, 0, 1, 1]);
    const expected = [0.1, 0.2, 0.35, 0.4, 0.55, 0.65, 0.85].map((v) => Math.fround(v));
    m.calibration.forEach((b, i) => expect(b.meanPredicted).toBeCloseTo(expected[i], 6));
    expect(m.calibration.map((b) => b.count)).toEqual([1, 1, 1, 3, 1, 1, 2]);
    expect(m.calibration.map((b) => b.lower)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8]);
  });

  it('when a probability sits exactly on an edge, then it goes to the lower bin', () => {
    const t = calibrationTable([0.5, 0, 1], [1, 0, 1], 10);
    expect(t.map((b) => [b.lower, b.count])).toEqual([
      [0, 1],
      [0.4, 1],
      [0.9, 1],
    ]);
  });

  it('when only one outcome occurs, then ROC AUC is null and AP needs a positive', () => {
    expect(rocAuc([0.2, 0.9], [1, 1])).toBeNull();
    expect(averagePrecision([0.2, 0.9], [0, 0])).toBeNull();
    expect(averagePrecision([0.2, 0.9], [1, 1])).toBe(1);
  });
});

describe('three-class metrics against scikit-learn', () => {
  const labels = Int32Array.from([0, 1, 2, 2, 1, 0, 2, 1, 0, 2, 1, 1]);
  const probs = Float32Array.from(
    [
      [0.7, 0.2, 0.1],
      [0.2, 0.5, 0.3],
      [0.1, 0.3, 0.6],
      [0.3, 0.3, 0.4],
      [0.4, 0.4, 0.2],
      [0.5, 0.25, 0.25],
      [0.2, 0.2, 0.6],
      [0.1, 0.8, 0.1],
      [0.3, 0.6, 0.1],
      [0.45, 0.1, 0.45],
      [0.2, 0.3, 0.5],
      [0.6, 0.3, 0.1],
    ].flat(),
  );
  const m = classificationMetrics(probs, 12, 3, labels);

  it('when computed, then one-vs-rest macro ROC AUC and average precision match', () => {
    expect(m.rocAuc).toBeCloseTo(0.8664682539682541, 12); // roc_auc_score(multi_class="ovr")
    expect(m.prAuc).toBeCloseTo(0.7730820105820108, 12); // average_precision_score(label_binarize)
  });

  it('when computed, then per-class scores, macro averages and the confusion matrix match', () => {
    expect(m.confusionMatrix).toEqual([
      [2, 1, 0],
      [2, 2, 1],
      [1, 0, 3],
    ]);
    // precision_recall_fscore_support: P 0.4, 2/3, 0.75; R 2/3, 0.4, 0.75; F1 0.5, 0.5, 0.75
    const expected = [
      [0.4, 2 / 3, 0.5, 3],
      [2 / 3, 0.4, 0.5, 5],
      [0.75, 0.75, 0.75, 4],
    ];
    m.perClass.forEach((c, k) => {
      expect(c.precision).toBeCloseTo(expected[k][0], 12);
      expect(c.recall).toBeCloseTo(expected[k][1], 12);
      expect(c.f1).toBeCloseTo(expected[k][2], 12);
      expect(c.support).toBe(expected[k][3]);
    });
    expect(m.precisionMacro).toBeCloseTo(0.6055555555555555, 12);
    expect(m.recallMacro).toBeCloseTo(0.6055555555555555, 12);
    expect(m.f1Macro).toBeCloseTo(0.5833333333333334, 12);
  });

  it('when computed, then log loss and the multi-class Brier score match', () => {
    expect(m.logLoss).toBeCloseTo(0.7692309731791335, 6); // log_loss
    // mean over rows of Σ_k (p_k − y_k)², computed with numpy on the same probabilities
    expect(m.brierScore).toBeCloseTo(0.46416666684051383, 6);
  });

  it('when a class is in neither the true nor the predicted labels, then macro averages leave it out', () => {
    // true 0, 1, 0, 1; predicted 0, 1, 1, 1; class 2 absent from both (scikit-learn's labels=None)
    const p = Float32Array.from([0.9, 0.1, 0, 0.1, 0.9, 0, 0.2, 0.8, 0, 0.3, 0.7, 0]);
    const r = classificationMetrics(p, 4, 3, Int32Array.from([0, 1, 0, 1]));
    expect(r.f1Macro).toBeCloseTo(0.7333333333333334, 12); // f1_score(average="macro")
    expect(r.precisionMacro).toBeCloseTo(0.8333333333333333, 12);
    expect(r.recallMacro).toBeCloseTo(0.75, 12);
  });
});

describe('regression MAPE and residual quantiles against scikit-learn and numpy', () => {
  it('when computed, then they match mean_absolute_percentage_error and numpy.quantile', () => {
    const m = regressionMetrics(
      Float32Array.from([2.5, 0, 2, 8, 3.9, 1, 0.5, 11.5]),
      Float32Array.from([3, -0.5, 2, 7, 4.2, 1.5, 0.0001, 10]),
    );
    // 0.0001 as an actual value makes its row's error 4,999 × — MAPE's known blow-up near zero.
    expect(m.mape).toBeCloseTo(625.1080514950047, 6);
    const q = m.residualQuantiles;
    expect(q.q05).toBeCloseTo(-1.325, 6);
    expect(q.q25).toBeCloseTo(-0.625, 6);
    expect(q.q50).toBeCloseTo(-0.2499500000012631, 6);
    expect(q.q75).toBeCloseTo(0.3499997854232788, 6);
    expect(q.q95).toBeCloseTo(0.5, 6);
  });

  it('when the array is empty or one value, then the quantile is NaN or that value', () => {
    expect(quantileSorted([], 0.5)).toBeNaN();
    expect(quantileSorted([4], 0.95)).toBe(4);
  });
});
