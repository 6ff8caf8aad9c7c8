// A stored CSV read record by record, for scoring a whole file: the header's names first, then each
// data row as its raw cells. Nothing is kept between records, so memory does not grow with the file.
import { parse } from 'csv-parse';
import { Readable } from 'node:stream';
import { readHeader, type CsvFormat, type Source } from './csv.js';
import { CsvError } from './csv-error.js';
import { openDecoder } from './dialect.js';
import type { ColumnWarning } from './schema.js';

/** One data row: its 1-based line in the file (the header is line 1) and its cells as written. */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/**
 * Reads `source` with a known dialect (the one the dataset was read with at upload). The first
 * value is the header's names, renamed as readCsv renames them (empty → "Unnamed: i", repeats →
 * "name.1"); then one CsvRecord per data row, blank lines skipped. A row whose width differs from
 * the header's is still yielded (its caller reports it); broken quoting or text that is not in
 * the charset is a CsvError naming the line. `skip` data rows are read but not yielded (a resumed
 * pass), and their lines still count.
 */
export async function* readCsvRecords(
  source: Source,
  format: Pick<CsvFormat, 'delimiter' | 'charset'>,
  limits: { maxColumns: number; maxLineBytes: number },
  skip = 0,
): AsyncGenerator<string[] | CsvRecord, void, undefined> {
  const decoded = openDecoder(source, format.charset);
  const parser = parse({
    bom: true,
    delimiter: format.delimiter,
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: limits.maxLineBytes,
    info: true,
  });
  const input = Readable.from(decoded.chunks, { objectMode: false });
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  let header = true;
  let skipped = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (header) {
        header = false;
        const warnings: ColumnWarning[] = [];
        yield readHeader(
          item.record,
          { maxColumns: limits.maxColumns, maxRows: 0, maxLineBytes: 0 },
          warnings,
        );
        continue;
      }
      if (skipped < skip) {
        skipped++;
        continue;
      }
      yield { line: item.info.lines, cells: item.record };
    }
  } catch (err) {
    if (err instanceof CsvError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('CSV_') || code === 'INVALID_OPENING_QUOTE')) {
      const line = (err as { lines?: number }).lines;
      throw new CsvError(
        'quoting',
        `line ${line ?? '?'} cannot be read as CSV: ${(err as Error).message}`,
        line,
      );
    }
    throw err;
  } finally {
    input.destroy();
    parser.destroy();
  }
  if (header) throw new CsvError('empty', 'the file is empty: it has no header row');
}
