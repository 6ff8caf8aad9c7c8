// Classification and regression metrics, and evaluate(): a model's loss and metrics on a data set.
import { lossFunctions } from './losses.js';
import type { Sequential } from './model.js';
import { averagePrecision, classCalibration, oneVsRestMacro, quantileSorted, rocAuc } from './ranking.js';
import type {
  Batchable,
  ClassScores,
  ClassificationMetrics,
  LossName,
  MetricsKind,
  RegressionMetrics,
} from './types.js';

// Log loss clamps probabilities to [ε, 1 − ε] like scikit-learn, so one confident miss is finite.
const LOG_LOSS_EPS = 1e-15;
const EVAL_CHUNK = 1024;
// Float64 machine epsilon: scikit-learn's floor of |actual| in MAPE.
const MAPE_EPS = 2.220446049250313e-16;

/**
 * Metrics of class probabilities (rows × classes, row-major) against integer labels.
 * confusionMatrix[true][predicted] over all `classes`; perClass[c] is class c's precision, recall,
 * F1 and support (a class never predicted has precision 0, scikit-learn's zero_division=0). Macro
 * averages are over the classes present in the true or the predicted labels, as scikit-learn's
 * precision_recall_fscore_support(average="macro") does. rocAuc and prAuc (average precision) are
 * of p(class 1) for two classes, one-vs-rest macro over classes present in the labels otherwise
 * (null when undefined). brierScore is the mean over rows of Σ_k (p_k − y_k)², halved for two
 * classes so it equals the binary (p − y)² (scikit-learn's brier_score_loss). calibration: see
 * classCalibration.
 */
