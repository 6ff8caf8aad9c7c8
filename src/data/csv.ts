// CSV text or stream → typed columns. Columns are built while the rows stream by, so a large file
// is never held as rows of strings: numeric cells go straight into a Float64Array.
import { parse, type CsvError as ParseError } from 'csv-parse';
import { isMissingCell, parseNumberCell, type Column, type Table } from './schema.js';

export interface CsvLimits {
  maxColumns: number;
  /** Data rows, the header not counted. */
  maxRows: number;
  /** Bytes in one record (a quoted field may span lines). */
  maxLineBytes: number;
}

export type CsvErrorKind =
  | 'empty'
  | 'noRows'
  | 'width'
  | 'quoting'
  | 'notText'
  | 'header'
  | 'tooManyColumns'
  | 'tooManyRows'
  | 'lineTooLong';

/** The oversize kinds; a caller answers these with 413 and the others with 422. */
export const CSV_SIZE_KINDS: ReadonlySet<CsvErrorKind> = new Set([
  'tooManyColumns',
  'tooManyRows',
  'lineTooLong',
]);

export class CsvError extends Error {
  override name = 'CsvError';
  constructor(
    readonly kind: CsvErrorKind,
    message: string,
    /** 1-based line number in the file; the header is line 1. */
    readonly row?: number,
    readonly column?: string,
  ) {
    super(message);
  }
}

type Source = AsyncIterable<Uint8Array | string> | string;

/** Decodes the source to text, failing with `notText` on NUL bytes or invalid UTF-8. */
async function* decodeText(source: Source): AsyncGenerator<string> {
  let lines = 1;
  const check = (text: string): void => {
    const nul = text.indexOf('\0');
    if (nul >= 0) {
      throw new CsvError(
        'notText',
        `row ${lines + countNewlines(text, nul)} contains a NUL byte: the file is not text`,
        lines + countNewlines(text, nul),
      );
    }
    lines += countNewlines(text, text.length);
  };
  if (typeof source === 'string') {
    check(source);
    yield source;
    return;
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of source) {
    let text: string;
    if (typeof chunk === 'string') {
      text = chunk;
    } else {
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        // Locate the bad byte approximately: the first replacement character a lenient decode gives.
        const lenient = new TextDecoder('utf-8').decode(chunk);
        const at = lenient.indexOf('\uFFFD');
        const row = lines + countNewlines(lenient, at < 0 ? 0 : at);
        throw new CsvError('notText', `row ${row} is not valid UTF-8 text`, row);
      }
    }
    check(text);
    if (text.length > 0) yield text;
  }
  let tail: string;
  try {
    tail = decoder.decode();
  } catch {
    throw new CsvError('notText', `the file ends in the middle of a UTF-8 character (row ${lines})`, lines);
  }
  check(tail);
  if (tail.length > 0) yield tail;
}

function countNewlines(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Grows one column: numeric until the first non-numeric cell, then strings from there on. */
class ColumnBuilder {
  private numbers: Float64Array | null = new Float64Array(1024);
  private strings: (string | null)[] | null = null;
  // Repeated category values share one string; capped so an id-like column does not double its memory.
  private readonly intern = new Map<string, string>();
  private length = 0;
  missing = 0;

  constructor(readonly name: string) {}

  push(raw: string): void {
    const cell = raw.trim();
    const missing = isMissingCell(cell);
    if (missing) this.missing++;
    if (this.numbers) {
      const v = missing ? Number.NaN : parseNumberCell(cell);
      if (missing || !Number.isNaN(v)) {
        if (this.length === this.numbers.length) {
          const bigger = new Float64Array(this.numbers.length * 2);
          bigger.set(this.numbers);
          this.numbers = bigger;
        }
        this.numbers[this.length++] = v;
        return;
      }
      this.toStrings();
    }
    this.strings!.push(missing ? null : this.interned(cell));
    this.length++;
  }

  // Numbers already read become their shortest string form (String(5.10) is "5.1"), the same form a
  // number sent for a categorical column at prediction takes.
  private toStrings(): void {
    const nums = this.numbers!;
    const strings: (string | null)[] = new Array(this.length);
    for (let i = 0; i < this.length; i++)
      strings[i] = Number.isNaN(nums[i]) ? null : this.interned(String(nums[i]));
    this.strings = strings;
    this.numbers = null;
  }

  private interned(s: string): string {
    const hit = this.intern.get(s);
    if (hit !== undefined) return hit;
    if (this.intern.size < 10_000) this.intern.set(s, s);
    return s;
  }

  build(): Column {
    if (this.numbers)
      return {
        name: this.name,
        type: 'numeric',
        values: this.numbers.slice(0, this.length),
        missing: this.missing,
      };
    return { name: this.name, type: 'categorical', values: this.strings!, missing: this.missing };
  }
}

/** Where the last record read ended, and how many blank lines had been skipped by then. */
interface RecordPosition {
  line: number;
  emptyLines: number;
}

/** The line on which the record after `last` starts: past its end and any blank lines skipped since. */
function nextRecordStart(last: RecordPosition, emptyLinesNow: number | undefined): number {
  return last.line + 1 + Math.max(0, (emptyLinesNow ?? last.emptyLines) - last.emptyLines);
}

// csv-parse's own errors; anything else (e.g. the caller's stream failing) is rethrown untouched.
function isParseError(err: unknown): err is ParseError {
  const code = err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (code.startsWith('CSV_') || code === 'INVALID_OPENING_QUOTE');
}

function fromParseError(
  err: ParseError & { lines?: number; empty_lines?: number; column?: number | string | null },
  names: string[],
  last: RecordPosition,
): CsvError {
  // Quote errors point at the line of the offending character; the others at the line where the
  // record starts (a quoted field may span lines, and an unclosed quote runs to the end of the file).
  const atChar =
    err.code === 'CSV_INVALID_CLOSING_QUOTE' ||
    err.code === 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE' ||
    err.code === 'INVALID_OPENING_QUOTE';
  const row = atChar && typeof err.lines === 'number' ? err.lines : nextRecordStart(last, err.empty_lines);
  const column = typeof err.column === 'number' ? names[err.column] : undefined;
  const where = row !== undefined ? `row ${row}` : 'a row';
  const inColumn = column !== undefined ? `, column "${column}"` : '';
  switch (err.code) {
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH': {
      const got = Array.isArray((err as { record?: unknown }).record)
        ? (err as unknown as { record: unknown[] }).record.length
        : undefined;
      return new CsvError(
        'width',
        `${where} has ${got ?? 'a different number of'} fields, the header has ${names.length}`,
        row,
      );
    }
    case 'CSV_QUOTE_NOT_CLOSED':
      return new CsvError(
        'quoting',
        `${where}${inColumn} opens a quoted field that is never closed`,
        row,
        column,
      );
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return new CsvError('quoting', `${where}${inColumn} has text after a closing quote`, row, column);
    case 'INVALID_OPENING_QUOTE':
      return new CsvError('quoting', `${where}${inColumn} has a quote inside an unquoted field`, row, column);
    case 'CSV_MAX_RECORD_SIZE':
      return new CsvError('lineTooLong', `${where} is longer than the limit`, row, column);
    default:
      return new CsvError('quoting', `${where} cannot be read as CSV: ${err.message}`, row, column);
  }
}

