// Column types, cell parsing rules and per-column statistics. Shared by the CSV reader (which
// infers types while streaming) and the encoder (which parses prediction values the same way).

/** Why a column has its type, where that is not obvious (a forced type, codes, stray tokens). */
interface ColumnBase {
  name: string;
  missing: number;
  reason?: string;
}

export interface NumericColumn extends ColumnBase {
  type: 'numeric';
  /** One value per row; NaN marks a missing cell. */
  values: Float64Array;
  /**
   * Set when every present cell was written with this many decimals, trailing zeros included
   * (`1.0`, `2.0` as pandas writes an integer column with gaps: 1): labels and value counts are
   * then written so (numberText).
   */
  decimals?: number;
  /**
   * The non-numeric tokens read as missing (strayTokens, invalidValues), commonest first, at most
   * infer.ts MAX_KEPT_STRAYS: a prediction reads them as missing too.
   */
  strays?: string[];
}

/** A number of a numeric column as the file writes it: with the column's decimals, or plainly. */
export function numberText(col: NumericColumn, v: number): string {
  return col.decimals ? v.toFixed(col.decimals) : String(v);
}

export interface CategoricalColumn extends ColumnBase {
  type: 'categorical';
  /** One value per row, exactly as written (trimmed); null marks a missing cell. */
  values: (string | null)[];
}

export interface BooleanColumn extends ColumnBase {
  type: 'boolean';
  /** One value per row: 1 true, 0 false, NaN missing. */
  values: Float64Array;
  /** The most frequent spelling of each value in the file, e.g. { false: "no", true: "yes" }. */
  labels: { false: string; true: string };
}

export interface DatetimeColumn extends ColumnBase {
  type: 'datetime';
  /** One value per row: milliseconds since 1970-01-01T00:00Z; NaN marks a missing cell. */
  values: Float64Array;
  /** Some cell had a time of day (then the hour is a calendar feature too). */
  hasTime: boolean;
}

export type Column = NumericColumn | CategoricalColumn | BooleanColumn | DatetimeColumn;
export type ColumnType = Column['type'];
export const COLUMN_TYPES = ['numeric', 'categorical', 'boolean', 'datetime'] as const;

/** What a careful analyst would flag about a column (or the whole file, column null). */
export type WarningCode =
  | 'renamedHeader'
  | 'strayTokens'
  | 'constantColumn'
  | 'idLike'
  | 'highCardinality'
  | 'integerCodes'
  | 'invalidValues';

export interface ColumnWarning {
  column: string | null;
  code: WarningCode;
  message: string;
}

export interface Table {
  names: string[];
  rowCount: number;
  columns: Column[];
  /** Found while reading: renamed headers, stray tokens, cells that do not fit a forced type. */
  warnings?: ColumnWarning[];
}

/** Structurally identical to the API's ColumnSummary (src/domain/schemas.ts), which data/ must not import. */
export type ColumnSummary = (
  | {
      name: string;
      type: 'numeric';
      missing: number;
      min: number | null;
      max: number | null;
      mean: number | null;
      std: number | null;
      /** Count of each value when the column holds at most MAX_INTEGER_CODES distinct integers. */
      valueCounts?: Record<string, number>;
      /** Distinct present values (the classes a classification on it sees), when at most MAX_COUNTED_VALUES. */
      distinctValues?: number;
      /** Of those, the values on fewer than RARE_CLASS_ROWS rows (with distinctValues only). */
      rareValues?: number;
    }
  | { name: string; type: 'categorical'; missing: number; categories: Record<string, number> }
  | {
      name: string;
      type: 'boolean';
      missing: number;
      labels: { false: string; true: string };
      counts: { false: number; true: number };
    }
  | {
      name: string;
      type: 'datetime';
      missing: number;
      min: string | null;
      max: string | null;
      hasTime: boolean;
    }
) & { reason?: string };

