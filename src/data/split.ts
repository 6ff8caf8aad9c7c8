// Seeded train/validation/test split, stratified per class when strata are given.
import { createRng } from '../engine/index.js';
import { classList, findColumn, labelOf, type Table } from './schema.js';

export interface SplitOptions {
  /** Fraction of rows for validation, in [0, 1). */
  validation: number;
  /** Fraction of rows for test, in [0, 1); validation + test < 1. */
  test: number;
  seed: number;
  /** A group per row (e.g. the class index from targetStrata); each group is split in the same proportions. */
  strata?: Int32Array;
}

export interface Split {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
}

/**
 * Row indices 0..n-1 split into disjoint train, validation and test sets covering every row, in
 * ascending order within each set. Each group gets round(size × fraction) validation and test
 * rows, reduced when needed so every non-empty group keeps at least one training row.
 * The same n, options and seed always give the same split, and (unless a group is too small to
 * keep its held-out rows) the test rows do not depend on the validation fraction: a job that
 * validates on a split and a cross-validated one (validation 0) hold out the same test rows.
 */
export function splitRows(n: number, opts: SplitOptions): Split {
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`row count must be a non-negative integer, got ${n}`);
  for (const key of ['validation', 'test'] as const) {
    const f = opts[key];
    if (!(f >= 0 && f < 1)) throw new RangeError(`${key} fraction must be in [0, 1), got ${f}`);
  }
  if (opts.validation + opts.test >= 1) {
    throw new RangeError(`validation + test must be below 1, got ${opts.validation + opts.test}`);
  }
  if (opts.strata && opts.strata.length !== n) {
    throw new RangeError(`strata has ${opts.strata.length} entries for ${n} rows`);
  }
  const rng = createRng(opts.seed);
  const groups = groupRows(n, opts.strata);
  const train: number[] = [];
  const validation: number[] = [];
  const test: number[] = [];
  for (const group of groups) {
    rng.shuffle(group);
    const size = group.length;
    let nVal = Math.round(size * opts.validation);
    let nTest = Math.round(size * opts.test);
    // A small class still lands in train: give back held-out rows, the larger share first.
    while (size - nVal - nTest < 1 && nVal + nTest > 0) {
      if (nTest >= nVal) nTest--;
      else nVal--;
    }
    // Test rows first: they depend on the seed and the test fraction only, so a job with a
    // validation split and a cross-validated one (validation 0) test on the same rows.
    for (let i = 0; i < size; i++) {
      if (i < nTest) test.push(group[i]);
      else if (i < nTest + nVal) validation.push(group[i]);
      else train.push(group[i]);
    }
  }
  const sorted = (a: number[]): Int32Array => Int32Array.from(a).sort();
  return { train: sorted(train), validation: sorted(validation), test: sorted(test) };
}

/** Row indices per stratum, strata in ascending order of their value; one group without strata. */
function groupRows(n: number, strata?: Int32Array): Int32Array[] {
  if (!strata) {
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return [all];
  }
  const byKey = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const k = strata[i];
    let g = byKey.get(k);
    if (!g) byKey.set(k, (g = []));
    g.push(i);
  }
  return [...byKey.keys()].sort((a, b) => a - b).map((k) => Int32Array.from(byKey.get(k)!));
}

/**
 * The stratum of each row for splitting on a classification target: the index of its class in the
 * sorted class list, -1 for a missing target (those rows form their own stratum). Undefined for a
 * numeric target unless `task` is 'classification' (a numeric target used as class labels).
 */
export function targetStrata(
  table: Table,
  target: string,
  task?: 'classification' | 'regression',
): Int32Array | undefined {
  const col = findColumn(table, target);
  if (!col) return undefined;
  if (col.type === 'numeric' && task !== 'classification') return undefined;
  if (task === 'regression') return undefined;
  const keys = Array.from({ length: table.rowCount }, (_, i) => labelOf(col, i));
  const classes = classList(table, target);
  const index = new Map(classes.map((c, i) => [c, i]));
  const out = new Int32Array(table.rowCount);
  for (let i = 0; i < table.rowCount; i++) {
    const k = keys[i];
    out[i] = k === null ? -1 : index.get(k)!;
  }
  return out;
}

/**
 * The rows split into k folds for cross-validation: seeded, stratified when strata are given
 * (strata indexed by table row). Each stratum is shuffled and dealt to the folds in turn, the
 * deal continuing from stratum to stratum, so fold sizes differ by at most one and every fold
 * holds about 1/k of each class. Folds come back sorted; together they are exactly `rows`.
 */
export function kFolds(rows: Int32Array, k: number, seed: number, strata?: Int32Array): Int32Array[] {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`folds must be an integer ≥ 2, got ${k}`);
  if (rows.length < k) throw new RangeError(`${rows.length} rows cannot make ${k} folds`);
  const rng = createRng(seed);
  const byKey = new Map<number, number[]>();
  for (const r of rows) {
    const key = strata ? strata[r] : 0;
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = []));
    g.push(r);
  }
  const folds: number[][] = Array.from({ length: k }, () => []);
  let next = 0;
  for (const key of [...byKey.keys()].sort((a, b) => a - b)) {
    const group = Int32Array.from(byKey.get(key)!);
    rng.shuffle(group);
    for (const r of group) {
      folds[next].push(r);
      next = (next + 1) % k;
    }
  }
  return folds.map((f) => Int32Array.from(f).sort());
}
