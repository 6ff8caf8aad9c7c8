// CSV text or stream → typed columns. Columns are built while the rows stream by, so a large file
// is never held as rows of strings: numeric cells go straight into a Float64Array.
import { parse, type CsvError as ParseError } from 'csv-parse';
import { MissingMarkers, type DecimalMark } from './cells.js';
import { detectDelimiter, DELIMITER_NAMES, openDecoder, type Delimiter } from './dialect.js';
import { CsvError } from './csv-error.js';
import { ColumnBuilder } from './infer.js';
import type { ColumnType, ColumnWarning, Table } from './schema.js';

export interface CsvLimits {
  maxColumns: number;
  /** Data rows, the header not counted. */
  maxRows: number;
  /** Bytes in one record (a quoted field may span lines). */
  maxLineBytes: number;
}

/** How to read the file; every field is optional (detected or defaulted). */
export interface CsvOptions {
  /** Field separator; detected among `,` `;` tab `|` when absent. */
  delimiter?: Delimiter;
  /** Decimal mark; when absent `.` for comma-separated files, `auto` (either `.` or `,`) otherwise. */
  decimal?: DecimalMark;
  /** WHATWG encoding label (utf-8, utf-16le, windows-1252, iso-8859-1, …); a BOM takes precedence. Default utf-8. */
  charset?: string;
  /** Cells read as missing, replacing DEFAULT_MISSING_VALUES (the empty cell is always missing). */
  missingValues?: string[] | null;
  /** Forced column types by (renamed) header name; the others are inferred. */
  columnTypes?: Record<string, ColumnType>;
}

/** The dialect a file was read with: what a later read of the same file must use. */
export interface CsvFormat {
  delimiter: Delimiter;
  decimal: DecimalMark;
  charset: string;
}

export { CsvError, CSV_SIZE_KINDS, type CsvErrorKind } from './csv-error.js';

export type Source = AsyncIterable<Uint8Array | string> | string;

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
  suggested: Delimiter | null,
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
        `${where} has ${got ?? 'a different number of'} fields, the header has ${names.length}${
          suggested
            ? ` (this looks ${DELIMITER_NAMES[suggested]}-separated: send delimiter=${JSON.stringify(suggested)})`
            : ''
        }`,
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

const SAMPLE_CHARS = 64 * 1024;

/** What a read needs besides the text: the options resolved against the sample. */
interface ReadPlan {
  format: CsvFormat;
  limits: CsvLimits;
  options: CsvOptions;
  /** The delimiter the sample suggests, when it differs from the one given (for error hints). */
  suggested: Delimiter | null;
}

/** Reads up to SAMPLE_CHARS of text to detect the delimiter; the chunks read are handed back to be parsed first. */
async function samplePlan(
  text: AsyncGenerator<string>,
  limits: CsvLimits,
  options: CsvOptions,
  charset: () => string,
): Promise<{ plan: ReadPlan; head: string[] }> {
  const head: string[] = [];
  let size = 0;
  let complete = true;
  while (size < SAMPLE_CHARS) {
    const next = await text.next();
    if (next.done) break;
    head.push(next.value);
    size += next.value.length;
  }
  if (size >= SAMPLE_CHARS) complete = false;
  const detected = detectDelimiter(head.join(''), complete);
  const delimiter = options.delimiter ?? detected ?? ',';
  const decimal: DecimalMark = options.decimal ?? (delimiter === ',' ? '.' : 'auto');
  const suggested = detected !== null && detected !== delimiter ? detected : null;
  return { plan: { format: { delimiter, decimal, charset: charset() }, limits, options, suggested }, head };
}

/**
 * Reads a CSV whose first row is the header into typed columns (see ColumnBuilder for the type
 * rules: numeric, categorical, boolean, datetime), with the reading warnings (renamed headers,
 * stray tokens) and the dialect used. Blank lines are skipped. Every failure is a CsvError naming
 * the row (and column, where known).
 */
