// The CSV thread (a piscina task): parses and describes one staged upload per task, so the API's
// event loop never runs the parser. Errors go back as plain data (a CsvError's kind, row and column
// included), because an Error's own fields do not survive the trip between threads.
import { closeSync, openSync, readSync } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import { CsvError, describeTable, encodeColumns, readCsv, tableWarnings } from '../data/index.js';
import type { DescribeReply, DescribeRequest } from './csv-describer.js';
import { stagedColumnsPath } from './file-keys.js';

/** Describes the file at `path` (and keeps its typed columns when asked); never throws (an error is the reply). */
export default async function describe({
  path,
  limits,
  options,
  keepColumns,
}: DescribeRequest): Promise<DescribeReply> {
  try {
    // The size, so columns are allocated once.
    const { size } = await stat(path);
    const table = await readCsv(fileChunks(path), limits, options, {
      sizeBytes: size,
    });
    if (keepColumns) {
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
    return {
      ok: true,
      rowCount: table.rowCount,
      columns: describeTable(table),
      warnings: tableWarnings(table),
      format: table.format,
    };
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

// Reads of 64 KiB: each chunk's text is then a young object the scavenger frees at once (1 MiB
// reads measured a third more peak memory).
const CHUNK_BYTES = 64 * 1024;

/**
 * The file's bytes in chunks, read synchronously: this thread has nothing else to do meanwhile,
 * and a read stream's round trip through libuv's pool for each chunk cost more than the read.
 */
async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      const n = readSync(fd, chunk, 0, CHUNK_BYTES, null);
      if (n === 0) return;
      yield n < CHUNK_BYTES ? chunk.subarray(0, n) : chunk;
    }
  } finally {
    closeSync(fd);
  }
}
