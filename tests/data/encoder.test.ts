import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Encoder,
  EncoderError,
  RowValueError,
  fitEncoder,
  readCsv,
  splitRows,
  targetStrata,
  type Table,
} from '../../src/data/index.js';
import { smoothClip } from '../../src/data/encoder.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const LIMITS = { maxColumns: 100, maxRows: 100_000, maxLineBytes: 1 << 16 };
const load = (name: string): Promise<Table> => readCsv(readFileSync(fixture(name), 'utf8'), LIMITS);
const range = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
const col = (t: Table, name: string) => t.columns[t.names.indexOf(name)];

/** Column j of a row-major matrix with `width` columns. */
function column(x: Float32Array, width: number, j: number): number[] {
  const out: number[] = [];
  for (let i = j; i < x.length; i += width) out.push(x[i]);
  return out;
}
/** Where a feature's inputs start and how many there are, from the encoder's own JSON. */
function block(enc: Encoder, name: string): { offset: number; width: number } {
  let offset = 0;
  for (const f of enc.toJSON().features) {
    const width =
      f.type === 'categorical'
        ? f.categories.length + (f.missingSlot ? 1 : 0)
        : f.type === 'datetime'
          ? f.parts.length
          : 1;
    if (f.name === name) return { offset, width };
    offset += width;
  }
  throw new Error(`no feature ${name}`);
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const popStd = (xs: number[]): number => Math.sqrt(mean(xs.map((v) => (v - mean(xs)) ** 2)));

describe('encoder on iris (classification)', () => {
  let iris: Table;
  let features: string[];
  beforeAll(async () => {
    iris = await load('iris.csv');
    features = iris.names.slice(0, 4);
  });

  it('when standardizing, then each training column has mean 0 and std 1, and y is one-hot over the sorted classes', () => {
    const split = splitRows(iris.rowCount, {
      validation: 0.2,
      test: 0,
      seed: 5,
      strata: targetStrata(iris, 'species'),
    });
    const enc = fitEncoder(
      iris,
      { features, target: 'species', task: 'classification', scaling: 'standardize' },
      split.train,
    );
    expect(enc.inputSize).toBe(4);
    expect(enc.outputSize).toBe(3);
    expect(enc.classes).toEqual([...new Set(col(iris, 'species').values as string[])].sort());
    const d = enc.transform(iris, split.train);
    expect(d.rows).toBe(split.train.length);
    expect(Array.from(d.kept)).toEqual(Array.from(split.train));
    for (let j = 0; j < 4; j++) {
      const c = column(d.x, 4, j);
      expect(mean(c)).toBeCloseTo(0, 5);
      expect(popStd(c)).toBeCloseTo(1, 4);
    }
    const species = col(iris, 'species').values as string[];
    for (let i = 0; i < d.rows; i++) {
      const label = d.labels![i];
      expect(enc.classes![label]).toBe(species[d.kept[i]]);
      expect(Array.from(d.y.subarray(i * 3, i * 3 + 3))).toEqual([0, 1, 2].map((k) => (k === label ? 1 : 0)));
    }
  });

  it('when scaling minmax, then training columns span exactly [0, 1] and other rows may fall outside', () => {
    const train = Int32Array.from(range(150).filter((i) => i % 2 === 0));
    const enc = fitEncoder(
      iris,
      { features, target: 'species', task: 'classification', scaling: 'minmax' },
      train,
    );
    const d = enc.transform(iris, train);
    for (let j = 0; j < 4; j++) {
      const c = column(d.x, 4, j);
      expect(Math.min(...c)).toBe(0);
      expect(Math.max(...c)).toBeCloseTo(1, 6);
    }
    const raw = col(iris, features[0]).values as Float64Array;
    const trainVals = Array.from(train, (r) => raw[r]);
    const lo = Math.min(...trainVals);
    const hi = Math.max(...trainVals);
    const all = enc.transform(iris, range(150));
    expect(all.x[1 * 4]).toBeCloseTo((raw[1] - lo) / (hi - lo), 6);
  });

  it('when scaling is none, then values pass through unchanged', () => {
    const enc = fitEncoder(
      iris,
      { features, target: 'species', task: 'classification', scaling: 'none' },
      range(100),
    );
    const d = enc.transform(iris, range(150));
    expect(column(d.x, 4, 2)).toEqual(
      Array.from(col(iris, features[2]).values as Float64Array, (v) => Math.fround(v)),
    );
  });

  it('when a classification target has two classes and binaryOutput is set, then y is one 0/1 column for classes[1]', async () => {
    const t = await readCsv('x,y\n1,no\n2,yes\n3,no\n4,yes\n5,\n', LIMITS);
    const enc = fitEncoder(
      t,
      { features: ['x'], target: 'y', task: 'classification', scaling: 'none', binaryOutput: true },
      range(5),
    );
    expect(enc.outputSize).toBe(1);
    expect(enc.classes).toEqual(['no', 'yes']);
    const d = enc.transform(t, range(5));
    expect(Array.from(d.kept)).toEqual([0, 1, 2, 3]);
    expect(Array.from(d.y)).toEqual([0, 1, 0, 1]);
    expect(() =>
      fitEncoder(
        iris,
        { features, target: 'species', task: 'classification', scaling: 'none', binaryOutput: true },
        range(150),
      ),
    ).toThrow(EncoderError);
  });
});

describe('encoder with a numeric target used for classification', () => {
  it('when the classes are numbers, then they sort numerically and a sigmoid output marks the larger one', async () => {
    const t = await readCsv('x,label\n0.5,10\n1.5,2\n2.5,10\n3.5,2\n', LIMITS);
    const enc = fitEncoder(
      t,
      { features: ['x'], target: 'label', task: 'classification', scaling: 'none', binaryOutput: true },
      range(4),
    );
    expect(enc.classes).toEqual(['2', '10']);
    const d = enc.transform(t, range(4));
    expect(Array.from(d.y)).toEqual([1, 0, 1, 0]);
    expect(Array.from(d.labels!)).toEqual([1, 0, 1, 0]);
  });

  it('when the classes are written 0.0/1.0, then they keep that text and rows written 0/1 still find them', async () => {
    const t = await readCsv('x,label\n0.5,1.0\n1.5,0.0\n2.5,1.0\n', LIMITS);
    const enc = fitEncoder(
      t,
      { features: ['x'], target: 'label', task: 'classification', scaling: 'none' },
      range(3),
    );
    expect(enc.classes).toEqual(['0.0', '1.0']);
    const plain = await readCsv('x,label\n0.5,1\n1.5,0\n9,2\n', LIMITS); // 2 is no class: left out
    const d = enc.transform(plain, range(3));
    expect(Array.from(d.labels!)).toEqual([1, 0]);
    expect(Array.from(d.kept)).toEqual([0, 1]);
  });

  it('when the classes are yes/no, then rows of a file writing TRUE/FALSE find them by value', async () => {
    const t = await readCsv('x,label\n0.5,yes\n1.5,no\n2.5,yes\n', LIMITS);
    const enc = fitEncoder(
      t,
      { features: ['x'], target: 'label', task: 'classification', scaling: 'none' },
      range(3),
    );
    expect(enc.classes).toEqual(['no', 'yes']);
    const other = await readCsv('x,label\n0.5,TRUE\n1.5,FALSE\n', LIMITS);
    expect(Array.from(enc.transform(other, range(2)).labels!)).toEqual([1, 0]);
  });

  it('when transforming a table whose column has another type than in training, then it throws EncoderError naming it', async () => {
    const t = await readCsv('x,label\n1,a\n2,b\n', LIMITS);
    const enc = fitEncoder(
      t,
      { features: ['x'], target: 'label', task: 'classification', scaling: 'none' },
      range(2),
    );
    const other = await readCsv('x,label\none,a\ntwo,b\n', LIMITS);
    expect(() => enc.transform(other, range(2))).toThrow(/"x" is categorical/);
  });
});

describe('encoder on loans (missing values, categorical features)', () => {
  let loans: Table;
  const opts = {
    features: ['age', 'income', 'employment', 'region', 'debt_ratio', 'has_mortgage'],
    target: 'decision',
    task: 'classification' as const,
    scaling: 'standardize' as const,
  };
  beforeAll(async () => {
    loans = await load('loans.csv');
  });

  it('when fitting, then numeric missing values are imputed with the training mean only; an extreme validation value changes nothing', () => {
    const split = splitRows(loans.rowCount, {
      validation: 0.15,
      test: 0.15,
      seed: 42,
      strata: targetStrata(loans, 'decision'),
    });
    const age = col(loans, 'age').values as Float64Array;
    const victim = Array.from(split.validation).find((r) => !Number.isNaN(age[r]))!;
    const trainAges = Array.from(split.train, (r) => age[r]).filter((v) => !Number.isNaN(v));
    const trainMean = mean(trainAges);

    const enc = fitEncoder(loans, opts, split.train);
    const tampered: Table = {
      ...loans,
      columns: loans.columns.map((c) =>
        c.name === 'age' && c.type === 'numeric' ? { ...c, values: Float64Array.from(age) } : c,
      ),
    };
    (col(tampered, 'age').values as Float64Array)[victim] = 1e9;
    const encTampered = fitEncoder(tampered, opts, split.train);
    expect(encTampered.toJSON()).toEqual(enc.toJSON());

    const ageState = enc.toJSON().features.find((f) => f.name === 'age')!;
    expect(ageState).toMatchObject({ type: 'numeric' });
    if (ageState.type !== 'numeric') throw new Error('numeric expected');
    expect(ageState.impute).toBeCloseTo(trainMean, 9);
    expect(ageState.scale).toBeCloseTo(popStd(trainAges), 6);

    // A training row with a missing age encodes as the mean: 0 after standardizing.
    const missingRow = Array.from(split.train).find((r) => Number.isNaN(age[r]))!;
    const d = enc.transform(loans, Int32Array.of(missingRow));
    expect(d.x[0]).toBe(0);
    // The tampered validation row is transformed with the training statistics.
    const v = encTampered.transform(tampered, Int32Array.of(victim));
    expect(v.x[0] / ((1e9 - trainMean) / popStd(trainAges))).toBeCloseTo(1, 6); // float32 output: compare relatively
  });

  it('when a categorical feature has missing training values, then it has one input per training category plus one for missing', () => {
    const train = range(2000);
    const enc = fitEncoder(loans, opts, train);
    let expectedWidth = 0;
    for (const name of opts.features) {
      const c = col(loans, name);
      if (c.type === 'numeric' || c.type === 'boolean') expectedWidth += 1;
      else if (c.type === 'categorical') {
        const vals = Array.from(train, (r) => c.values[r]);
        expectedWidth += new Set(vals.filter((v) => v !== null)).size + (vals.includes(null) ? 1 : 0);
      }
    }
    expect(enc.inputSize).toBe(expectedWidth);
    const d = enc.transform(loans, train);
    // Each categorical block is one-hot: exactly one 1 per row, the missing slot for a missing value.
    const emp = col(loans, 'employment').values as (string | null)[];
    const empCats = [...new Set(emp.slice(0, 2000).filter((v): v is string => v !== null))].sort();
    const start = 2; // after age and income
    for (let i = 0; i < 50; i++) {
      const block = Array.from(
        d.x.subarray(i * enc.inputSize + start, i * enc.inputSize + start + empCats.length + 1),
      );
      expect(block.reduce((a, b) => a + b, 0)).toBe(1);
      const hot = block.indexOf(1);
      expect(hot === empCats.length ? null : empCats[hot]).toBe(emp[i]);
    }
  });

  it('when the target is missing in some rows, then those rows are dropped and kept lists the others', async () => {
    const t = await readCsv('a,b,y\n1,x,p\n2,y,\n3,x,q\n4,,NA\n5,y,p\n', LIMITS);
    const enc = fitEncoder(
      t,
      { features: ['a', 'b'], target: 'y', task: 'classification', scaling: 'none' },
      range(5),
    );
    const d = enc.transform(t, range(5));
    expect(Array.from(d.kept)).toEqual([0, 2, 4]);
    expect(d.rows).toBe(3);
    expect(Array.from(d.labels!)).toEqual([0, 1, 0]);
    expect(d.x.length).toBe(3 * enc.inputSize);
  });

  it('when the spec names an unknown column, the target as a feature, or a categorical regression target, then fitting throws EncoderError', () => {
    expect(() => fitEncoder(loans, { ...opts, features: ['nope'] }, range(10))).toThrow(/nope/);
    expect(() => fitEncoder(loans, { ...opts, features: ['age', 'decision'] }, range(10))).toThrow(
      EncoderError,
    );
    expect(() => fitEncoder(loans, { ...opts, target: 'gone' }, range(10))).toThrow(EncoderError);
    expect(() => fitEncoder(loans, { ...opts, task: 'regression' }, range(10))).toThrow(/numeric target/);
  });

  describe('transformRecords', () => {
    let enc: Encoder;
    let reference: Record<string, unknown>;
    beforeAll(() => {
      enc = fitEncoder(loans, opts, range(3000));
      reference = {
        age: 40,
        income: 50000,
        employment: 'retired',
        region: 'west',
        debt_ratio: 0.3,
        has_mortgage: 'no',
      };
    });

    it('when values come as in the CSV, then numeric strings equal numbers and extra keys are ignored', () => {
      const a = enc.transformRecords([reference]);
      const b = enc.transformRecords([
        { ...reference, age: '40', income: ' 5e4 ', unrelated: { deep: true }, decision: 'approve' },
      ]);
      expect(Array.from(b)).toEqual(Array.from(a));
      const table = enc.transform(loans, range(5));
      const fromRecords = enc.transformRecords(
        Array.from({ length: 5 }, (_, r) =>
          Object.fromEntries(
            loans.columns.map((c) => [
              c.name,
              c.type === 'numeric' ? (Number.isNaN(c.values[r]) ? null : c.values[r]) : c.values[r],
            ]),
          ),
        ),
      );
      expect(Array.from(fromRecords)).toEqual(Array.from(table.x));
    });

    it('when a value is absent, null or NA, then it is imputed: numeric to the training mean, categorical to its missing input', () => {
      const { age: _age, employment: _emp, ...rest } = reference;
      const absent = enc.transformRecords([rest]);
      const nulls = enc.transformRecords([{ ...reference, age: null, employment: 'NA' }]);
      expect(Array.from(nulls)).toEqual(Array.from(absent));
      expect(absent[0]).toBe(0); // standardized mean
      const empCats = (enc.toJSON().features.find((f) => f.name === 'employment') as { categories: string[] })
        .categories;
      expect(Array.from(absent.subarray(2, 2 + empCats.length + 1))).toEqual([...empCats.map(() => 0), 1]);
    });

    it('when a value has the wrong type, then RowValueError names the 0-based row and the column', () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ ...reference, age: 'forty' }, 'age'],
        [{ ...reference, income: true }, 'income'],
        [{ ...reference, region: { name: 'west' } }, 'region'],
        [{ ...reference, employment: ['retired'] }, 'employment'],
      ];
      for (const [bad, column] of cases) {
        try {
          enc.transformRecords([reference, reference, bad]);
          throw new Error('expected a RowValueError');
        } catch (err) {
          expect(err).toBeInstanceOf(RowValueError);
          expect(err).toMatchObject({ row: 2, column });
          expect((err as Error).message).toContain(`row 2, column "${column}"`);
        }
      }
    });

    it('when a category was not seen in training, then it is encoded exactly as a missing one by default and an error when unknownCategory is error', () => {
      const x = enc.transformRecords([{ ...reference, region: 'atlantis' }]);
      const missing = enc.transformRecords([{ ...reference, region: null }]);
      const { offset, width } = block(enc, 'region');
      expect(width).toBeGreaterThan(0);
      expect(Array.from(x.subarray(offset, offset + width))).toEqual(
        Array.from(missing.subarray(offset, offset + width)),
      );
      const known = enc.transformRecords([reference]);
      expect(Array.from(known.subarray(offset, offset + width)).filter((v) => v === 1)).toHaveLength(1);
      const strict = fitEncoder(loans, { ...opts, unknownCategory: 'error' }, range(3000));
      expect(() => strict.transformRecords([reference, { ...reference, region: 'atlantis' }])).toThrow(
        RowValueError,
      );
      expect(() => strict.transformRecords([reference])).not.toThrow();
    });

    it('when a number is given for a categorical column, then its string form is the category', async () => {
      const t = await readCsv('grade,y\n1,a\n2,b\nx,a\n', LIMITS);
      const e = fitEncoder(
        t,
        { features: ['grade'], target: 'y', task: 'classification', scaling: 'none' },
        range(3),
      );
      expect(Array.from(e.transformRecords([{ grade: 2 }]))).toEqual(
        Array.from(e.transformRecords([{ grade: '2' }])),
      );
      expect(Array.from(e.transformRecords([{ grade: 2 }])).some((v) => v === 1)).toBe(true);
    });
  });
});