export async function readCsv(
  source: Source,
  limits: CsvLimits,
  options: CsvOptions = {},
): Promise<Table & { format: CsvFormat }> {
  const decoded = openDecoder(source, options.charset);
  const text = decoded.chunks;
  const missing = new MissingMarkers(options.missingValues ?? null);
  let plan: ReadPlan | null = null;
  let names: string[] | null = null;
  let builders: ColumnBuilder[] = [];
  const warnings: ColumnWarning[] = [];
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
      names = readHeader(record, limits, warnings);
      const types = checkedColumnTypes(options.columnTypes, names);
      const rules = { decimal: plan!.format.decimal, missing };
      builders = names.map((n) => new ColumnBuilder(n, rules, types.get(n)));
      return null;
    }
    if (rowCount >= limits.maxRows) {
      throw new CsvError('tooManyRows', `row ${start} is beyond the limit of ${limits.maxRows} rows`, start);
    }
    for (let j = 0; j < builders.length; j++) builders[j].push(record[j]);
    rowCount++;
    return null;
  };
  let parser: ReturnType<typeof parse> | null = null;
  try {
    const sampled = await samplePlan(text, limits, options, decoded.charset);
    plan = sampled.plan;
    parser = parse({
      bom: true,
      delimiter: plan.format.delimiter,
      relax_column_count: false,
      skip_empty_lines: true,
      max_record_size: limits.maxLineBytes,
      on_record: onRecord,
    });
    await feed(parser, sampled.head, text);
  } catch (err) {
    parser?.destroy();
    await text.return(undefined).catch(() => undefined);
    if (err instanceof CsvError) throw err;
    if (isParseError(err)) throw fromParseError(err, names ?? [], last, plan?.suggested ?? null);
    throw err;
  }
  if (names === null) throw new CsvError('empty', 'the file is empty: it has no header row');
  if (rowCount === 0) throw new CsvError('noRows', 'the file has a header but no data rows', 2);
  const columns = builders.map((b) => {
    const built = b.build();
    for (const w of built.warnings) warnings.push({ column: b.name, ...w });
    return built.column;
  });
  return { names, rowCount, columns, warnings, format: plan!.format };
}

/** Writes the sampled chunks, then the rest, into the parser, honouring back-pressure; resolves at its end. */
async function feed(
  parser: ReturnType<typeof parse>,
  head: string[],
  rest: AsyncIterable<string>,
): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    parser.on('end', resolve);
    parser.resume(); // nothing is pushed, but the stream must flow to emit 'end'
  });
  done.catch(() => undefined); // observed below; avoids an unhandled rejection while feeding
  const write = async (chunk: string) => {
    if (!parser.write(chunk)) await Promise.race([new Promise((r) => parser.once('drain', r)), done]);
  };
  for (const chunk of head) {
    if (parser.destroyed || parser.errored) break;
    await write(chunk);
  }
  for await (const chunk of rest) {
    if (parser.destroyed || parser.errored) break;
    await write(chunk);
  }
  if (!parser.destroyed && !parser.errored) parser.end();
  await done;
}

/** The forced types by column; a name that is no column of the file is refused. */
function checkedColumnTypes(types: CsvOptions['columnTypes'], names: string[]): Map<string, ColumnType> {
  const map = new Map<string, ColumnType>();
  if (!types) return map;
  const unknown: string[] = [];
  for (const [name, type] of Object.entries(types)) {
    if (names.includes(name)) map.set(name, type);
    else unknown.push(name);
  }
  if (unknown.length > 0)
    throw new CsvError(
      'options',
      `columnTypes names columns the file does not have: ${unknown.map((n) => JSON.stringify(n)).join(', ')}`,
      1,
    );
  return map;
}

/**
 * The header's names, trimmed. As pandas does, an empty name becomes "Unnamed: <0-based index>"
 * and a repeated one "<name>.1", "<name>.2", …; each rename is a `renamedHeader` warning.
 */
function readHeader(record: string[], limits: CsvLimits, warnings: ColumnWarning[]): string[] {
  if (record.length > limits.maxColumns) {
    throw new CsvError(
      'tooManyColumns',
      `the header has ${record.length} columns, the limit is ${limits.maxColumns}`,
      1,
    );
  }
  const raw = record.map((n) => n.trim());
  const taken = new Set(raw.filter((n) => n !== ''));
  const seen = new Set<string>();
  return raw.map((name, j) => {
    if (name !== '' && !seen.has(name)) {
      seen.add(name);
      return name;
    }
    let renamed = name === '' ? `Unnamed: ${j}` : name;
    for (let k = 1; taken.has(renamed) || seen.has(renamed); k++)
      renamed = `${name === '' ? `Unnamed: ${j}` : name}.${k}`;
    seen.add(renamed);
    taken.add(renamed);
    const why = name === '' ? 'has no name' : `repeats the name ${JSON.stringify(name)}`;
    warnings.push({
      column: renamed,
      code: 'renamedHeader',
      message: `header column ${j + 1} ${why}: it is named ${JSON.stringify(renamed)}`,
    });
    return renamed;
  });
}
