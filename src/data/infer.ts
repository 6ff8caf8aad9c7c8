// Column type inference while the rows stream by. Each column keeps what it may still turn out to
// be (numbers, booleans, dates, and the exact text once text may be needed), and decides at the end
// of the file, so the decision never depends on the order of the rows.
import {
  BOOLEAN_PAIRS,
  hasLeadingZero,
  parseBooleanCell,
  parseDateCell,
  parseNumberCell,
  plainIsoDate,
  scanPlainNumber,
  type DecimalMark,
  type PlainNumber,
  type MissingMarkers,
} from './cells.js';
import { Interner } from './intern.js';
import type { Column, ColumnType, ColumnWarning } from './schema.js';

/** A numeric column keeps its type despite stray tokens when they are this few kinds… */
export const MAX_STRAY_KINDS = 5;
/** …and at most this share of its non-missing cells (the rest being numbers). */
export const MAX_STRAY_SHARE = 0.05;
/** Stray tokens a numeric column keeps by name (NumericColumn.strays); a forced one may have more kinds. */
export const MAX_KEPT_STRAYS = 20;
/**
 * Non-canonical number texts ("3.0", "1e3") remembered per column, in case the column turns out to
 * be text after all; past this many the text of earlier numeric cells is their shortest form.
 */
export const MAX_EXCEPTIONS = 100_000;
// Distinct texts shared per column; a column holds every one of its texts anyway, so this only
// bounds the table beside them (about 12 bytes a text).
const MAX_INTERNED = 1 << 20;

export interface CellRules {
  decimal: DecimalMark;
  missing: MissingMarkers;
}

export interface BuiltColumn {
  column: Column;
  warnings: Omit<ColumnWarning, 'column'>[];
}

/** Grows one column cell by cell; build() decides its type (or applies the forced one). */
export class ColumnBuilder {
  private numbers: Float64Array | null;
  private strings: (string | null)[] | null = null;
  private exceptions: Map<number, string> | null = new Map();
  /** Per row, digits after the point that toFixed needs to give back a number's text (0: String() does, or see exceptions). */
  private fixed: Uint8Array | null = null;
  private readonly strays = new Map<string, number>();
  private strayCells = 0;
  private leadingZero = false;
  private boolPair = -1; // index in BOOLEAN_PAIRS once a boolean is seen; -2 once impossible
  private readonly spellings = new Map<string, number>();
  private dates: Float64Array | null = null;
  /**
   * Per row read as a date without keeping its text (see pushDate): how to write it again from
   * the instant (DATE_FORMS), 0 for other rows; null until such a row.
   */
  private dateForms: Uint8Array | null = null;
  /** Rows whose text is rebuilt from their number (see rebuiltText). */
  private numberRows = 0;
  private readonly expectedRows: number;
  private dateAlive = true;
  private hasTime = false;
  private readonly intern = new Interner(MAX_INTERNED);
  private length = 0;
  private missing = 0;
  /** The char code of the decimal mark plain numbers are read with: "," only when it is the mark. */
  private readonly mark: number;

  constructor(
    readonly name: string,
    private readonly rules: CellRules,
    private readonly forced?: ColumnType,
    /** Rows the file is expected to have (a guess from its size): the first allocation. */
    expectedRows = 1024,
  ) {
    this.expectedRows = Math.max(16, expectedRows);
    // Small at first: a column that turns out to be text in its first rows never needs the rest.
    this.numbers = new Float64Array(Math.min(this.expectedRows, 4096));
    this.mark = rules.decimal === ',' ? 44 : 46;
    // A column forced to be text never needs its numbers.
    if (forced === 'categorical') this.startStrings();
  }

  /**
   * push() for the cell text[s, e), read in place: a plain number (see scanPlainNumber) in a
   * column still numeric becomes no string at all, unless the column keeps its text.
   */
  pushRange(text: string, s: number, e: number): void {
    if (this.numbers !== null && e > s) {
      const first = text.charCodeAt(s);
      const last = text.charCodeAt(e - 1);
      if (
        first > 32 &&
        first < 127 &&
        last > 32 &&
        last < 127 &&
        !this.rules.missing.mayBe(first, e - s) &&
        scanPlainNumber(text, s, e, this.mark, PLAIN)
      ) {
        this.pushNumber(PLAIN, text, s, e);
        return;
      }
    }
    const blankEnds = e > s && (isBlank(text.charCodeAt(s)) || isBlank(text.charCodeAt(e - 1)));
    if (blankEnds) return this.push(text.slice(s, e));
    if (this.strings === null && this.dateAlive && !this.rules.missing.mayBe(text.charCodeAt(s), e - s)) {
      const ms = plainIsoDate(text, s, e);
      if (ms === ms) return this.pushDate(text, s, e, ms);
    }
    this.pushTrimmed(this.intern.range(text, s, e), true);
  }