describe('encoder on friedman1 (regression)', () => {
  it('when the target is numeric, then y is standardized with training statistics and decodeValue inverts it', async () => {
    const t = await load('friedman1.csv');
    const features = t.names.filter((n) => n !== 'y');
    const split = splitRows(t.rowCount, { validation: 0.2, test: 0.1, seed: 9 });
    const enc = fitEncoder(
      t,
      { features, target: 'y', task: 'regression', scaling: 'standardize' },
      split.train,
    );
    expect(enc.outputSize).toBe(1);
    expect(enc.classes).toBeNull();
    const d = enc.transform(t, split.train);
    expect(d.labels).toBeNull();
    expect(mean(Array.from(d.y))).toBeCloseTo(0, 5);
    expect(popStd(Array.from(d.y))).toBeCloseTo(1, 4);
    const raw = col(t, 'y').values as Float64Array;
    const test = enc.transform(t, split.test);
    for (let i = 0; i < test.rows; i++) {
      expect(enc.decodeValue(test.y[i])).toBeCloseTo(raw[test.kept[i]], 4);
    }
  });
});

describe('encoder JSON', () => {
  it('when serialized and restored, then transforms and record transforms are identical', async () => {
    const loans = await load('loans.csv');
    const split = splitRows(loans.rowCount, { validation: 0.15, test: 0.15, seed: 1 });
    const enc = fitEncoder(
      loans,
      {
        features: ['age', 'income', 'employment', 'region'],
        target: 'decision',
        task: 'classification',
        scaling: 'minmax',
        unknownCategory: 'error',
      },
      split.train,
    );
    const restored = Encoder.fromJSON(JSON.parse(JSON.stringify(enc)));
    const viaStatic = Encoder.fromJSON(enc.toJSON());
    for (const e of [restored, viaStatic]) {
      expect(e.inputSize).toBe(enc.inputSize);
      expect(e.outputSize).toBe(enc.outputSize);
      expect(e.classes).toEqual(enc.classes);
      expect(e.features).toEqual(enc.features);
      expect(e.transform(loans, split.test)).toEqual(enc.transform(loans, split.test));
      const recs = [
        { age: 30, employment: 'salaried' },
        { income: '1000', region: null },
      ];
      expect(e.transformRecords(recs)).toEqual(enc.transformRecords(recs));
      expect(() => e.transformRecords([{ region: 'atlantis' }])).toThrow(RowValueError);
    }
  });

  it('when the JSON is invalid, then fromJSON throws EncoderError naming the field', async () => {
    const t = await readCsv('x,y\n1,2\n3,5\n', LIMITS);
    const good = fitEncoder(
      t,
      { features: ['x'], target: 'y', task: 'regression', scaling: 'standardize' },
      range(2),
    ).toJSON();
    expect(() => Encoder.fromJSON({ ...good, version: 2 })).toThrow(/version/);
    expect(() => Encoder.fromJSON({ ...good, targetStd: 0 })).toThrow(/targetStd/);
    expect(() =>
      Encoder.fromJSON({
        ...good,
        features: [{ name: 'x', type: 'numeric', impute: 0, shift: 0, scale: -1 }],
      }),
    ).toThrow(/features/);
    expect(() => Encoder.fromJSON({ ...good, task: 'classification', classes: ['only'] })).toThrow(/classes/);
    expect(() => Encoder.fromJSON('nonsense')).toThrow(EncoderError);
    expect(Encoder.fromJSON(good).decodeValue(0)).toBe(good.targetMean);
  });

  it('when a fit gives what no stored encoder may hold, then fitting throws EncoderError naming the field instead of building it', async () => {
    // max − min = 1.7e308 − (−1.7e308) overflows to Infinity in float64: a scale JSON cannot keep.
    const t = await readCsv('x,y\n-1.7e308,1\n1.7e308,2\n5,3\n', LIMITS);
    const fit = (scaling: 'minmax' | 'none') =>
      fitEncoder(t, { features: ['x'], target: 'y', task: 'regression', scaling }, range(3));
    expect(() => fit('minmax')).toThrow(EncoderError);
    expect(() => fit('minmax')).toThrow(/features\.0\.scale/);
    expect(fit('none').toJSON().features[0]).toMatchObject({ shift: 0, scale: 1 });
  });
});

