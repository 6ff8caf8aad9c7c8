// CSV text or stream → typed columns. Columns are built while the rows stream by, so a large file
// is never held as rows of strings: numeric cells go straight into a Float64Array.
import { MissingMarkers, type DecimalMark } from './cells.js';
import { detectDelimiter, DELIMITER_NAMES, openDecoder, type Delimiter } from './dialect.js';
import { CsvError } from './csv-error.js';
import { CsvScanner, ScanError, type ScannedRecord } from './csv-scan.js';
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

const SAMPLE_CHARS = 64 * 1024;

/** What a read needs besides the text: the options resolved against the sample. */
interface ReadPlan {
  format: CsvFormat;
  limits: CsvLimits;
  options: CsvOptions;
  /** The delimiter the sample suggests, when it differs from the one given (for error hints). */
  suggested: Delimiter | null;
  /** Rows expected from the file's size and the sample's line length (columns are allocated for them). */
  expectedRows: number;
}

/** What the caller may know of the source that makes reading it cheaper. */
export interface ReadHint {
  /** The file's size in bytes, when known: columns are then allocated once, at about their final size. */
  sizeBytes?: number;
}

/** Rows a file of sizeBytes holds if its lines are like the sample's (2% spare); 1024 when unknown. */
function expectedRows(sample: string, sizeBytes: number | undefined, maxRows: number): number {
  let lines = 0;
  for (let i = sample.indexOf('\n'); i >= 0; i = sample.indexOf('\n', i + 1)) lines++;
  if (!sizeBytes || lines === 0) return 1024;
  return Math.min(maxRows + 1, Math.ceil(((sizeBytes * lines) / sample.length) * 1.02) + 16);
}

/** Reads up to SAMPLE_CHARS of text to detect the delimiter; the chunks read are handed back to be parsed first. */
async function samplePlan(
  text: AsyncGenerator<string>,
  limits: CsvLimits,
  options: CsvOptions,
  charset: () => string,
  hint: ReadHint,
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
  const sample = head.join('');
  const detected = detectDelimiter(sample, complete);
  const rows = expectedRows(sample, hint.sizeBytes, limits.maxRows);
  const delimiter = options.delimiter ?? detected ?? ',';
  const decimal: DecimalMark = options.decimal ?? (delimiter === ',' ? '.' : 'auto');
  const suggested = detected !== null && detected !== delimiter ? detected : null;
  const format = { delimiter, decimal, charset: charset() };
  return { plan: { format, limits, options, suggested, expectedRows: rows }, head };
}

/**
 * Reads a CSV whose first row is the header into typed columns (see ColumnBuilder for the type
 * rules: numeric, categorical, boolean, datetime), with the reading warnings (renamed headers,
 * stray tokens) and the dialect used. Blank lines are skipped. Every failure is a CsvError naming
 * the row (and column, where known); an error of the source itself reaches the caller unchanged.
 */
export async function readCsv(
  source: Source,
  limits: CsvLimits,
  options: CsvOptions = {},
  hint: ReadHint = {},
): Promise<Table & { format: CsvFormat }> {
  const decoded = openDecoder(source, options.charset);
  const text = decoded.chunks;
  try {
    const { plan, head } = await samplePlan(text, limits, options, decoded.charset, hint);
    const reader = new TableReader(plan);
    await scanRecords(reader, limits, withoutBom(head), text);
    return reader.finish();
  } finally {
    await text.return(undefined).catch(() => undefined);
  }
}

/**
 * Reads the rows of `tail`, the part of a file after one of its line ends, as the rows that follow
 * the header of the file whose start is `head` (its first bytes, at least its header record): the
 * dialect and the header's names are taken from `head` exactly as readCsv takes them, and the
 * rows of `tail` are numbered from 1 in errors. Built so a large file can be read in two parts on
 * two threads (src/storage/csv-split.ts) and the parts merged (mergeTables); `hint.sizeBytes` is
 * the size of `tail`. A CsvError when `head` holds no complete header record.
 */
export async function readCsvTail(
  head: Source,
  tail: Source,
  limits: CsvLimits,
  options: CsvOptions = {},
  hint: ReadHint = {},
): Promise<Table & { format: CsvFormat }> {
  const decoded = openDecoder(head, options.charset);
  let reader: TableReader;
  let charset: string;
  try {
    const { plan, head: sample } = await samplePlan(decoded.chunks, limits, options, decoded.charset, hint);
    reader = new TableReader(plan);
    charset = plan.format.charset;
    let taken = false;
    // Only the header record: the rest of the head is the tail's business (or before it).
    const scanner = new CsvScanner(plan.format.delimiter.charCodeAt(0), limits.maxLineBytes, (rec) => {
      if (!taken) reader.record(rec);
      taken = true;
    });
    for (const chunk of withoutBom(sample)) if (!taken) scanner.push(chunk);
    if (!taken) throw new CsvError('lineTooLong', 'the header record is longer than the head read');
  } finally {
    await decoded.chunks.return(undefined).catch(() => undefined);
  }
  const text = openDecoder(tail, charset).chunks;
  try {
    await scanRecords(reader, limits, [], text);
    return reader.finish();
  } finally {
    await text.return(undefined).catch(() => undefined);
  }
}

/** `head` without a leading byte-order mark (text given as strings keeps it; decoded bytes lose it in the decoder). */
function withoutBom(head: string[]): string[] {
  if (head.length > 0 && head[0].charCodeAt(0) === 0xfeff) head[0] = head[0].slice(1);
  return head;
}