  /**
   * A date cell while no text is kept: as push() does for it, but its text is not kept either, for
   * it can be written again from the instant and its form (dates are the cells most often unique).
   */
  private pushDate(text: string, s: number, e: number, ms: number): void {
    const row = this.length++;
    if (this.numbers) {
      if (row === this.numbers.length) this.numbers = grow(this.numbers, this.expectedRows);
      this.numbers[row] = Number.NaN;
      this.noteStray(this.intern.range(text, s, e), row);
    }
    if (!this.dates) this.dates = new Float64Array(Math.max(this.expectedRows, row + 1)).fill(Number.NaN);
    else if (row >= this.dates.length) this.dates = grow(this.dates, this.expectedRows);
    if (!this.dateForms || row >= this.dateForms.length) {
      const forms = new Uint8Array(this.dates.length);
      if (this.dateForms) forms.set(this.dateForms);
      this.dateForms = forms;
    }
    this.dates[row] = ms;
    const form = e - s === 10 ? 1 : text.charCodeAt(s + 10) === 84 ? 2 : 3;
    this.dateForms[row] = form;
    if (form > 1) this.hasTime = true;
    this.boolPair = -2;
  }

  /** A plain number's cell: as push() does for a number, without parsing the text again. */
  private pushNumber(plain: PlainNumber, text: string, s: number, e: number): void {
    const row = this.length++;
    if (row === this.numbers!.length) this.numbers = grow(this.numbers!, this.expectedRows);
    this.numbers![row] = plain.value;
    this.numberRows++;
    this.boolPair = -2;
    this.dateAlive = false;
    // Dates read without their text are written again from their instants: keep their text first.
    if (this.dateForms && !this.strings) this.startStrings(row);
    this.dates = null;
    if (!this.leadingZero && plain.leadingZero) {
      this.leadingZero = true;
      if (!this.strings) this.startStrings(row);
    }
    if (this.strings) this.strings[row] = this.intern.range(text, s, e);
    else if (!plain.canonical) {
      if (plain.fixed > 0) this.noteFixed(row, plain.fixed);
      else if (this.exceptions) this.noteException(row, text.slice(s, e));
    }
  }

  /** Reads one cell (trimmed here); a missing marker, a number, or text. */
  push(raw: string): void {
    this.pushTrimmed(raw.trim(), false);
  }

  /** push() for a cell already trimmed; `shared` when it is the interned copy already. */
  private pushTrimmed(raw: string, shared: boolean): void {
    // Only text that is kept needs its shared copy; a number's text rarely is.
    const cell = raw;
    const row = this.length++;
    if (this.numbers && row === this.numbers.length) this.numbers = grow(this.numbers, this.expectedRows);
    if (this.dates && row === this.dates.length) this.dates = grow(this.dates, this.expectedRows);
    if (this.rules.missing.has(cell)) {
      this.missing++;
      if (this.numbers) this.numbers[row] = Number.NaN;
      if (this.dates) this.dates[row] = Number.NaN;
      if (this.strings) this.strings[row] = null;
      return;
    }
    const v = this.numbers ? parseNumberCell(cell, this.rules.decimal) : Number.NaN;
    if (this.numbers) this.numbers[row] = v;
    if (!Number.isNaN(v)) {
      this.numberRows++;
      this.boolPair = -2;
      this.dateAlive = false;
      if (!this.leadingZero && hasLeadingZero(cell)) {
        this.leadingZero = true;
        if (!this.strings) this.startStrings(row);
      }
      if (this.strings) this.strings[row] = shared ? cell : this.interned(cell);
      else if (this.exceptions && String(v) !== cell)
        this.noteException(row, shared ? cell : this.interned(cell));
      return;
    }
    this.notNumber(shared ? cell : this.interned(cell), row);
  }

