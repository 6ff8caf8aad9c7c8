// Joins the tables of two consecutive parts of one CSV file (the first read by readCsv, the second
// by readCsvTail) into the table readCsv gives for the whole file, or says it cannot. A column's
// type is decided from all its cells (infer.ts ColumnBuilder.build), so two parts that agree do
// not always make a whole that agrees with them: only the cases where the whole's decision follows
// from the parts' are merged, and null sends the caller back to reading the file in one go.
import { hasLeadingZero, parseNumberCell, type DecimalMark } from './cells.js';
import type { CsvFormat } from './csv.js';
import { MAX_EXCEPTIONS, MAX_STRAY_KINDS } from './infer.js';
import type {
  BooleanColumn,
  CategoricalColumn,
  Column,
  DatetimeColumn,
  NumericColumn,
  Table,
} from './schema.js';

type ReadTable = Table & { format: CsvFormat };

// The fields a merged column may carry; a field added to a column type later is not mergeable
// until it is listed here (with its rule below).
const KNOWN_FIELDS: Record<Column['type'], ReadonlySet<string>> = {
  numeric: new Set(['name', 'type', 'values', 'missing', 'decimals']),
  categorical: new Set(['name', 'type', 'values', 'missing', 'reason']),
  boolean: new Set(['name', 'type', 'values', 'missing', 'labels']),
  datetime: new Set(['name', 'type', 'values', 'missing', 'hasTime']),
};

/**
 * The table of a file whose rows are `first`'s then `second`'s, or null when that cannot be told
 * from the two for certain. Merged: the same names and dialect; warnings that are the header's
 * only (renamedHeader, the same in both); per column the same type and no `reason` (no forced
 * type, no stray tokens) but that of leading-zero codes: numbers, booleans with the same labels,
 * dates, and categorical columns that are text in both parts (see mergeCategorical). `maxRows` is the row limit of the read:
 * past it the whole read must fail, so null. Values are copied once into arrays of the full
 * length. The parts are used up: their `columns` are emptied, whatever the answer.
 */
export function mergeTables(first: ReadTable, second: ReadTable, maxRows: number): ReadTable | null {
  if (first.rowCount + second.rowCount > maxRows) return null;
  if (!sameFormat(first.format, second.format)) return null;
  if (first.names.length !== second.names.length || first.names.some((n, j) => n !== second.names[j]))
    return null;
  const warnings = first.warnings ?? [];
  const other = second.warnings ?? [];
  if (warnings.length !== other.length) return null;
  for (let k = 0; k < warnings.length; k++) {
    const [w, v] = [warnings[k], other[k]];
    if (w.code !== 'renamedHeader' || v.code !== w.code || v.column !== w.column || v.message !== w.message)
      return null;
  }
  // Taken from the parts and let go one by one as they are merged: the whole's columns replace
  // theirs in memory rather than joining them.
  const partsA: (Column | null)[] = first.columns.splice(0);
  const partsB: (Column | null)[] = second.columns.splice(0);
  const columns: Column[] = [];
  for (let j = 0; j < partsA.length; j++) {
    const merged = mergeColumn(partsA[j]!, partsB[j]!, first.rowCount, first.format.decimal);
    if (merged === null) return null;
    partsA[j] = partsB[j] = null;
    columns.push(merged);
  }
  return {
    names: first.names,
    rowCount: first.rowCount + second.rowCount,
    columns,
    warnings: [...warnings],
    format: first.format,
  };
}

function sameFormat(a: CsvFormat, b: CsvFormat): boolean {
  return a.delimiter === b.delimiter && a.decimal === b.decimal && a.charset === b.charset;
}

/** One column of the whole from its two parts (`rowsA` rows in the first); null when not certain. */
function mergeColumn(a: Column, b: Column, rowsA: number, decimal: DecimalMark): Column | null {
  if (a.type !== b.type || a.name !== b.name || !plain(a) || !plain(b)) return null;
  const missing = a.missing + b.missing;
  switch (a.type) {
    case 'numeric': {
      const decimals = mergedDecimals(a, b as NumericColumn, rowsA);
      const values = concat(a.values, (b as NumericColumn).values);
      return { name: a.name, type: 'numeric', values, missing, ...(decimals > 0 ? { decimals } : {}) };
    }
    case 'boolean': {
      const labels = (b as BooleanColumn).labels;
      // Each label is its part's most frequent spelling (ties: first in code-unit order); one that
      // wins in both parts wins in their sum, ties included.
      if (a.labels.false !== labels.false || a.labels.true !== labels.true) return null;
      return {
        ...a,
        labels: { ...a.labels },
        values: concat(a.values, (b as BooleanColumn).values),
        missing,
      };
    }
    case 'datetime': {
      const hasTime = a.hasTime || (b as DatetimeColumn).hasTime;
      return { ...a, hasTime, values: concat(a.values, (b as DatetimeColumn).values), missing };
    }
    case 'categorical':
      return mergeCategorical(a, b as CategoricalColumn, decimal);
  }
}