export function classificationMetrics(
  probs: Float32Array,
  rows: number,
  classes: number,
  labels: Int32Array,
): ClassificationMetrics {
  if (probs.length !== rows * classes) {
    throw new RangeError(
      `classificationMetrics: probs has ${probs.length} values, expected ${rows}×${classes}`,
    );
  }
  if (labels.length !== rows)
    throw new RangeError(`classificationMetrics: ${labels.length} labels for ${rows} rows`);
  const cm: number[][] = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  let logLoss = 0;
  let brier = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    let best = 0;
    for (let j = 1; j < classes; j++) if (probs[o + j] > probs[o + best]) best = j;
    const t = labels[r];
    if (!(t >= 0 && t < classes))
      throw new RangeError(`classificationMetrics: label ${t} at row ${r} is not in [0, ${classes})`);
    cm[t][best]++;
    if (best === t) correct++;
    const p = Math.min(Math.max(probs[o + t], LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    logLoss -= Math.log(p);
    for (let j = 0; j < classes; j++) brier += (probs[o + j] - (j === t ? 1 : 0)) ** 2;
  }
  const perClass = perClassScores(cm);
  const present = perClass.filter((c, k) => c.support > 0 || cm.some((row) => row[k] > 0));
  const macro = (key: 'precision' | 'recall' | 'f1'): number =>
    present.length > 0 ? present.reduce((s, c) => s + c[key], 0) / present.length : 0;
  return {
    accuracy: rows > 0 ? correct / rows : 0,
    precisionMacro: macro('precision'),
    recallMacro: macro('recall'),
    f1Macro: macro('f1'),
    logLoss: rows > 0 ? logLoss / rows : 0,
    brierScore: rows > 0 ? brier / rows / (classes === 2 ? 2 : 1) : 0,
    rocAuc: oneVsRestMacro(rocAuc, probs, rows, classes, labels),
    prAuc: oneVsRestMacro(averagePrecision, probs, rows, classes, labels),
    confusionMatrix: cm,
    perClass,
    calibration: classCalibration(probs, rows, classes, labels),
  };
}

/** Precision, recall, F1 and support of each class from a confusion matrix [true][predicted]. */
function perClassScores(cm: number[][]): ClassScores[] {
  const classes = cm.length;
  const scores: ClassScores[] = [];
  for (let c = 0; c < classes; c++) {
    const tp = cm[c][c];
    let predicted = 0;
    let actual = 0;
    for (let k = 0; k < classes; k++) {
      predicted += cm[k][c];
      actual += cm[c][k];
    }
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = actual > 0 ? tp / actual : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    scores.push({ precision, recall, f1, support: actual });
  }
  return scores;
}

/**
 * mse, rmse, mae and r2 of predictions against targets (both n × outputs, row-major). r2 is
 * 1 − SS_res / SS_tot per output, averaged over outputs; a constant target gives 1 when predicted
 * exactly and 0 otherwise (scikit-learn's convention). mape is scikit-learn's
 * mean_absolute_percentage_error (|actual − predicted| / max(|actual|, ε), ε = 2.2e-16, as a
 * fraction); residualQuantiles are of actual − predicted over all outputs.
 */
export function regressionMetrics(pred: Float32Array, target: Float32Array, outputs = 1): RegressionMetrics {
  if (pred.length !== target.length) {
    throw new RangeError(`regressionMetrics: ${pred.length} predictions for ${target.length} targets`);
  }
  if (!Number.isInteger(outputs) || outputs < 1 || pred.length % outputs !== 0) {
    throw new RangeError(`regressionMetrics: ${pred.length} values do not split into ${outputs} outputs`);
  }
  const n = pred.length;
  const rows = n / outputs;
  let se = 0;
  let ae = 0;
  for (let i = 0; i < n; i++) {
    const d = pred[i] - target[i];
    se += d * d;
    ae += Math.abs(d);
  }
  let r2 = 0;
  for (let j = 0; j < outputs; j++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += target[r * outputs + j];
    mean /= rows;
    let res = 0;
    let tot = 0;
    for (let r = 0; r < rows; r++) {
      const t = target[r * outputs + j];
      const d = pred[r * outputs + j] - t;
      res += d * d;
      tot += (t - mean) * (t - mean);
    }
    r2 += tot > 0 ? 1 - res / tot : res === 0 ? 1 : 0;
  }
  const mse = n > 0 ? se / n : 0;
  return {
    mse,
    rmse: Math.sqrt(mse),
    mae: n > 0 ? ae / n : 0,
    r2: r2 / outputs,
    ...residualStats(pred, target),
  };
}

/** MAPE and residual quantiles; empty input gives 0s. */
function residualStats(
  pred: Float32Array,
  target: Float32Array,
): Pick<RegressionMetrics, 'mape' | 'residualQuantiles'> {
  const n = pred.length;
  const residuals = new Float64Array(n);
  let ape = 0;
  for (let i = 0; i < n; i++) {
    residuals[i] = target[i] - pred[i];
    ape += Math.abs(residuals[i]) / Math.max(Math.abs(target[i]), MAPE_EPS);
  }
  residuals.sort();
  const q = (p: number): number => (n > 0 ? quantileSorted(residuals, p) : 0);
  return {
    mape: n > 0 ? ape / n : 0,
    residualQuantiles: { q05: q(0.05), q25: q(0.25), q50: q(0.5), q75: q(0.75), q95: q(0.95) },
  };
}

/** Integer labels from targets: argmax of one-hot rows, or y ≥ 0.5 for a single 0/1 column. */
export function labelsFromTargets(y: Float32Array, rows: number, cols: number): Int32Array {
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    if (cols === 1) {
      labels[r] = y[r] >= 0.5 ? 1 : 0;
      continue;
    }
    const o = r * cols;
    let best = 0;
    for (let j = 1; j < cols; j++) if (y[o + j] > y[o + best]) best = j;
    labels[r] = best;
  }
  return labels;
}

/** Two-column probabilities [1 − p, p] from a single sigmoid output column. */
function binaryProbs(p: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) {
    out[2 * r] = 1 - p[r];
    out[2 * r + 1] = p[r];
  }
  return out;
}