describe('robust scaling, missing indicators and binary categoricals', () => {
  // A small table whose statistics are worked out by hand below.
  const csv = ['x,flag,y', '1,yes,a', '2,no,b', '3,yes,a', '4,no,b', '100,yes,a', ',no,b'].join('\n');

  it('when scaling is robust, then x is shifted by the median, divided by the IQR and smoothly clipped into (−3, 3)', async () => {
    const t = await readCsv(csv, LIMITS);
    const enc = fitEncoder(
      t,
      { features: ['x'], target: 'y', task: 'classification', scaling: 'robust' },
      range(6),
    );
    // Training values 1, 2, 3, 4, 100: median 3, q25 = 2, q75 = 4 (linear interpolation), IQR 2.
    const f = enc.toJSON().features[0];
    expect(f).toMatchObject({ shift: 3, scale: 2, clip: 3 });
    const enc0 = enc.transform(t, range(6)).x;
    const clip = (s: number) => s / Math.sqrt(1 + (s / 3) ** 2);
    // 1 → (1 − 3)/2 = −1 → −1/√(1 + 1/9) = −0.9487; 100 → 48.5 → 2.9943 (inside 3).
    expect(enc0[0]).toBeCloseTo(clip(-1), 6);
    expect(enc0[0]).toBeCloseTo(-0.948683, 5);
    expect(enc0[4]).toBeCloseTo(2.99427, 4);
    expect(Math.max(...enc0)).toBeLessThan(3);
  });

  it('when a scaled value is far past the clip, then the smooth clip gives the clip, not 0, even where its square overflows', () => {
    // s / √(1 + (s/3)²) by hand: s = 3 gives 3/√2 = 2.1213203; s = −30 gives −30/√101 = −2.9851116.
    expect(smoothClip(3, 3)).toBeCloseTo(2.1213203, 6);
    expect(smoothClip(-30, 3)).toBeCloseTo(-2.9851116, 6);
    expect(smoothClip(0, 3)).toBe(0);
    // (1e200/3)² overflows float64: the naive formula gives 1e200/∞ = 0.
    expect(1e200 / Math.sqrt(1 + (1e200 / 3) ** 2)).toBe(0);
    expect(smoothClip(1e200, 3)).toBe(3);
    expect(smoothClip(-Infinity, 3)).toBe(-3);
    // Both branches meet at |s| = clip.
    expect(Math.abs(smoothClip(3 + 1e-9, 3) - smoothClip(3, 3))).toBeLessThan(1e-8);
  });

  it('when a numeric feature had missing training values, then a missing-indicator input follows it', async () => {
    const t = await readCsv(csv, LIMITS);
    const enc = fitEncoder(
      t,
      { features: ['x'], target: 'y', task: 'classification', scaling: 'none', missingIndicators: true },
      range(6),
    );
    expect(enc.inputSize).toBe(2);
    const x = enc.transform(t, range(6)).x;
    // The last row is missing: imputed with the mean of 1, 2, 3, 4, 100 = 22, indicator 1.
    expect(Array.from(x.subarray(10, 12))).toEqual([22, 1]);
    expect(Array.from(x.subarray(0, 2))).toEqual([1, 0]);
    expect(Array.from(enc.transformRecords([{ x: null }, { x: 5 }]))).toEqual([22, 1, 5, 0]);
  });

  it('when numeric, categorical and indicator inputs mix, then continuousInputs lists only the numeric values', async () => {
    const t = await readCsv(csv, LIMITS, { columnTypes: { flag: 'categorical' } });
    const enc = fitEncoder(
      t,
      {
        features: ['flag', 'x'],
        target: 'y',
        task: 'classification',
        scaling: 'none',
        missingIndicators: true,
      },
      range(6),
    );
    // flag: two one-hot inputs (0, 1), then x's value (2) and its missing indicator (3).
    expect(enc.inputSize).toBe(4);
    expect(enc.continuousInputs()).toEqual([2]);
  });

  it('when a categorical feature has two categories, then it is one 0/1 input, ½ when missing at prediction', async () => {
    // yes/no would be read as a boolean column; declared categorical it has two categories.
    const t = await readCsv(csv, LIMITS, { columnTypes: { flag: 'categorical' } });
    const enc = fitEncoder(
      t,
      { features: ['flag'], target: 'y', task: 'classification', scaling: 'none', binaryAsOneInput: true },
      range(6),
    );
    expect(enc.inputSize).toBe(1);
    expect(Array.from(enc.transform(t, range(4)).x)).toEqual([1, 0, 1, 0]);
    expect(Array.from(enc.transformRecords([{ flag: 'no' }, { flag: null }, { flag: 'maybe' }]))).toEqual([
      0, 0.5, 0.5,
    ]);
    const strict = Encoder.fromJSON({ ...enc.toJSON(), unknownCategory: 'error' });
    expect(() => strict.transformRecords([{ flag: 'maybe' }])).toThrow(RowValueError);
    // Round trip through JSON keeps the one-input form.
    expect(Encoder.fromJSON(enc.toJSON()).inputSize).toBe(1);
  });
});