/** No reason (forced type, stray tokens, codes) and no field this module does not know. */
function plain(c: Column): boolean {
  if (c.reason !== undefined && !(c.type === 'categorical' && isCodesReason(c.reason))) return false;
  const known = KNOWN_FIELDS[c.type];
  return Object.keys(c).every((k) => known.has(k));
}

/** The reason infer.ts gives a column of codes written with leading zeros (any other: not merged). */
function isCodesReason(reason: string): boolean {
  return reason.startsWith(CODES_REASON) && reason.endsWith(' keep their exact text');
}
const CODES_REASON = 'codes written with leading zeros (e.g. "';

/**
 * Two text parts, each plain or of codes with leading zeros. In each part the cells that are no
 * number are at least as many as the numbers, or of more than MAX_STRAY_KINDS kinds, or there are
 * leading-zero codes (infer.ts build): so the whole is text too. Its reason: the codes' (with the
 * first part's example when it has one, that being the whole's first) while the numbers are kept,
 * that is while the kinds of non-numbers in both parts together are at most MAX_STRAY_KINDS;
 * else none. Null when a part's own kinds contradict its reason (rules this module does not know)
 * or the second part's text may have been written again from its numbers (mayHaveLostTexts).
 */
function mergeCategorical(a: CategoricalColumn, b: CategoricalColumn, decimal: DecimalMark): Column | null {
  if (mayHaveLostTexts(b.values, decimal)) return null;
  const values = a.values.concat(b.values);
  const missing = a.missing + b.missing;
  const plainColumn: Column = { name: a.name, type: 'categorical', values, missing };
  if (a.reason === undefined && b.reason === undefined) return plainColumn;
  const kindsA = strayKinds(a.values, decimal);
  const kindsB = strayKinds(b.values, decimal);
  // A part with a codes reason kept its numbers: MAX_STRAY_KINDS kinds at most.
  if ((a.reason && kindsA.size > MAX_STRAY_KINDS) || (b.reason && kindsB.size > MAX_STRAY_KINDS)) return null;
  for (const k of kindsB) kindsA.add(k);
  if (kindsA.size > MAX_STRAY_KINDS) return plainColumn;
  return { ...plainColumn, reason: a.reason ?? b.reason };
}

/**
 * Whether a second part's text may differ from the whole's: its builder kept no text while its
 * first cells were numbers, remembering only MAX_EXCEPTIONS of their non-canonical texts ("1e3"),
 * and wrote the earlier ones again as their shortest form once it needed text (infer.ts); in the
 * whole, where the column was text already, they keep their text. True when the part starts with
 * MAX_EXCEPTIONS numbers or more (missing cells aside) before any other cell.
 */
function mayHaveLostTexts(values: (string | null)[], decimal: DecimalMark): boolean {
  if (values.length < MAX_EXCEPTIONS) return false;
  let numbers = 0;
  for (const v of values) {
    if (v === null) continue;
    if (Number.isNaN(parseNumberCell(v, decimal)) || hasLeadingZero(v)) return false;
    if (++numbers >= MAX_EXCEPTIONS) return true;
  }
  return false;
}

/** The distinct present cells that are no number (what infer.ts counts as stray kinds). */
function strayKinds(values: (string | null)[], decimal: DecimalMark): Set<string> {
  const seen = new Set<string>();
  const strays = new Set<string>();
  for (const v of values) {
    if (v === null || seen.has(v)) continue;
    seen.add(v);
    if (Number.isNaN(parseNumberCell(v, decimal))) strays.add(v);
  }
  return strays;
}

/**
 * The decimals of the whole (NumericColumn.decimals): those of a part with no present value do
 * not count (infer.ts sharedDecimals skips missing cells); otherwise the parts agree or it is 0.
 */
function mergedDecimals(a: NumericColumn, b: NumericColumn, rowsA: number): number {
  const da = a.decimals ?? 0;
  const db = b.decimals ?? 0;
  if (a.missing === rowsA) return db;
  if (b.missing === b.values.length) return da;
  return da === db ? da : 0;
}

function concat(x: Float64Array, y: Float64Array): Float64Array {
  const out = new Float64Array(x.length + y.length);
  out.set(x);
  out.set(y, x.length);
  return out;
}