/** Mean, population standard deviation, min and max of the non-NaN values at the given rows (all rows when omitted). */
export function numericStats(
  values: Float64Array,
  rows?: Int32Array,
): { count: number; mean: number; std: number; min: number; max: number } {
  const n = rows ? rows.length : values.length;
  let count = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = values[rows ? rows[i] : i];
    if (Number.isNaN(v)) continue;
    count++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (count === 0) return { count, mean: Number.NaN, std: Number.NaN, min: Number.NaN, max: Number.NaN };
  const mean = sum / count;
  // Two passes (mean first, then squared deviations) for accuracy on large or offset values.
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const v = values[rows ? rows[i] : i];
    if (Number.isNaN(v)) continue;
    ss += (v - mean) * (v - mean);
  }
  const std = Math.sqrt(ss / count);
  if (Number.isFinite(mean) && Number.isFinite(std)) return { count, mean, std, min, max };
  // Values near the float64 limit overflow the sums: compute on values scaled into [-1, 1] instead.
  const scale = Math.max(Math.abs(min), Math.abs(max));
  const scaled = new Float64Array(count);
  for (let i = 0, j = 0; i < n; i++) {
    const v = values[rows ? rows[i] : i];
    if (!Number.isNaN(v)) scaled[j++] = v / scale;
  }
  const inner = numericStats(scaled);
  return { count, mean: inner.mean * scale, std: inner.std * scale, min, max };
}

