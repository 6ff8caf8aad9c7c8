// Per-prediction contributions (`explain: true` on predict): Shapley values estimated by sampling
// feature orders (Štrumbelj and Kononenko's permutation sampling) against a baseline row.
//
// Baseline: the row with every feature missing, as the encoder imputes it (the training mean of a
// numeric feature, the missing category of a categorical one). For one seeded random order of the
// original columns, the row goes from the baseline to the actual row one column at a time (all of
// a column's inputs together), and each column is credited with the change of the explained output
// at its step. The steps of one order add up to output(row) − output(baseline) exactly, so the mean
// over SAMPLED_ORDERS orders does too. Explained output: the probability of the predicted class,
// or the predicted value in the target's units.
import type { Encoder } from '../data/index.js';
import { createRng, type Predictor } from '../engine/index.js';

/** Feature orders sampled per row. */
export const SAMPLED_ORDERS = 16;
/** Rows one request may ask to explain. */
export const MAX_EXPLAINED_ROWS = 100;

export interface Explanation {
  method: 'shapleySampling';
  /** The explained output at the baseline row. */
  baseline: number;
  /** Per original column; they sum to the explained output minus `baseline`. */
  contributions: Record<string, number>;
}

/**
 * Explanations of `rows` encoded rows `x` (rows × inputSize). `pick(out, r)` reads the explained
 * quantity from the network's output row `out` for request row r (called for the path rows of r).
 */
export function explainRows(
  network: Predictor,
  encoder: Encoder,
  x: Float32Array,
  rows: number,
  pick: (out: Float32Array, r: number) => number,
  seed = 0,
): Explanation[] {
  const inSize = network.inputSize;
  const outSize = network.outputSize;
  const widths = encoder.featureWidths();
  const offsets = widths.map((_, f) => widths.slice(0, f).reduce((a, b) => a + b, 0));
  const features = widths.length;
  const base = encoder.transformRecords([{}]);
  const baseOut = network.predict(base, 1);
  const rng = createRng(seed);
  const steps = features + 1;
  const path = new Float32Array(SAMPLED_ORDERS * steps * inSize);
  const result: Explanation[] = [];
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * inSize, (r + 1) * inSize);
    const orders: number[][] = [];
    for (let k = 0; k < SAMPLED_ORDERS; k++) {
      const order = Array.from({ length: features }, (_, i) => i);
      for (let i = features - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      orders.push(order);
      const start = k * steps * inSize;
      path.set(base, start);
      order.forEach((f, s) => {
        const at = start + (s + 1) * inSize;
        path.copyWithin(at, at - inSize, at);
        path.set(row.subarray(offsets[f], offsets[f] + widths[f]), at + offsets[f]);
      });
    }
    const out = network.predict(path, SAMPLED_ORDERS * steps);
    const value = (i: number) => pick(out.subarray(i * outSize, (i + 1) * outSize), r);
    const sums = new Float64Array(features);
    orders.forEach((order, k) =>
      order.forEach((f, s) => (sums[f] += value(k * steps + s + 1) - value(k * steps + s))),
    );
    const contributions: Record<string, number> = Object.create(null) as Record<string, number>;
    encoder.features.forEach((feat, f) => (contributions[feat.name] = sums[f] / SAMPLED_ORDERS));
    result.push({ method: 'shapleySampling', baseline: pick(baseOut, r), contributions });
  }
  return result;
}
