// How one cell's text is read: missing markers, numbers (decimal point or comma, thousands
// separators), booleans and ISO dates. Shared by the CSV reader and by prediction, so a value sent
// to a model means what the same text meant in the file.

/** The markers read as a missing cell by default, compared case-insensitively after trimming. */
export const DEFAULT_MISSING_VALUES: readonly string[] = [
  '',
  'NA',
  'N/A',
  'n/a',
  '#N/A',
  'NaN',
  'nan',
  'null',
  'NULL',
  'None',
  '?',
  '-',
];

/**
 * Decides whether a trimmed cell is missing. `null` (the default) means DEFAULT_MISSING_VALUES in
 * any case; a list given by the user is matched exactly, and the empty cell is always missing.
 */
export class MissingMarkers {
  private readonly exact: ReadonlySet<string>;
  private readonly lower: ReadonlySet<string> | null;
  private readonly maxLength: number;

  constructor(readonly custom: readonly string[] | null = null) {
    const list = custom ?? DEFAULT_MISSING_VALUES;
    this.exact = new Set(['', ...list.map((m) => m.trim())]);
    this.lower = custom ? null : new Set(list.map((m) => m.toLowerCase()));
    this.maxLength = Math.max(...[...this.exact].map((m) => m.length));
  }

  /** True when the trimmed cell is one of the markers. */
  has(trimmed: string): boolean {
    if (trimmed.length > this.maxLength) return false;
    if (this.exact.has(trimmed)) return true;
    return this.lower !== null && this.lower.has(trimmed.toLowerCase());
  }
}

const DEFAULT_MARKERS = new MissingMarkers();

/** A trimmed cell is one of DEFAULT_MISSING_VALUES (any case). */
export function isMissingCell(trimmed: string): boolean {
  return DEFAULT_MARKERS.has(trimmed);
}

/** The decimal mark: `.`, `,`, or `auto` (either, as long as a cell has no thousands separator). */
export type DecimalMark = '.' | ',' | 'auto';

// Plain decimal or exponent notation only: "0x10", "1_000", "Infinity" and "" are not numbers.
const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const COMMA_DECIMAL_RE = /^[+-]?(?:\d+,?\d*|,\d+)(?:[eE][+-]?\d+)?$/;
// Grouped thousands as spreadsheets write them: "1,234,567.5" (point decimal) or "1.234.567,5" (comma).
const COMMA_THOUSANDS_RE = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;
const POINT_THOUSANDS_RE = /^[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?$/;

function finite(text: string): number {
  const v = Number(text);
  return Number.isFinite(v) ? v : Number.NaN;
}

/**
 * The finite number a trimmed cell spells, or NaN when it is not one. With a point decimal mark a
 * comma may only group thousands ("1,234.5"); with a comma mark a point may only group thousands
 * ("1.234,5"); `auto` takes "1.5" and "1,5" (never grouped thousands, which would be ambiguous).
 */
export function parseNumberCell(trimmed: string, decimal: DecimalMark = '.'): number {
  if (decimal !== ',' && NUMBER_RE.test(trimmed)) return finite(trimmed);
  if (decimal === '.') {
    return COMMA_THOUSANDS_RE.test(trimmed) ? finite(trimmed.replaceAll(',', '')) : Number.NaN;
  }
  if (COMMA_DECIMAL_RE.test(trimmed)) return finite(trimmed.replace(',', '.'));
  if (decimal === ',' && POINT_THOUSANDS_RE.test(trimmed))
    return finite(trimmed.replaceAll('.', '').replace(',', '.'));
  return Number.NaN;
}

/** An integer written with a leading zero ("02139", "007"): a code whose text must be kept. */
export function hasLeadingZero(trimmed: string): boolean {
  const start = trimmed.charCodeAt(0) === 43 || trimmed.charCodeAt(0) === 45 ? 1 : 0;
  if (trimmed.length - start < 2 || trimmed.charCodeAt(start) !== 48) return false;
  const next = trimmed.charCodeAt(start + 1);
  return next >= 48 && next <= 57;
}

/** The spelling pairs read as booleans, lower case: [false, true]. */
export const BOOLEAN_PAIRS: readonly (readonly [string, string])[] = [
  ['false', 'true'],
  ['no', 'yes'],
];
const BOOLEAN_VALUE = new Map<string, 0 | 1>([
  ['false', 0],
  ['no', 0],
  ['true', 1],
  ['yes', 1],
]);
// Also taken when a column is declared boolean, or at prediction.
const LOOSE_BOOLEAN_VALUE = new Map<string, 0 | 1>([
  ...BOOLEAN_VALUE,
  ['0', 0],
  ['1', 1],
  ['f', 0],
  ['t', 1],
  ['n', 0],
  ['y', 1],
]);

/** 1 for true/yes, 0 for false/no (any case); with `loose`, also 1/0, t/f, y/n. NaN otherwise. */
export function parseBooleanCell(trimmed: string, loose = false): number {
  if (trimmed.length > 5) return Number.NaN;
  const v = (loose ? LOOSE_BOOLEAN_VALUE : BOOLEAN_VALUE).get(trimmed.toLowerCase());
  return v === undefined ? Number.NaN : v;
}

// ISO 8601 calendar date, optionally with a time ("T" or a space), seconds, fraction and offset.
const ISO_DATE_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Milliseconds since 1970-01-01T00:00Z of an ISO date or date-time cell, or NaN. A time without an
 * offset is read as UTC, so the same text gives the same instant on every machine. `hasTime`
 * tells whether the cell had a time part.
 */
export function parseDateCell(trimmed: string): { ms: number; hasTime: boolean } | null {
  if (trimmed.length < 10 || trimmed.length > 40) return null;
  const m = ISO_DATE_RE.exec(trimmed);
  if (!m) return null;
  const [, y, mo, d, h] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  let text = trimmed.replace(' ', 'T');
  if (h !== undefined && m[7] === undefined) text += 'Z';
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return null;
  // Date.parse rolls 2023-02-30 over to March; a date that is not on the calendar is not a date.
  if (h === undefined && new Date(ms).getUTCDate() !== day) return null;
  if (Number(y) < 1) return null;
  return { ms, hasTime: h !== undefined };
}

/**
 * Calendar features of an instant, in UTC: year, month (1-12), day of week (0 = Sunday), day of
 * year (1-366), and the hour (0-23, fractional with minutes) when `hasTime`.
 */
export function calendarFeatures(ms: number, hasTime: boolean): number[] {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const dayOfYear = Math.floor((ms - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
  const parts = [year, d.getUTCMonth() + 1, d.getUTCDay(), dayOfYear];
  if (hasTime) parts.push(d.getUTCHours() + d.getUTCMinutes() / 60);
  return parts;
}