describe('datetime features', () => {
  it('when a datetime column is a feature, then it becomes its calendar features, never a one-hot of dates', async () => {
    // Hand-computed: 2024-03-01 is a Friday (getUTCDay 5), day 31 + 29 + 1 = 61 of leap 2024;
    // 2023-12-31 a Sunday (0), day 365; 2024-01-01 a Monday (1), day 1. Hours as h + min/60.
    const t = await readCsv(
      'at,day,y\n2024-03-01T14:30:00Z,2024-03-01,1\n2023-12-31T00:00:00Z,2023-12-31,2\n2024-01-01T06:00:00Z,2024-01-01,3\n',
      LIMITS,
    );
    expect(t.columns.map((c) => c.type)).toEqual(['datetime', 'datetime', 'numeric']);
    const enc = fitEncoder(
      t,
      { features: ['at', 'day'], target: 'y', task: 'regression', scaling: 'none' },
      range(3),
    );
    expect(enc.inputSize).toBe(5 + 4); // year, month, day of week, day of year, hour; no hour for dates
    const d = enc.transform(t, range(3));
    const rows = Array.from({ length: 3 }, (_, i) => Array.from(d.x.subarray(i * 9, i * 9 + 9)));
    expect(rows).toEqual([
      [2024, 3, 5, 61, 14.5, 2024, 3, 5, 61],
      [2023, 12, 0, 365, 0, 2023, 12, 0, 365],
      [2024, 1, 1, 1, 6, 2024, 1, 1, 1],
    ]);
  });
});

