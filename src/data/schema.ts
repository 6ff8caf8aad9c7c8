// Column types, cell parsing rules and per-column statistics. Shared by the CSV reader (which
// infers types while streaming) and the encoder (which parses prediction values the same way).

export interface NumericColumn {
  name: string;
  type: 'numeric';
  /** One value per row; NaN marks a missing cell. */
  values: Float64Array;
  missing: number;
}

export interface CategoricalColumn {
  name: string;
  type: 'categorical';
  /** One value per row; null marks a missing cell. */
  values: (string | null)[];
  missing: number;
}

export type Column = NumericColumn | CategoricalColumn;
export type ColumnType = Column['type'];

export interface Table {
  names: string[];
  rowCount: number;
  columns: Column[];
}

/** Structurally identical to the API's ColumnSummary (src/domain/schemas.ts), which data/ must not import. */
export type ColumnSummary =
  | {
      name: string;
      type: 'numeric';
      missing: number;
      min: number | null;
      max: number | null;
      mean: number | null;
      std: number | null;
    }
  | { name: string; type: 'categorical'; missing: number; categories: Record<string, number> };

const MISSING_TOKENS = new Set(['', 'na', 'n/a', 'null', 'nan']);

/** A cell is missing when, after trimming, it is empty or one of NA, N/A, null, NaN (any case). */
export function isMissingCell(trimmed: string): boolean {
  return trimmed.length <= 4 && MISSING_TOKENS.has(trimmed.toLowerCase());
}

// Plain decimal or exponent notation only: "1,5", "0x10", "1_000", "Infinity" and "" are not numbers.
const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The finite number a trimmed cell spells, or NaN when it is not one. */
export function parseNumberCell(trimmed: string): number {
  if (!NUMBER_RE.test(trimmed)) return Number.NaN;
  const v = Number(trimmed);
  return Number.isFinite(v) ? v : Number.NaN;
}

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
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The dataset's column summaries. `std` is the population standard deviation (divide by n), the
 * same statistic the encoder standardizes with. Category keys are ordered by count, descending,
 * ties by name; note JSON objects list integer-like keys ("1", "2") first whatever the order.
 */
export function describeTable(t: Table): ColumnSummary[] {
  return t.columns.map((c): ColumnSummary => {
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
      };
    }
    const counts = new Map<string, number>();
    for (const v of c.values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
    const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const categories: Record<string, number> = {};
    for (const [k, n] of sorted) defineKey(categories, k, n);
    return { name: c.name, type: 'categorical', missing: c.missing, categories };
  });
}

/** The column with this name, or undefined. */
export function findColumn(t: Table, name: string): Column | undefined {
  const i = t.names.indexOf(name);
  return i < 0 ? undefined : t.columns[i];
}

/**
 * The sorted class labels of a target column over all its non-missing rows: strings in code-unit
 * order, or for a numeric column the numbers in ascending order, as strings. The label space is
 * fixed by the whole table so a class absent from the training rows still has an output.
 */
export function classList(table: Table, target: string): string[] {
  const col = findColumn(table, target);
  if (!col) throw new RangeError(`no column named "${target}"`);
  if (col.type === 'numeric') {
    const seen = new Set<number>();
    for (const v of col.values) if (!Number.isNaN(v)) seen.add(v);
    return [...seen].sort((a, b) => a - b).map(String);
  }
  const seen = new Set<string>();
  for (const v of col.values) if (v !== null) seen.add(v);
  return [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
