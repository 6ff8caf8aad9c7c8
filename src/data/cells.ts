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
  /** firsts[c] = 1 when some marker (in some case, for the defaults) starts with char code c < 128. */
  private readonly firsts = new Uint8Array(128);

  constructor(readonly custom: readonly string[] | null = null) {
    const list = custom ?? DEFAULT_MISSING_VALUES;
    this.exact = new Set(['', ...list.map((m) => m.trim())]);
    this.lower = custom ? null : new Set(list.map((m) => m.toLowerCase()));
    this.maxLength = Math.max(...[...this.exact].map((m) => m.length));
    for (const m of this.exact) {
      const spellings = custom ? [m] : [m, m.toLowerCase(), m.toUpperCase()];
      for (const x of spellings) if (x.length > 0 && x.charCodeAt(0) < 128) this.firsts[x.charCodeAt(0)] = 1;
    }
  }

  /**
   * False when no trimmed cell of this length starting with this (ASCII, non-blank) char code can
   * be a marker: lets a reader skip making the cell's string. True means "ask has()".
   */
  mayBe(firstCode: number, length: number): boolean {
    return length <= this.maxLength && (firstCode >= 128 || this.firsts[firstCode] === 1);
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
  // Every accepted form starts with a digit, a sign or a mark: a quick no for words.
  const c = trimmed.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46 || c === 44)) return Number.NaN;
  if (decimal !== ',' && NUMBER_RE.test(trimmed)) return finite(trimmed);
  if (decimal === '.') {
    return COMMA_THOUSANDS_RE.test(trimmed) ? finite(trimmed.replaceAll(',', '')) : Number.NaN;
  }
  if (COMMA_DECIMAL_RE.test(trimmed)) return finite(trimmed.replace(',', '.'));
  if (decimal === ',' && POINT_THOUSANDS_RE.test(trimmed))
    return finite(trimmed.replaceAll('.', '').replace(',', '.'));
  return Number.NaN;
}

/** What scanPlainNumber found, in a reused object (no allocation per cell). */
export interface PlainNumber {
  value: number;
  /** String(value) gives back the text exactly (so the text need not be kept). */
  canonical: boolean;
  /** An integer part with a leading zero ("007", "01.5"): see hasLeadingZero. */
  leadingZero: boolean;
  /**
   * Digits after the mark when value.toFixed(fixed) gives back the text exactly (point mark, no
   * "+", not "-0", no leading zero), else 0. Exact for at most 15 digits: the nearest double is within 10^15 · 2^-53
   * < 0.5 units of the last written digit of the text, so toFixed rounds back to those digits.
   */
  fixed: number;
}

const MAX_PLAIN_DIGITS = 15;

/**
 * Reads text[s, e) in place when it is a plain decimal, [+-]digits[mark digits] with at most 15
 * digits in all and `mark` the decimal mark's char code (46 "." or 44 ","), into out; false for
 * anything else, which the caller reads with parseNumberCell. The value is exactly Number()'s:
 * m / 10^k with m < 10^15 and k ≤ 15 is one correctly rounded division of two exact doubles
 * (Clinger's fast path, "How to read floating point numbers accurately", PLDI 1990). Canonical
 * follows from DBL_DIG = 15: a decimal of at most 15 digits, without a leading "+", leading or
 * trailing zeros, and at least 1e-6 (where String() stops writing exponents), is its own shortest
 * round-trip form.
 */
export function scanPlainNumber(text: string, s: number, e: number, mark: number, out: PlainNumber): boolean {
  let p = s;
  const sign = text.charCodeAt(p);
  if (sign === 45 || sign === 43) p++;
  const intStart = p;
  let m = 0;
  while (p < e) {
    const c = text.charCodeAt(p) - 48;
    if (c < 0 || c > 9) break;
    m = m * 10 + c;
    p++;
  }
  const intDigits = p - intStart;
  if (intDigits === 0) return false;
  let fracDigits = 0;
  if (p < e) {
    if (text.charCodeAt(p) !== mark) return false;
    p++;
    const fracStart = p;
    while (p < e) {
      const c = text.charCodeAt(p) - 48;
      if (c < 0 || c > 9) return false;
      m = m * 10 + c;
      p++;
    }
    fracDigits = p - fracStart;
    if (fracDigits === 0) return false;
  }
  if (intDigits + fracDigits > MAX_PLAIN_DIGITS) return false;
  const magnitude = fracDigits === 0 ? m : m / POWERS_OF_TEN[fracDigits];
  out.value = sign === 45 ? -magnitude : magnitude;
  out.leadingZero = intDigits >= 2 && text.charCodeAt(intStart) === 48;
  out.fixed = mark === 46 && sign !== 43 && !(sign === 45 && m === 0) && !out.leadingZero ? fracDigits : 0;
  out.canonical =
    sign !== 43 &&
    !out.leadingZero &&
    !(sign === 45 && m === 0) &&
    (fracDigits === 0 ||
      (mark === 46 && text.charCodeAt(e - 1) !== 48 && (magnitude >= 1e-6 || magnitude === 0)));
  return true;
}

const POWERS_OF_TEN = Array.from({ length: MAX_PLAIN_DIGITS + 1 }, (_, k) => 10 ** k);

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
  const fast = plainIsoDate(trimmed, 0, trimmed.length);
  if (fast === fast) return { ms: fast, hasTime: trimmed.length > 10 };
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

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : Number.NaN;
}
function twoDigits(s: string, i: number): number {
  return digit(s, i) * 10 + digit(s, i + 1);
}

/**
 * The two commonest ISO forms, YYYY-MM-DD and YYYY-MM-DDTHH:MM:SS (T or a space, UTC), in
 * text[s, e), read in place without a regular expression: milliseconds since the epoch, or NaN for anything else, out of range
 * or off the calendar (parseDateCell then decides with Date.parse). Days from the civil date by
 * Howard Hinnant's days_from_civil ("chrono-Compatible Low-Level Date Algorithms").
 */
export function plainIsoDate(text: string, s: number, e: number): number {
  const n = e - s;
  if ((n !== 10 && n !== 19) || text.charCodeAt(s + 4) !== 45 || text.charCodeAt(s + 7) !== 45)
    return Number.NaN;
  const y = twoDigits(text, s) * 100 + twoDigits(text, s + 2);
  const m = twoDigits(text, s + 5);
  const d = twoDigits(text, s + 8);
  if (!(y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m))) return Number.NaN;
  let ms = daysFromCivil(y, m, d) * 86_400_000;
  if (n === 19) {
    const sep = text.charCodeAt(s + 10);
    if ((sep !== 84 && sep !== 32) || text.charCodeAt(s + 13) !== 58 || text.charCodeAt(s + 16) !== 58)
      return Number.NaN;
    const h = twoDigits(text, s + 11);
    const mi = twoDigits(text, s + 14);
    const sec = twoDigits(text, s + 17);
    if (!(h <= 23 && mi <= 59 && sec <= 59)) return Number.NaN;
    ms += ((h * 60 + mi) * 60 + sec) * 1000;
  }
  return ms;
}

function daysInMonth(y: number, m: number): number {
  if (m !== 2) return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
}

function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
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
