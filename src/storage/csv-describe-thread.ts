// The CSV thread (a piscina task): parses and describes one staged upload per task, so the API's
// event loop never runs the parser. Errors go back as plain data (a CsvError's kind, row and column
// included), because an Error's own fields do not survive the trip between threads.
import { rm, stat, writeFile } from 'node:fs/promises';
import {
  CsvError,
  describeTable,
  encodeColumns,
  readCsv,
  tableWarnings,
  type CsvFormat,
  type CsvOptions,
  type Table,
} from '../data/index.js';
import type { DescribeReply, DescribeRequest } from './csv-describer.js';
import { fileChunks, readHeadPart, readTailPart } from './csv-split.js';
import { stagedColumnsPath } from './file-keys.js';

/** Describes the file at `path` (and keeps its typed columns when asked); never throws (an error is the reply). */
export default async function describe({
  path,
  limits,
  options,
  keepColumns,
  part,
}: DescribeRequest): Promise<DescribeReply> {
  if (part?.role === 'second') return secondPart({ path, limits, options, keepColumns, part });
  try {
    // The size, so columns are allocated once.
    const { size } = await stat(path);
    const halves = part ? await readHeadPart({ path, size, limits, options }, part.port) : null;
    const table =
      halves ??
      (await readCsv(fileChunks(path), limits, options, {
        sizeBytes: size,
      }));
    // The columns file is written (on libuv's pool) while the summaries are computed.
    const written = keepColumns ? writeColumns(table, options, path) : Promise.resolve();
    written.catch(() => undefined);
    const described = {
      rowCount: table.rowCount,
      columns: describeTable(table),
      warnings: tableWarnings(table),
      format: table.format,
    };
    await written;
    return { ok: true, ...described };
  } catch (err) {
    if (err instanceof CsvError) {
      return {
        ok: false,
        error: { csv: true, kind: err.kind, message: err.message, row: err.row, column: err.column },
      };
    }
    const e = err instanceof Error ? err : new Error(String(err));
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, error: { csv: false, message: e.message, code } };
  }
}

/** Writes the typed columns beside the staged file; none are left behind when that fails. */
async function writeColumns(
  table: Table & { format: CsvFormat },
  options: CsvOptions,
  path: string,
): Promise<void> {
  // Stamped with the read format as the dataset records it, which a job's spec carries.
  const stamp = {
    ...table.format,
    missingValues: options.missingValues ?? null,
    columnTypes: options.columnTypes ?? {},
  };
  const target = stagedColumnsPath(path);
  await writeFile(target, encodeColumns(table, stamp)).catch(async (err: unknown) => {
    await rm(target, { force: true });
    throw err;
  });
}

/** The second of two threads reading one file (csv-split.ts): its part goes to the first thread. */
async function secondPart({ path, limits, options, part }: DescribeRequest): Promise<DescribeReply> {
  const port = part!.port;
  try {
    const { size } = await stat(path);
    await readTailPart({ path, size, limits, options }, port);
  } catch {
    // The first thread reads the whole file then, and meets the same error itself.
  } finally {
    port.close();
  }
  return { ok: true, part: 'second' };
}