/** Sets an own enumerable property, so a category named "__proto__" is a key like any other. */
function defineKey(obj: Record<string, number>, key: string, value: number): void {
  // Plain assignment is the same own data property, and far cheaper, for every other key.
  if (key !== '__proto__') {
    obj[key] = value;
    return;
  }
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The dataset's column summaries. `std` is the population standard deviation (divide by n), the
 * same statistic the encoder standardizes with. Category keys are ordered by count, descending,
 * ties by name; note JSON objects list integer-like keys ("1", "2") first whatever the order.
 */
export function describeTable(t: Table): ColumnSummary[] {
  return t.columns.map((c): ColumnSummary => {
    const reason = c.reason !== undefined ? { reason: c.reason } : {};
    if (c.type === 'numeric') {
      const s = numericStats(c.values);
      const some = s.count > 0;
      return {
        name: c.name,
        type: 'numeric',
        missing: c.missing,
        min: some ? s.min : null,
        max: some ? s.max : null,
        mean: some ? s.mean : null,
        std: some ? s.std : null,
        ...valueCounts(c),
        ...reason,
      };
    }
    if (c.type === 'boolean') {
      let yes = 0;
      let no = 0;
      for (const v of c.values)
        if (v === 1) yes++;
        else if (v === 0) no++;
      return {
        name: c.name,
        type: 'boolean',
        missing: c.missing,
        labels: { ...c.labels },
        counts: { false: no, true: yes },
        ...reason,
      };
    }
    if (c.type === 'datetime') {
      const s = numericStats(c.values);
      const iso = (ms: number) => (s.count > 0 ? new Date(ms).toISOString() : null);
      return {
        name: c.name,
        type: 'datetime',
        missing: c.missing,
        min: iso(s.min),
        max: iso(s.max),
        hasTime: c.hasTime,
        ...reason,
      };
    }
    const categories: Record<string, number> = {};
    for (const [k, n] of categoryCounts(c.values)) defineKey(categories, k, n);
    return { name: c.name, type: 'categorical', missing: c.missing, categories, ...reason };
  });
}

/**
 * Counts of a numeric column's values, in one pass that stops once more than MAX_COUNTED_VALUES
 * distinct values are seen (then {}): `distinctValues` and `rareValues` (values on fewer than
 * RARE_CLASS_ROWS rows), and `valueCounts` too when every value is an integer and there are at most
 * MAX_INTEGER_CODES of them, keyed as the file writes them (numberText).
 */
function valueCounts(col: NumericColumn): {
  valueCounts?: Record<string, number>;
  distinctValues?: number;
  rareValues?: number;
} {
  const counts = new Map<number, number>();
  for (const v of col.values) {
    if (Number.isNaN(v)) continue;
    counts.set(v, (counts.get(v) ?? 0) + 1);
    if (counts.size > MAX_COUNTED_VALUES) return {};
  }
  if (counts.size === 0) return {};
  let rareValues = 0;
  let integers = true;
  for (const [v, n] of counts) {
    if (n < RARE_CLASS_ROWS) rareValues++;
    if (!Number.isInteger(v)) integers = false;
  }
  const out = { distinctValues: counts.size, rareValues };
  if (!integers || counts.size > MAX_INTEGER_CODES) return out;
  const codes: Record<string, number> = {};
  for (const [v, n] of [...counts].sort((a, b) => a[0] - b[0])) codes[numberText(col, v)] = n;
  return { valueCounts: codes, ...out };
}

// describeTable and tableWarnings both need a categorical column's counts, and the upload thread
// runs both on the same table: the counts are made once per column.
const countsOf = new WeakMap<(string | null)[], Map<string, number>>();

/** How often each present value occurs, in first-seen order. */
function textCounts(values: (string | null)[]): Map<string, number> {
  let counts = countsOf.get(values);
  if (counts) return counts;
  counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  countsOf.set(values, counts);
  return counts;
}

/** Distinct values and their counts, by count descending, ties by code-unit order. */
function categoryCounts(values: (string | null)[]): [string, number][] {
  const counts = textCounts(values);
  // Bucketed by count, each bucket in the default sort's code-unit order: far fewer comparisons
  // than one sort of pairs when many values share a count (codes, zip codes).
  const byCount = new Map<number, string[]>();
  for (const [v, n] of counts) {
    const bucket = byCount.get(n);
    if (bucket) bucket.push(v);
    else byCount.set(n, [v]);
  }
  const out: [string, number][] = [];
  for (const n of [...byCount.keys()].sort((a, b) => b - a))
    for (const v of byCount.get(n)!.sort()) out.push([v, n]);
  return out;
}

/** At most this many distinct integers make a numeric column look like codes (and a target a classification). */
export const MAX_INTEGER_CODES = 10;
/** A numeric column's summary counts its distinct values up to this many (the most classes a numeric target can be). */
export const MAX_COUNTED_VALUES = 1000;
/** A class on fewer rows than this cannot appear in each of the training, validation and test splits. */
export const RARE_CLASS_ROWS = 3;
/** A categorical column with more categories than this, and more than half as many as rows, is very-high-cardinality. */
export const HIGH_CARDINALITY = 50;
/** Below this many rows nothing is called ID-like (a tiny table is unique per row by chance). */
const MIN_ROWS_FOR_ID = 20;

/** The warning codes that leave a column out of a job's default features. */
export const EXCLUDING_WARNINGS: ReadonlySet<WarningCode> = new Set([
  'idLike',
  'constantColumn',
  'highCardinality',
]);

/**
 * What a careful analyst would flag in each column: constant (at most one distinct value), ID-like
 * (a categorical column unique per row, or integers unique per row with an id-ish name, filling
 * their range, or counting up by one small constant step, like a row number or pandas' index; see
 * integerIdReason), very-high-cardinality categorical (more than
 * HIGH_CARDINALITY categories and more than half the rows), integer codes (a numeric column of at
 * most MAX_INTEGER_CODES distinct integers). The reading warnings of the table come first.
 */
export function tableWarnings(t: Table): ColumnWarning[] {
  const out: ColumnWarning[] = [...(t.warnings ?? [])];
  for (const c of t.columns) {
    const w = columnWarning(c, t.rowCount);
    if (w) out.push({ column: c.name, ...w });
  }
  return out;
}

function columnWarning(c: Column, rowCount: number): Omit<ColumnWarning, 'column'> | null {
  const present = rowCount - c.missing;
  const ints = c.type === 'numeric' ? integerSummary(c.values) : null;
  const distinct = distinctCount(c, ints);
  if (distinct <= 1) {
    const what = distinct === 0 ? 'every cell is missing' : 'every cell holds the same value';
    return {
      code: 'constantColumn',
      message: `${what}: it carries no information, left out of the default features`,
    };
  }
  if (c.type === 'categorical') {
    if (distinct === rowCount && rowCount >= MIN_ROWS_FOR_ID)
      return {
        code: 'idLike',
        message: `unique per row (${distinct} values): looks like an ID, left out of the default features`,
      };
    if (distinct > HIGH_CARDINALITY && distinct * 2 > present)
      return {
        code: 'highCardinality',
        message: `${distinct} categories in ${present} rows: too many to learn from, left out of the default features (list it in features to use it)`,
      };
    return null;
  }
  if (!ints) return null;
  if (distinct === rowCount && rowCount >= MIN_ROWS_FOR_ID) {
    const why = integerIdReason(c, ints);
    if (why)
      return {
        code: 'idLike',
        message: `integers unique per row, ${why}: looks like a row number or ID, left out of the default features`,
      };
  }
  if (distinct <= MAX_INTEGER_CODES && present >= 2 * distinct)
    return {
      code: 'integerCodes',
      message: `only ${distinct} distinct integer values: if they are codes rather than quantities, set its type to categorical`,
    };
  return null;
}

/** The largest step between consecutive rows that still looks like a counter (ids numbered 1, 2, 3 or 10, 20, 30). */
const MAX_ID_STEP = 10;
/** The share of the steps between consecutive rows that must be that one small step. */
const ID_STEP_SHARE = 0.9;
/** Header names that say "identifier or row number": id, *_id, *Id, index, row, row_number, pandas' `Unnamed: 0`. */
const ID_NAME = /^(?:id|.*[_ .-]id|index|idx|row|row_?(?:num|number)|unnamed: \d+)$/i;
/** camelCase `customerId` (case-sensitive, so that `paid` is not an ID). */
const CAMEL_ID_NAME = /[a-z]Id$/;

/**
 * Why a numeric column of integers unique per row looks like a row number or an ID, or null: an
 * id-ish name; values filling their range min..max (a shuffled row number); or, in file order,
 * nearly all steps between rows (ID_STEP_SHARE) one constant step of at most MAX_ID_STEP. A sorted
 * measurement (salaries, hourly Unix timestamps) is monotone but has large or irregular steps: kept.
 */
function integerIdReason(c: Column, ints: { min: number; max: number }): string | null {
  if (ID_NAME.test(c.name) || CAMEL_ID_NAME.test(c.name)) return 'and its name says ID';
  if (ints.max - ints.min + 1 === c.values.length) return 'filling their range';
  const v = c.values as Float64Array;
  if (v.length < 2) return null;
  const step = v[1] - v[0];
  if (step === 0 || Math.abs(step) > MAX_ID_STEP) return null;
  let same = 0;
  for (let i = 1; i < v.length; i++) if (v[i] - v[i - 1] === step) same++;
  return same >= ID_STEP_SHARE * (v.length - 1) ? `in order, by steps of ${step}` : null;
}

/**
 * Distinct present values: exact for categorical columns and for numeric columns of integers
 * (`ints`); for other columns 0, 1, or 2 meaning "more than one", all the warnings need.
 */
function distinctCount(c: Column, ints: { min: number; max: number } | null): number {
  if (c.type === 'categorical') return textCounts(c.values).size;
  if (ints) return distinctIntegers(c.values, ints.min, ints.max);
  let first = Number.NaN;
  for (const v of c.values) {
    if (Number.isNaN(v)) continue;
    if (Number.isNaN(first)) first = v;
    else if (v !== first) return 2;
  }
  return Number.isNaN(first) ? 0 : 1;
}

/** Distinct values of a column of integers in [min, max] (NaN skipped): a bitmap when the range is small, else a Set. */
function distinctIntegers(values: Float64Array, min: number, max: number): number {
  const range = max - min + 1;
  if (range > 1 << 24) return new Set(values.filter((v) => !Number.isNaN(v))).size;
  const seen = new Uint8Array(range);
  let n = 0;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    const k = v - min;
    if (seen[k] === 0) {
      seen[k] = 1;
      n++;
    }
  }
  return n;
}

