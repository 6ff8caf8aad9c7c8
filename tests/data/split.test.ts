import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readCsv, splitRows, targetStrata, type Split } from '../../src/data/index.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const LIMITS = { maxColumns: 100, maxRows: 100_000, maxLineBytes: 1 << 16 };

function expectPartition(s: Split, n: number): void {
  const all = [...s.train, ...s.validation, ...s.test].sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
}

describe('splitRows', () => {
  it('when called twice with the same seed, then the split is identical; another seed gives another split', () => {
    const a = splitRows(1000, { validation: 0.15, test: 0.15, seed: 42 });
    const b = splitRows(1000, { validation: 0.15, test: 0.15, seed: 42 });
    const c = splitRows(1000, { validation: 0.15, test: 0.15, seed: 43 });
    expect(b).toEqual(a);
    expect(Array.from(c.test)).not.toEqual(Array.from(a.test));
  });

  it('when splitting, then the sets are disjoint, cover every row and have the rounded sizes', () => {
    const s = splitRows(1001, { validation: 0.2, test: 0.1, seed: 7 });
    expectPartition(s, 1001);
    expect(s.validation.length).toBe(Math.round(1001 * 0.2));
    expect(s.test.length).toBe(Math.round(1001 * 0.1));
    expect(s.train.length).toBe(1001 - Math.round(1001 * 0.2) - Math.round(1001 * 0.1));
  });

  it('when the split is random, then held-out rows are spread over the file, not a block at its end', () => {
    const s = splitRows(1000, { validation: 0, test: 0.5, seed: 1 });
    const firstHalf = Array.from(s.test).filter((i) => i < 500).length;
    expect(firstHalf).toBeGreaterThan(200);
    expect(firstHalf).toBeLessThan(300);
  });

  it('when only the validation fraction differs, then the test rows are the same', () => {
    // A search's trials validate on a split, its refit cross-validates (validation 0): the refit
    // must be tested on rows no trial trained or validated on.
    const strata = Int32Array.from({ length: 150 }, (_, i) => i % 3);
    const a = splitRows(150, { validation: 0.15, test: 0.15, seed: 3, strata });
    const b = splitRows(150, { validation: 0, test: 0.15, seed: 3, strata });
    const c = splitRows(150, { validation: 0.3, test: 0.15, seed: 3, strata });
    expect(Array.from(b.test)).toEqual(Array.from(a.test));
    expect(Array.from(c.test)).toEqual(Array.from(a.test));
    // The trials' training and validation rows are the cross-validated job's training rows.
    expect([...a.train, ...a.validation].sort((x, y) => x - y)).toEqual(Array.from(b.train));
  });

  it('when validation or test is 0, then that set is empty', () => {
    const s = splitRows(50, { validation: 0, test: 0, seed: 1 });
    expect(s.validation.length).toBe(0);
    expect(s.test.length).toBe(0);
    expect(s.train.length).toBe(50);
    const v = splitRows(50, { validation: 0.3, test: 0, seed: 1 });
    expect(v.test.length).toBe(0);
    expect(v.validation.length).toBe(15);
  });

  it('when fractions are out of range, then it throws naming the fraction', () => {
    expect(() => splitRows(10, { validation: -0.1, test: 0, seed: 1 })).toThrow(/validation/);
    expect(() => splitRows(10, { validation: 0, test: 1, seed: 1 })).toThrow(/test/);
    expect(() => splitRows(10, { validation: 0.5, test: 0.5, seed: 1 })).toThrow(/below 1/);
    expect(() => splitRows(10, { validation: 0.1, test: 0.1, seed: 1, strata: new Int32Array(9) })).toThrow(
      /strata/,
    );
  });

  it('when stratified on iris species, then each class is split in the same proportions', async () => {
    const table = await readCsv(readFileSync(fixture('iris.csv'), 'utf8'), LIMITS);
    const strata = targetStrata(table, 'species')!;
    const s = splitRows(table.rowCount, { validation: 0.15, test: 0.15, seed: 42, strata });
    expectPartition(s, 150);
    const species = table.columns[4].values as string[];
    for (const part of [s.train, s.validation, s.test]) {
      const counts = new Map<string, number>();
      for (const r of part) counts.set(species[r], (counts.get(species[r]) ?? 0) + 1);
      // 50 rows a class: round(7.5) = 8 validation and 8 test, 34 train.
      const expected = part === s.train ? 50 - 2 * Math.round(50 * 0.15) : Math.round(50 * 0.15);
      expect([...counts.values()]).toEqual([expected, expected, expected]);
    }
  });

  it('when a class has one or two rows, then they land in train', () => {
    const strata = Int32Array.from([...new Array(40).fill(0), 1, 2, 2]);
    const s = splitRows(strata.length, { validation: 0.3, test: 0.3, seed: 3, strata });
    expectPartition(s, strata.length);
    const train = new Set(s.train);
    expect(train.has(40)).toBe(true);
    expect(train.has(41) || train.has(42)).toBe(true);
    const held = [...s.validation, ...s.test].filter((r) => strata[r] === 0).length;
    expect(held).toBe(2 * Math.round(40 * 0.3));
  });
});

describe('targetStrata', () => {
  it('when the target is categorical, then each row gets its class index in sorted order and a missing target -1', async () => {
    const table = await readCsv('x,y\n1,b\n2,a\n3,\n4,c\n5,a\n', LIMITS);
    expect(Array.from(targetStrata(table, 'y')!)).toEqual([1, 0, -1, 2, 0]);
  });

  it('when the target is numeric, then there are no strata unless the task is classification', async () => {
    const table = await readCsv('x,y\n1,10\n2,2\n3,10\n', LIMITS);
    expect(targetStrata(table, 'y')).toBeUndefined();
    expect(Array.from(targetStrata(table, 'y', 'classification')!)).toEqual([1, 0, 1]);
    expect(targetStrata(table, 'missing-column')).toBeUndefined();
  });
});