/**
 * Scans `head` then `rest` into `reader`, record by record, to the end of the text; a scanning
 * failure (broken quoting, a line over maxLineBytes) becomes the reader's CsvError naming its row.
 */
async function scanRecords(
  reader: TableReader,
  limits: CsvLimits,
  head: readonly string[],
  rest: AsyncIterable<string>,
): Promise<void> {
  const scanner = new CsvScanner(reader.delimiterCode, limits.maxLineBytes, (rec) => reader.record(rec));
  try {
    for (const chunk of head) scanner.push(chunk);
    for await (const chunk of rest) scanner.push(chunk);
    scanner.end();
  } catch (err) {
    throw err instanceof ScanError ? reader.scanProblem(err) : err;
  }
}

/** Builds the table record by record: the header first, then each row into its column builders. */
class TableReader {
  private names: string[] | null = null;
  private builders: ColumnBuilder[] = [];
  private readonly warnings: ColumnWarning[] = [];
  private rowCount = 0;
  private readonly missing: MissingMarkers;

  constructor(private readonly plan: ReadPlan) {
    this.missing = new MissingMarkers(plan.options.missingValues ?? null);
  }

  /** The delimiter's char code, as the scanner wants it. */
  get delimiterCode(): number {
    return this.plan.format.delimiter.charCodeAt(0);
  }

  record(rec: ScannedRecord): void {
    const { text, count, starts, ends, values } = rec;
    const names = this.names;
    if (names === null) {
      const cells = Array.from({ length: count }, (_, j) => values[j] ?? text.slice(starts[j], ends[j]));
      this.header(cells);
      return;
    }
    if (count !== names.length) throw this.widthProblem(rec.line, count);
    if (this.rowCount >= this.plan.limits.maxRows) {
      const limit = this.plan.limits.maxRows;
      throw new CsvError('tooManyRows', `row ${rec.line} is beyond the limit of ${limit} rows`, rec.line);
    }
    const builders = this.builders;
    for (let j = 0; j < count; j++) {
      const v = values[j];
      if (v === undefined) builders[j].pushRange(text, starts[j], ends[j]);
      else builders[j].push(v);
    }
    this.rowCount++;
  }

  private header(cells: string[]): void {
    if (cells.length === 1 && cells[0].trim() === '')
      throw new CsvError('empty', 'the file is empty: it has no header row');
    const suggested = this.plan.suggested;
    // A given delimiter that leaves the header whole, where another splits the file's records
    // evenly: one column named after the whole line would be stored and nothing could be trained.
    if (cells.length === 1 && suggested)
      throw new CsvError(
        'width',
        `with delimiter=${JSON.stringify(this.plan.format.delimiter)} the header is one column; this looks ${DELIMITER_NAMES[suggested]}-separated: send delimiter=${JSON.stringify(suggested)} or leave delimiter out`,
        1,
      );
    const names = readHeader(cells, this.plan.limits, this.warnings);
    const types = checkedColumnTypes(this.plan.options.columnTypes, names);
    const rules = { decimal: this.plan.format.decimal, missing: this.missing };
    const rows = this.plan.expectedRows;
    this.builders = names.map((n) => new ColumnBuilder(n, rules, types.get(n), rows));
    this.names = names;
  }

  private widthProblem(row: number, got: number): CsvError {
    const names = this.names ?? [];
    const suggested = this.plan.suggested;
    const hint = suggested
      ? ` (this looks ${DELIMITER_NAMES[suggested]}-separated: send delimiter=${JSON.stringify(suggested)})`
      : '';
    return new CsvError('width', `row ${row} has ${got} fields, the header has ${names.length}${hint}`, row);
  }

  /** The CsvError for what the scanner found, naming the column when the header is known. */
  scanProblem(err: ScanError): CsvError {
    const row = err.line;
    const column = err.code === 'tooLong' ? undefined : this.names?.[err.field];
    const at = `row ${row}${column !== undefined ? `, column "${column}"` : ''}`;
    switch (err.code) {
      case 'quoteNotClosed':
        return new CsvError('quoting', `${at} opens a quoted field that is never closed`, row, column);
      case 'textAfterQuote':
        return new CsvError('quoting', `${at} has text after a closing quote`, row, column);
      case 'quoteInField':
        return new CsvError('quoting', `${at} has a quote inside an unquoted field`, row, column);
      case 'tooLong':
        return new CsvError(
          'lineTooLong',
          `${at} is longer than the limit of ${this.plan.limits.maxLineBytes} bytes a line (MAX_LINE_BYTES)`,
          row,
        );
    }
  }

  finish(): Table & { format: CsvFormat } {
    const names = this.names;
    if (names === null) throw new CsvError('empty', 'the file is empty: it has no header row');
    if (this.rowCount === 0) throw new CsvError('noRows', 'the file has a header but no data rows', 2);
    const columns = this.builders.map((b) => {
      const built = b.build();
      for (const w of built.warnings) this.warnings.push({ column: b.name, ...w });
      return built.column;
    });
    return { names, rowCount: this.rowCount, columns, warnings: this.warnings, format: this.plan.format };
  }
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
export function readHeader(record: string[], limits: CsvLimits, warnings: ColumnWarning[]): string[] {
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
      if (name !== record[j])
        warnings.push({
          column: name,
          code: 'renamedHeader',
          message: `header column ${j + 1} is written ${JSON.stringify(record[j])}: the spaces around it are removed, it is named ${JSON.stringify(name)} (a prediction may send either)`,
        });
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