  /** A cell that is no number in a column still numeric; past MAX_STRAY_KINDS kinds the numbers go. */
  private noteStray(cell: string, row: number): void {
    this.strayCells++;
    this.strays.set(cell, (this.strays.get(cell) ?? 0) + 1);
    if (this.strays.size > MAX_STRAY_KINDS && this.forced !== 'numeric') {
      // Rows read as numbers are written again from them: keep their text before they go.
      if (!this.strings && this.numberRows > 0) this.startStrings(row);
      this.numbers = null;
    }
  }

  private notNumber(cell: string, row: number): void {
    if (this.numbers) this.noteStray(cell, row);
    if (!this.strings) this.startStrings(row);
    this.strings![row] = cell;
    if (this.boolPair !== -2) this.trackBoolean(cell);
    if (this.dateAlive) this.trackDate(cell, row);
  }

  private trackBoolean(cell: string): void {
    const lower = cell.length > 5 ? '' : cell.toLowerCase();
    let pair = -1;
    for (let k = 0; k < BOOLEAN_PAIRS.length; k++)
      if (BOOLEAN_PAIRS[k][0] === lower || BOOLEAN_PAIRS[k][1] === lower) pair = k;
    if (pair < 0 || (this.boolPair >= 0 && pair !== this.boolPair)) {
      this.boolPair = -2;
      return;
    }
    this.boolPair = pair;
    this.spellings.set(cell, (this.spellings.get(cell) ?? 0) + 1);
  }

  private trackDate(cell: string, row: number): void {
    const d = parseDateCell(cell);
    if (!d) {
      this.dateAlive = false;
      this.dates = null;
      return;
    }
    if (!this.dates) this.dates = new Float64Array(Math.max(1024, row + 1)).fill(Number.NaN);
    this.dates[row] = d.ms;
    if (d.hasTime) this.hasTime = true;
  }

  private noteFixed(row: number, digits: number): void {
    if (this.fixed === null || this.fixed.length <= row) {
      const bigger = new Uint8Array(this.numbers!.length);
      if (this.fixed) bigger.set(this.fixed);
      this.fixed = bigger;
    }
    this.fixed[row] = digits;
  }

  private noteException(row: number, cell: string): void {
    const ex = this.exceptions!;
    if (ex.size >= MAX_EXCEPTIONS) this.exceptions = null;
    else ex.set(row, cell);
  }

  /** Keeps the exact text from now on; the first `upTo` rows are rebuilt from what was kept. */
  private startStrings(upTo = 0): void {
    // Pushed, not new Array(upTo): V8 makes an array created that large a slow dictionary.
    const strings: (string | null)[] = [];
    for (let i = 0; i < upTo; i++) strings.push(this.rebuiltText(i));
    this.strings = strings;
  }

  private rebuiltText(row: number): string | null {
    const form = this.dateForms !== null && row < this.dateForms.length ? this.dateForms[row] : 0;
    if (form > 0) return writtenDate(this.dates![row], form);
    const v = this.numbers ? this.numbers[row] : Number.NaN;
    if (Number.isNaN(v)) return null;
    const digits = this.fixed !== null && row < this.fixed.length ? this.fixed[row] : 0;
    if (digits > 0) return this.interned(v.toFixed(digits));
    return this.exceptions?.get(row) ?? this.interned(String(v));
  }

  private interned(s: string): string {
    return this.intern.string(s);
  }

