// Metrics of scores rather than decisions: ROC AUC, average precision (PR AUC), the calibration
// table, and their one-vs-rest macro averages over classes. Ties between scores are handled as
// one threshold, as scikit-learn's roc_curve / precision_recall_curve do.

/** One bin of a calibration table: rows whose predicted probability fell in [lower, upper]. */
export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability of the rows in the bin. */
  meanPredicted: number;
  /** Fraction of those rows whose event happened (positive class / top label correct). */
  observed: number;
}

/** Row order by decreasing score (stable), shared by the two curve metrics. */
function byScoreDesc(scores: ArrayLike<number>): Int32Array {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[b] - scores[a] || a - b);
}

function countPositives(positive: ArrayLike<number>): number {
  let pos = 0;
  for (let i = 0; i < positive.length; i++) if (positive[i]) pos++;
  return pos;
}

/**
 * Area under the ROC curve of `scores` for the binary labels `positive` (1 = event), by the
 * trapezoidal rule over distinct thresholds (tied scores move both rates at once, counting half).
 * null when only one of the two outcomes occurs (the curve is undefined).
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<number>): number | null {
  const order = byScoreDesc(scores);
  const pos = countPositives(positive);
  const neg = positive.length - pos;
  if (pos === 0 || neg === 0) return null;
  let tp = 0;
  let fp = 0;
  let area = 0;
  for (let i = 0; i < order.length;) {
    const s = scores[order[i]];
    const tp0 = tp;
    const fp0 = fp;
    for (; i < order.length && scores[order[i]] === s; i++) {
      if (positive[order[i]]) tp++;
      else fp++;
    }
    area += ((fp - fp0) * (tp + tp0)) / 2;
  }
  return area / (pos * neg);
}

/**
 * Average precision, the step-wise area under the precision-recall curve: Σ (Rₙ − Rₙ₋₁) Pₙ over
 * distinct thresholds in decreasing order (no interpolation; scikit-learn's
 * average_precision_score). null when there is no positive row.
 */
export function averagePrecision(scores: ArrayLike<number>, positive: ArrayLike<number>): number | null {
  const order = byScoreDesc(scores);
  const pos = countPositives(positive);
  if (pos === 0) return null;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  for (let i = 0; i < order.length;) {
    const s = scores[order[i]];
    const tp0 = tp;
    for (; i < order.length && scores[order[i]] === s; i++, seen++) if (positive[order[i]]) tp++;
    ap += ((tp - tp0) / pos) * (tp / seen);
  }
  return ap;
}

/**
 * One-vs-rest macro average of `metric` over the classes of row-major `probs` (rows × classes):
 * class c's scores are column c, its positives the rows labelled c. Two classes use class 1 only
 * (the binary case). Classes where the metric is undefined are left out; null if all are.
 */
export function oneVsRestMacro(
  metric: (scores: ArrayLike<number>, positive: ArrayLike<number>) => number | null,
  probs: Float32Array,
  rows: number,
  classes: number,
  labels: Int32Array,
): number | null {
  const scores = new Float64Array(rows);
  const positive = new Uint8Array(rows);
  const column = (c: number): number | null => {
    for (let r = 0; r < rows; r++) {
      scores[r] = probs[r * classes + c];
      positive[r] = labels[r] === c ? 1 : 0;
    }
    return metric(scores, positive);
  };
  if (classes === 2) return column(1);
  let sum = 0;
  let n = 0;
  for (let c = 0; c < classes; c++) {
    const v = column(c);
    if (v !== null) {
      sum += v;
      n++;
    }
  }
  return n > 0 ? sum / n : null;
}

/**
 * Calibration table over `bins` equal-width bins of [0, 1]: a probability p goes to the bin of the
 * inner edges below it (p exactly on an edge goes to the lower bin, as scikit-learn's
 * calibration_curve with strategy "uniform"). Empty bins are left out.
 */
export function calibrationTable(
  predicted: ArrayLike<number>,
  happened: ArrayLike<number>,
  bins = 10,
): CalibrationBin[] {
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i];
    let b = Math.ceil(p * bins) - 1;
    b = Math.min(Math.max(b, 0), bins - 1);
    // ceil(p·bins) − 1 counts the inner edges k/bins strictly below p; guard float rounding of k/bins.
    if (b > 0 && p <= b / bins) b--;
    if (b < bins - 1 && p > (b + 1) / bins) b++;
    count[b]++;
    sumP[b] += p;
    sumY[b] += happened[i] ? 1 : 0;
  }
  const table: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    table.push({
      lower: b / bins,
      upper: (b + 1) / bins,
      count: count[b],
      meanPredicted: sumP[b] / count[b],
      observed: sumY[b] / count[b],
    });
  }
  return table;
}

/**
 * The calibration table of class probabilities: for two classes, p(class 1) against "the row is
 * class 1"; for more, the top label's probability against "the top label is right".
 */
export function classCalibration(
  probs: Float32Array,
  rows: number,
  classes: number,
  labels: Int32Array,
  bins = 10,
): CalibrationBin[] {
  const p = new Float64Array(rows);
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    if (classes === 2) {
      p[r] = probs[o + 1];
      y[r] = labels[r] === 1 ? 1 : 0;
      continue;
    }
    let best = 0;
    for (let j = 1; j < classes; j++) if (probs[o + j] > probs[o + best]) best = j;
    p[r] = probs[o + best];
    y[r] = labels[r] === best ? 1 : 0;
  }
  return calibrationTable(p, y, bins);
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of `sorted` (ascending) by linear interpolation between the closest
 * ranks, numpy's default ("linear", type 7). NaN for an empty array.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
