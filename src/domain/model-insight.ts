// What a trained model is worth and what it relies on, computed right after training (pure):
// - baselines: the test metrics of predicting without the features (majority class and stratified
//   random draws for classification, the training mean and median for regression);
// - permutation feature importance: how much the test score drops when one original column's
//   inputs (all its one-hot inputs together) are shuffled across rows, over seeded repeats.
import type { Encoded, Encoder } from '../data/index.js';
import {
  classificationMetrics,
  createRng,
  lossFunctions,
  regressionMetrics,
  type LossName,
  type Rng,
  type Predictor,
} from '../engine/index.js';
import type { Model } from './schemas.js';

/** Shuffles repeated per feature; at most this many test rows are scored per shuffle. */
export const IMPORTANCE_REPEATS = 5;
export const IMPORTANCE_MAX_ROWS = 2000;

type Baselines = NonNullable<Model['baselines']>;
type ClassificationBaseline = Extract<Baselines, { majority: unknown }>['majority'];
type RegressionBaseline = Extract<Baselines, { mean: unknown }>['mean'];

/** Class frequencies of the training labels. */
function priors(labels: Int32Array, classes: number): Float64Array {
  const p = new Float64Array(classes);
  for (const l of labels) p[l]++;
  for (let c = 0; c < classes; c++) p[c] /= Math.max(labels.length, 1);
  return p;
}

function classificationBaseline(probs: Float32Array, rows: number, classes: number, labels: Int32Array) {
  const {
    perClass: _perClass,
    calibration: _calibration,
    ...m
  } = classificationMetrics(probs, rows, classes, labels);
  return { ...m, loss: m.logLoss } satisfies ClassificationBaseline;
}

/**
 * Classification baselines on `test` with the training split's class frequencies: `majority`
 * predicts those frequencies for every row (so its label is the most frequent class, as
 * scikit-learn's DummyClassifier "prior"); `stratified` draws each row's label from them (seeded)
 * and gives it probability 1. Their `loss` is the log loss.
 */
export function classificationBaselines(train: Encoded, test: Encoded, classes: number, seed: number) {
  const p = priors(train.labels!, classes);
  const rows = test.rows;
  const majority = new Float32Array(rows * classes);
  const stratified = new Float32Array(rows * classes);
  const rng = createRng(seed);
  for (let r = 0; r < rows; r++) {
    majority.set(p, r * classes);
    let u = rng.next();
    let c = 0;
    while (c < classes - 1 && u >= p[c]) u -= p[c++];
    stratified[r * classes + c] = 1;
  }
  return {
    majority: classificationBaseline(majority, rows, classes, test.labels!),
    stratified: classificationBaseline(stratified, rows, classes, test.labels!),
  };
}

/**
 * Regression baselines on `test`: the training target's mean and median predicted for every row,
 * metrics in the target's units; `loss` is the training loss on the standardized target.
 */
export function regressionBaselines(train: Encoded, test: Encoded, encoder: Encoder, loss: LossName) {
  const sorted = Float64Array.from(train.y).sort();
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(sorted.length, 1);
  const truth = Float32Array.from(test.y, (v) => encoder.decodeValue(v));
  const baseline = (standardized: number): RegressionBaseline => {
    const pred = new Float32Array(test.rows).fill(standardized);
    return {
      loss: lossFunctions[loss].value(pred, test.y, test.rows, 1),
      ...regressionMetrics(new Float32Array(test.rows).fill(encoder.decodeValue(standardized)), truth),
    };
  };
  return { mean: baseline(mean), median: baseline(median) };
}

/** Accuracy (classification) or r² (regression, standardized units: r² does not depend on them). */
function score(
  model: Predictor,
  x: Float32Array,
  data: Encoded,
  task: 'classification' | 'regression',
): number {
  const out = model.predict(x, data.rows);
  if (task === 'regression') return regressionMetrics(out, data.y).r2;
  const k = model.outputSize;
  let correct = 0;
  for (let r = 0; r < data.rows; r++) {
    let best = 0;
    if (k === 1) best = out[r] >= 0.5 ? 1 : 0;
    else for (let j = 1; j < k; j++) if (out[r * k + j] > out[r * k + best]) best = j;
    if (best === data.labels![r]) correct++;
  }
  return correct / Math.max(data.rows, 1);
}

/** The first `max` rows of `data` (the test split is already a seeded random sample). */
function head(data: Encoded, inSize: number, outSize: number, max: number): Encoded {
  if (data.rows <= max) return data;
  return {
    x: data.x.subarray(0, max * inSize),
    y: data.y.subarray(0, max * outSize),
    rows: max,
    labels: data.labels?.subarray(0, max) ?? null,
    kept: data.kept.subarray(0, max),
  };
}

/** Shuffles rows of the block [off, off + width) of x in place with a seeded Fisher-Yates. */
function shuffleBlock(x: Float32Array, rows: number, inSize: number, off: number, width: number, rng: Rng) {
  for (let i = rows - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    for (let c = off; c < off + width; c++) {
      const t = x[i * inSize + c];
      x[i * inSize + c] = x[j * inSize + c];
      x[j * inSize + c] = t;
    }
  }
}

/**
 * Permutation feature importance on `data` (the test split, at most IMPORTANCE_MAX_ROWS rows):
 * for each original column, score − score with that column's inputs shuffled across rows, mean and
 * standard deviation (population) over IMPORTANCE_REPEATS seeded shuffles; score is accuracy or r².
 * Sorted by decreasing mean. `signal` aborted → null (a cancelled job does not wait for it).
 */
export function permutationImportance(
  model: Predictor,
  encoder: Encoder,
  full: Encoded,
  seed: number,
  signal?: AbortSignal,
): NonNullable<Model['featureImportance']> | null {
  const inSize = model.inputSize;
  const data = head(full, inSize, model.outputSize, IMPORTANCE_MAX_ROWS);
  const task = encoder.task;
  const base = score(model, data.x, data, task);
  const rng = createRng(seed);
  const x = new Float32Array(data.x.length);
  const widths = encoder.featureWidths();
  const out: NonNullable<Model['featureImportance']> = [];
  let off = 0;
  for (let f = 0; f < widths.length; f++) {
    if (signal?.aborted) return null;
    const drops: number[] = [];
    for (let r = 0; r < IMPORTANCE_REPEATS; r++) {
      x.set(data.x);
      shuffleBlock(x, data.rows, inSize, off, widths[f], rng);
      drops.push(base - score(model, x, data, task));
    }
    const mean = drops.reduce((a, b) => a + b, 0) / drops.length;
    const std = Math.sqrt(drops.reduce((a, b) => a + (b - mean) ** 2, 0) / drops.length);
    out.push({ feature: encoder.features[f].name, mean, std });
    off += widths[f];
  }
  return out.sort((a, b) => b.mean - a.mean);
}