/** Outputs and the mean loss of `model` on `data`, computed in chunks. */
export function predictWithLoss(
  model: Sequential,
  data: Batchable,
  loss: LossName,
): { pred: Float32Array; loss: number } {
  const inSize = model.inputSize;
  const outSize = model.outputSize;
  checkBatchable('evaluate', data, inSize, outSize);
  const pred = new Float32Array(data.rows * outSize);
  let total = 0;
  for (let r = 0; r < data.rows; r += EVAL_CHUNK) {
    const n = Math.min(EVAL_CHUNK, data.rows - r);
    const a = model.forward(data.x.subarray(r * inSize, (r + n) * inSize), n);
    pred.set(a.subarray(0, n * outSize), r * outSize);
    total += model.loss(loss, data.y.subarray(r * outSize, (r + n) * outSize), n) * n;
  }
  return { pred, loss: data.rows > 0 ? total / data.rows : 0 };
}

export function checkBatchable(op: string, data: Batchable, inSize: number, outSize: number): void {
  if (!data || !(data.x instanceof Float32Array) || !(data.y instanceof Float32Array)) {
    throw new TypeError(`${op}: data needs Float32Array x and y`);
  }
  if (!Number.isInteger(data.rows) || data.rows < 0)
    throw new RangeError(`${op}: rows must be a non-negative integer`);
  if (data.x.length !== data.rows * inSize) {
    throw new RangeError(
      `${op}: x has ${data.x.length} values, expected ${data.rows}×${inSize} = ${data.rows * inSize}`,
    );
  }
  if (data.y.length !== data.rows * outSize) {
    throw new RangeError(
      `${op}: y has ${data.y.length} values, expected ${data.rows}×${outSize} = ${data.rows * outSize}`,
    );
  }
}

/**
 * The model's loss and metrics on `data`. Classification: y one-hot (or one 0/1 column with a
 * sigmoid output); regression: y the target value(s).
 */
export function evaluate(
  model: Sequential,
  data: Batchable,
  opts: { loss: LossName; kind: MetricsKind },
): { loss: number } & (ClassificationMetrics | RegressionMetrics) {
  const { pred, loss } = predictWithLoss(model, data, opts.loss);
  return metricsOfOutputs(pred, loss, model.outputSize, data, opts.kind);
}

/**
 * Like evaluate, for any predictor (an ensemble averages its networks' outputs): the loss is the
 * loss function of those outputs (probabilities for the cross-entropies, clamped as in losses.ts).
 */
export function evaluatePredictor(
  model: { outputSize: number; inputSize: number; predict(x: Float32Array, rows: number): Float32Array },
  data: Batchable,
  opts: { loss: LossName; kind: MetricsKind },
): { loss: number } & (ClassificationMetrics | RegressionMetrics) {
  checkBatchable('evaluate', data, model.inputSize, model.outputSize);
  const pred = model.predict(data.x, data.rows);
  const loss = data.rows > 0 ? lossFunctions[opts.loss].value(pred, data.y, data.rows, model.outputSize) : 0;
  return metricsOfOutputs(pred, loss, model.outputSize, data, opts.kind);
}

/** Metrics of outputs already computed (rows × outSize) against data.y, with their loss. */
export function metricsOfOutputs(
  pred: Float32Array,
  loss: number,
  outSize: number,
  data: Batchable,
  kind: MetricsKind,
): { loss: number } & (ClassificationMetrics | RegressionMetrics) {
  if (kind === 'regression') return { loss, ...regressionMetrics(pred, data.y, outSize) };
  const labels = labelsFromTargets(data.y, data.rows, outSize);
  const probs = outSize === 1 ? binaryProbs(pred, data.rows) : pred;
  return { loss, ...classificationMetrics(probs, data.rows, outSize === 1 ? 2 : outSize, labels) };
}