  /** The column's type: the forced one, else inferred from every cell (see inferredType). */
  build(): BuiltColumn {
    if (this.strings && this.strings.length !== this.length) this.strings.length = this.length;
    if (this.forced) return this.buildForced(this.forced);
    const present = this.length - this.missing;
    if (present > 0 && this.boolPair >= 0) return { column: this.booleanColumn(), warnings: [] };
    if (present > 0 && this.dateAlive && this.dates) return { column: this.datetimeColumn(), warnings: [] };
    const dated = present > 0 && !this.leadingZero ? this.datetimeWithStrays(present) : null;
    if (dated) return dated;
    const commas =
      present > 0 && this.strayCells > 0 && !this.leadingZero ? this.commaDecimals(present) : null;
    if (commas) return commas;
    if (this.numbers) {
      if (this.leadingZero) {
        const example = this.strings!.find((s) => s !== null && hasLeadingZero(s));
        const reason = `codes written with leading zeros (e.g. "${example}") keep their exact text`;
        return { column: this.categoricalColumn(reason), warnings: [] };
      }
      if (this.strayCells === 0) return { column: this.numericColumn(), warnings: [] };
      if (this.strayCells <= MAX_STRAY_SHARE * present) return this.numericWithStrays('strayTokens');
      // Say why only where numbers are most of the cells: a text column is categorical plainly.
      if (this.numberRows <= this.strayCells) return { column: this.categoricalColumn(), warnings: [] };
      const tokens = [...this.strays].map(([t]) => JSON.stringify(t)).join(', ');
      const reason = `categorical: ${this.strayCells} of ${present} cells are not numbers (${tokens}), more than ${100 * MAX_STRAY_SHARE}% (columnTypes numeric reads them as missing)`;
      return { column: this.categoricalColumn(reason), warnings: [] };
    }
    return { column: this.categoricalColumn(), warnings: [] };
  }

  private buildForced(type: ColumnType): BuiltColumn {
    const reason = `set to ${type} by columnTypes`;
    if (type === 'categorical') return { column: this.categoricalColumn(reason), warnings: [] };
    if (type === 'numeric') {
      if (!this.numbers) throw new Error('unreachable: a column forced numeric keeps its numbers');
      const built =
        this.strayCells > 0
          ? this.numericWithStrays('invalidValues')
          : { column: this.numericColumn(), warnings: [] };
      built.column.reason = reason;
      return built;
    }
    // Boolean and datetime from the text of every cell; cells that are neither count as missing.
    const values = new Float64Array(this.length);
    const bad = new Map<string, number>();
    let hasTime = false;
    let missing = this.missing;
    for (let i = 0; i < this.length; i++) {
      const text = this.strings ? this.strings[i] : this.rebuiltText(i);
      if (text === null) {
        values[i] = Number.NaN;
        continue;
      }
      const date = type === 'datetime' ? parseDateCell(text) : null;
      if (date?.hasTime) hasTime = true;
      values[i] = type === 'boolean' ? parseBooleanCell(text, true) : (date?.ms ?? Number.NaN);
      if (Number.isNaN(values[i])) {
        missing++;
        bad.set(text, (bad.get(text) ?? 0) + 1);
      }
    }
    const warnings =
      bad.size > 0 ? [invalidWarning(bad, `not ${type === 'boolean' ? 'a boolean' : 'an ISO date'}`)] : [];
    const base = { name: this.name, missing, reason, values };
    const column: Column =
      type === 'boolean'
        ? { ...base, type, labels: this.booleanLabels() }
        : { ...base, type: 'datetime', hasTime };
    return { column, warnings };
  }

  private numericColumn(): Column & { type: 'numeric' } {
    const values = fitted(this.numbers!, this.length);
    const decimals = this.fixed ? sharedDecimals(values, this.fixed) : 0;
    return {
      name: this.name,
      type: 'numeric',
      values,
      missing: this.missing,
      ...(decimals > 0 ? { decimals } : {}),
    };
  }

  private numericWithStrays(code: 'strayTokens' | 'invalidValues'): BuiltColumn {
    const column = this.numericColumn();
    column.missing += this.strayCells;
    const list = [...this.strays].sort((a, b) => b[1] - a[1]);
    column.strays = list.slice(0, MAX_KEPT_STRAYS).map(([t]) => t);
    column.reason = `numeric: ${this.strayCells} cell(s) held non-numeric tokens (${list
      .map(([t]) => JSON.stringify(t))
      .join(', ')}) and count as missing`;
    return { column, warnings: [invalidWarning(this.strays, 'not a number', code)] };
  }

  private categoricalColumn(reason?: string): Column {
    if (!this.strings) this.startStrings(this.length);
    const values = this.strings!.length === this.length ? this.strings! : this.strings!.slice(0, this.length);
    return {
      name: this.name,
      type: 'categorical',
      values,
      missing: this.missing,
      ...(reason ? { reason } : {}),
    };
  }

  private booleanColumn(): Column {
    const values = new Float64Array(this.length);
    for (let i = 0; i < this.length; i++) {
      const s = this.strings![i];
      values[i] = s === null ? Number.NaN : parseBooleanCell(s);
    }
    return { name: this.name, type: 'boolean', values, missing: this.missing, labels: this.booleanLabels() };
  }