describe('stray tokens at prediction', () => {
  it('when a numeric feature had stray tokens in training, then the same token predicts as missing and another text is an error', async () => {
    // 40 numbers and 2 "unknown" (under 5%): hp stays numeric, "unknown" is missing.
    const rows = Array.from({ length: 42 }, (_, i) => `${i === 5 || i === 9 ? 'unknown' : 100 + i},${i % 2}`);
    const t = await readCsv(`hp,y\n${rows.join('\n')}\n`, LIMITS);
    const enc = fitEncoder(
      t,
      { features: ['hp'], target: 'y', task: 'regression', scaling: 'none' },
      range(42),
    );
    const { x, warnings } = enc.encodeRecords([{ hp: 'unknown' }, { hp: null }, { hp: ' unknown ' }]);
    expect(Array.from(x)).toEqual([x[1], x[1], x[1]]); // all three imputed alike
    expect(warnings.map((w) => [w.row, w.code])).toEqual([
      [0, 'imputed'],
      [1, 'imputed'],
      [2, 'imputed'],
    ]);
    expect(() => enc.encodeRecords([{ hp: 'n/k' }])).toThrow(RowValueError);
    expect(Encoder.fromJSON(enc.toJSON()).encodeRecords([{ hp: 'unknown' }]).warnings).toHaveLength(1);
  });
});