/** Min and max of a column whose present values are all integers, and whether they never decrease or never increase; null otherwise. */
function integerSummary(values: Float64Array): { min: number; max: number } | null {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    if (!Number.isInteger(v)) return null;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : null;
}

/** The column with this name, or undefined. */
export function findColumn(t: Table, name: string): Column | undefined {
  const i = t.names.indexOf(name);
  return i < 0 ? undefined : t.columns[i];
}

/** A target column's label for one row, as written in the file, or null when missing. */
export function labelOf(col: Column, row: number): string | null {
  if (col.type === 'categorical') return col.values[row];
  const v = col.values[row];
  if (Number.isNaN(v)) return null;
  if (col.type === 'boolean') return v === 1 ? col.labels.true : col.labels.false;
  if (col.type === 'datetime') return new Date(v).toISOString();
  return numberText(col, v);
}

/**
 * The sorted class labels of a target column over all its non-missing rows: strings in code-unit
 * order, or for a numeric column the numbers in ascending order, as written (numberText); a boolean column's
 * two spellings, false first. The label space is fixed by the whole table so a class absent from
 * the training rows still has an output.
 */
export function classList(table: Table, target: string): string[] {
  const col = findColumn(table, target);
  if (!col) throw new RangeError(`no column named "${target}"`);
  if (col.type === 'boolean') return [col.labels.false, col.labels.true];
  if (col.type === 'numeric' || col.type === 'datetime') {
    const seen = new Set<number>();
    for (const v of col.values) if (!Number.isNaN(v)) seen.add(v);
    return [...seen]
      .sort((a, b) => a - b)
      .map((v) => (col.type === 'datetime' ? new Date(v).toISOString() : numberText(col, v)));
  }
  const seen = new Set<string>();
  for (const v of col.values) if (v !== null) seen.add(v);
  return [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