  /** The most frequent spelling of each value (ties: first in code-unit order); the lower-case word when absent. */
  private booleanLabels(): { false: string; true: string } {
    const pair = BOOLEAN_PAIRS[Math.max(0, this.boolPair)];
    const best: [string | null, string | null] = [null, null];
    const count = [0, 0];
    const sorted = [...this.spellings].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [spelling, n] of sorted) {
      const k = parseBooleanCell(spelling);
      if (Number.isNaN(k) || n <= count[k]) continue;
      best[k] = spelling;
      count[k] = n;
    }
    return { false: best[0] ?? pair[0], true: best[1] ?? pair[1] };
  }

  /**
   * A column of ISO dates but for a few stray tokens, by the numeric rule (at most MAX_STRAY_KINDS
   * kinds and MAX_STRAY_SHARE of the present cells): datetime, the strays missing and named in a
   * strayTokens warning; else null. Runs after the read on the kept text of a column that is no
   * longer a date, and stops at the first cell past the tolerance (a text column after a few).
   */
  private datetimeWithStrays(present: number): BuiltColumn | null {
    const strings = this.strings;
    if (!strings) return null;
    const values = new Float64Array(this.length).fill(Number.NaN);
    const tally = strayTally(present);
    let hasTime = false;
    for (let i = 0; i < this.length; i++) {
      const text = strings[i];
      if (text === null) continue;
      const d = parseDateCell(text);
      if (d) {
        values[i] = d.ms;
        if (d.hasTime) hasTime = true;
        continue;
      }
      if (!tally.take(text)) return null;
    }
    const { strays, cells: strayCells } = tally;
    if (strayCells === 0 || strayCells === present) return null;
    const list = [...strays].sort((a, b) => b[1] - a[1]);
    const reason = `datetime: ${strayCells} cell(s) held tokens that are no ISO date (${list
      .map(([t]) => JSON.stringify(t))
      .join(', ')}), read as missing`;
    const column: Column = {
      name: this.name,
      type: 'datetime',
      values,
      missing: this.missing + strayCells,
      hasTime,
      reason,
    };
    return { column, warnings: [invalidWarning(strays, 'not an ISO date', 'strayTokens')] };
  }

  /**
   * A column whose present cells read as numbers with a decimal comma and '.' thousands
   * ("4.721,73", "397,32", "1.234" = 1234), but for a few stray tokens by the numeric rule (at most
   * MAX_STRAY_KINDS kinds and MAX_STRAY_SHARE of the present cells), while some did not read with
   * the file's mark: with decimal `auto`, numeric with those values (this column only; its reason
   * says so; strays missing, named in a strayTokens warning); with `.` (a comma-separated file,
   * "1,57" quoted), categorical with a reason saying to send decimal=,. Null otherwise. Runs after
   * the read and stops at the first cell past the tolerance.
   */
  private commaDecimals(present: number): BuiltColumn | null {
    const strings = this.strings;
    if (!strings || this.rules.decimal === ',') return null;
    // The stray tokens seen while numbers were read hold the cells the file's mark missed: one of
    // them must be such a number, or the whole column need not be looked at.
    if (![...this.strays.keys()].some((t) => !Number.isNaN(parseNumberCell(t, ',')))) return null;
    const values = new Float64Array(this.length).fill(Number.NaN);
    const tally = strayTally(present);
    let example = '';
    let thousands = false;
    for (let i = 0; i < this.length; i++) {
      const text = strings[i];
      if (text === null) continue;
      const v = parseNumberCell(text, ',');
      if (Number.isNaN(v)) {
        if (!tally.take(text)) return null;
        continue;
      }
      values[i] = v;
      if (text.includes('.')) thousands = true;
      if (!example && Number.isNaN(parseNumberCell(text, this.rules.decimal))) example = text;
    }
    const hint = `looks like decimal commas${thousands ? " with '.' thousands" : ''} (e.g. ${JSON.stringify(example)})`;
    if (this.rules.decimal === '.')
      return { column: this.categoricalColumn(`categorical: ${hint}: send decimal=,`), warnings: [] };
    const { strays, cells: strayCells } = tally;
    const list = [...strays].sort((a, b) => b[1] - a[1]);
    const strayText =
      strayCells > 0
        ? `; ${strayCells} cell(s) held other tokens (${list.map(([t]) => JSON.stringify(t)).join(', ')}) and count as missing`
        : '';
    const reason = `numeric: ${hint}, read so in this column (send decimal=, or decimal=. to decide for the file)${strayText}`;
    const column: Column = {
      name: this.name,
      type: 'numeric',
      values,
      missing: this.missing + strayCells,
      reason,
      ...(strayCells > 0 ? { strays: list.slice(0, MAX_KEPT_STRAYS).map(([t]) => t) } : {}),
    };
    return {
      column,
      warnings: strayCells > 0 ? [invalidWarning(strays, 'not a number', 'strayTokens')] : [],
    };
  }

  private datetimeColumn(): Column {
    return {
      name: this.name,
      type: 'datetime',
      values: fitted(this.dates!, this.length),
      missing: this.missing,
      hasTime: this.hasTime,
    };
  }
}