/**
 * Reads a CSV whose first row is the header into typed columns. A column is numeric when every
 * non-missing cell is a finite decimal number, otherwise categorical. Blank lines are skipped.
 * Every failure is a CsvError naming the row (and column, where known).
 */
export async function readCsv(source: Source, limits: CsvLimits): Promise<Table> {
  let names: string[] | null = null;
  let builders: ColumnBuilder[] = [];
  let rowCount = 0;
  const last: RecordPosition = { line: 0, emptyLines: 0 };
  // Rows are consumed in on_record, synchronously and in order, and dropped (null) so the parser
  // never buffers them; an error thrown here becomes the parser's error.
  const onRecord = (record: string[], info: { lines: number; empty_lines: number }): null => {
    const start = nextRecordStart(last, info.empty_lines);
    last.line = info.lines;
    last.emptyLines = info.empty_lines;
    if (names === null) {
      if (record.length === 1 && record[0].trim() === '')
        throw new CsvError('empty', 'the file is empty: it has no header row');
      names = readHeader(record, limits);
      builders = names.map((n) => new ColumnBuilder(n));
      return null;
    }
    if (rowCount >= limits.maxRows) {
      throw new CsvError('tooManyRows', `row ${start} is beyond the limit of ${limits.maxRows} rows`, start);
    }
    for (let j = 0; j < builders.length; j++) builders[j].push(record[j]);
    rowCount++;
    return null;
  };
  const parser = parse({
    bom: true,
    relax_column_count: false,
    skip_empty_lines: true,
    max_record_size: limits.maxLineBytes,
    on_record: onRecord,
  });
  const text = decodeText(source);
  try {
    const done = new Promise<void>((resolve, reject) => {
      parser.on('error', reject);
      parser.on('end', resolve);
      parser.resume(); // nothing is pushed, but the stream must flow to emit 'end'
    });
    done.catch(() => undefined); // observed below; avoids an unhandled rejection while feeding
    for await (const chunk of text) {
      if (parser.destroyed || parser.errored) break;
      if (!parser.write(chunk)) await Promise.race([new Promise((r) => parser.once('drain', r)), done]);
    }
    if (!parser.destroyed && !parser.errored) parser.end();
    await done;
  } catch (err) {
    parser.destroy();
    await text.return(undefined).catch(() => undefined);
    if (err instanceof CsvError) throw err;
    if (isParseError(err)) throw fromParseError(err, names ?? [], last);
    throw err;
  }
  if (names === null) throw new CsvError('empty', 'the file is empty: it has no header row');
  if (rowCount === 0) throw new CsvError('noRows', 'the file has a header but no data rows', 2);
  return { names, rowCount, columns: builders.map((b) => b.build()) };
}

function readHeader(record: string[], limits: CsvLimits): string[] {
  if (record.length > limits.maxColumns) {
    throw new CsvError(
      'tooManyColumns',
      `the header has ${record.length} columns, the limit is ${limits.maxColumns}`,
      1,
    );
  }
  const names = record.map((n) => n.trim());
  const seen = new Set<string>();
  for (let j = 0; j < names.length; j++) {
    if (names[j] === '') throw new CsvError('header', `header column ${j + 1} has no name`, 1);
    if (seen.has(names[j]))
      throw new CsvError('header', `header column ${j + 1} repeats the name "${names[j]}"`, 1, names[j]);
    seen.add(names[j]);
  }
  return names;
}