/**
 * Counts the stray tokens of a column read again after the fact (dates, decimal commas) under the
 * numeric rule: `take` records one and answers false once they are more than MAX_STRAY_KINDS kinds
 * or more than MAX_STRAY_SHARE of the `present` cells (the column is then not of that type).
 */
function strayTally(present: number) {
  const strays = new Map<string, number>();
  const tally = {
    strays,
    cells: 0,
    take(text: string): boolean {
      tally.cells++;
      strays.set(text, (strays.get(text) ?? 0) + 1);
      return strays.size <= MAX_STRAY_KINDS && tally.cells <= MAX_STRAY_SHARE * present;
    },
  };
  return tally;
}

/** A date's text in its form: 1 YYYY-MM-DD, 2 YYYY-MM-DDTHH:MM:SS, 3 the same with a space (years 1-9999). */
function writtenDate(ms: number, form: number): string {
  const iso = new Date(ms).toISOString();
  if (form === 1) return iso.slice(0, 10);
  return form === 2 ? iso.slice(0, 19) : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** Characters String.prototype.trim may remove at the ends: ASCII blanks and controls, and anything past ASCII. */
function isBlank(code: number): boolean {
  return code <= 32 || code >= 127;
}

const PLAIN: PlainNumber = { value: 0, canonical: false, leadingZero: false, fixed: 0 };

/** a with more room: the expected rows the first time, half as much again past them. */
function grow(a: Float64Array, expectedRows: number): Float64Array {
  const bigger = new Float64Array(a.length < expectedRows ? expectedRows : Math.ceil(a.length * 1.5) + 1024);
  bigger.set(a);
  return bigger;
}

/** The first n values: a view when little room is left over (no copy at the peak), else a copy. */
function fitted(a: Float64Array, n: number): Float64Array {
  return a.length - n <= n / 8 ? a.subarray(0, n) : a.slice(0, n);
}

/** A warning naming the offending tokens and their counts, most frequent first (ten at most). */
function invalidWarning(
  tokens: Map<string, number>,
  what: string,
  code: 'strayTokens' | 'invalidValues' = 'invalidValues',
): Omit<ColumnWarning, 'column'> {
  const list = [...tokens].sort((a, b) => b[1] - a[1]);
  const total = list.reduce((n, [, c]) => n + c, 0);
  const shown = list
    .slice(0, 10)
    .map(([t, n]) => `${JSON.stringify(t)} ×${n}`)
    .join(', ');
  const more = list.length > 10 ? ` and ${list.length - 10} more` : '';
  return {
    code,
    message: `${total} cell(s) ${what}, read as missing: ${shown}${more} (add them to missingValues, or fix the file)`,
  };
}

/**
 * The decimals every present cell was written with when they are all the same (`1.0`, `2.0`: 1),
 * else 0. `fixed` holds, per row, the decimals of a cell whose text has trailing zeros (0 for any
 * other cell, and rows past its end are such cells).
 */
function sharedDecimals(values: Float64Array, fixed: Uint8Array): number {
  let shared = -1;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) continue;
    const d = i < fixed.length ? fixed[i] : 0;
    if (shared === -1) shared = d;
    else if (d !== shared) return 0;
  }
  return Math.max(shared, 0);
}
