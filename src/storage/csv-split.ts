// A large upload read by two CSV threads at once: the file is cut at a line end into a first part
// (read with its header by readCsv) and a second (read by readCsvTail, the header taken from the
// file's start), each on its own thread of the describer pool; the second thread sends its table
// to the first through a MessagePort, which merges them (mergeTables). Whatever is not certain —
// no good cut, a part that fails, parts that do not merge — makes the first thread read the whole
// file as one thread does, so the result is always that of the one-thread read.
import { closeSync, openSync, readSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import {
  mergeTables,
  readCsv,
  readCsvTail,
  type Column,
  type CsvFormat,
  type CsvLimits,
  type CsvOptions,
  type Table,
} from '../data/index.js';

type ReadTable = Table & { format: CsvFormat };

// Reads of 64 KiB: each chunk's text is then a young object the scavenger frees at once (1 MiB
// reads measured a third more peak memory).
const CHUNK_BYTES = 64 * 1024;
/** Blocks read while looking for the cut. */
const SCAN_BYTES = 1 << 20;
/** How far past the middle a cut is looked for (a quoted field that long keeps the file whole). */
const MAX_CUT_SEARCH = 4 << 20;
const QUOTE = 0x22;
const LF = 0x0a;

/**
 * The file's bytes [start, end) in chunks of CHUNK_BYTES, read synchronously: this thread has
 * nothing else to do meanwhile, and a read stream's round trip through libuv's pool for each chunk
 * cost more than the read.
 */
export async function* fileChunks(path: string, start = 0, end = Infinity): AsyncGenerator<Uint8Array> {
  const fd = openSync(path, 'r');
  try {
    for (let at = start; at < end;) {
      const want = Math.min(CHUNK_BYTES, end - at);
      const chunk = Buffer.allocUnsafe(want);
      const n = readSync(fd, chunk, 0, want, at);
      if (n === 0) return;
      at += n;
      yield n < want ? chunk.subarray(0, n) : chunk;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Where to cut a UTF-8 file of `size` bytes in two: just after the first line feed at or past the
 * middle with an even number of quote bytes (0x22) before it — in a well-formed file that line
 * feed is outside any quoted field, since RFC 4180's doubled quotes keep the count's parity —
 * and followed by an ASCII byte (so the second part starts with no byte-order mark and no partial
 * character). Null when there is none within MAX_CUT_SEARCH bytes past the middle or the file
 * starts with a UTF-16 byte-order mark. The cut need not be right for a malformed file: a part
 * that does not parse sends the read back to one thread (see readHeadPart).
 */
export function findCut(path: string, size: number): number | null {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(SCAN_BYTES + 1);
    const first = readSync(fd, buf, 0, 2, 0);
    if (first === 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)))
      return null;
    const middle = Math.floor(size / 2);
    let quotes = 0;
    for (let at = 0; at < middle;) {
      const n = readSync(fd, buf, 0, Math.min(SCAN_BYTES, middle - at), at);
      if (n === 0) return null;
      quotes += countByte(buf, QUOTE, 0, n);
      at += n;
    }
    const stop = Math.min(size, middle + MAX_CUT_SEARCH);
    for (let at = middle; at < stop;) {
      const n = readSync(fd, buf, 0, Math.min(SCAN_BYTES + 1, stop - at + 1, size - at), at);
      if (n === 0) return null;
      // The block's last byte is read again with the next one: it is only looked at as a follower.
      const scanned = Math.min(n, SCAN_BYTES, stop - at);
      let q = buf.indexOf(QUOTE, 0);
      for (let p = 0; ;) {
        const lf = buf.indexOf(LF, p);
        if (lf < 0 || lf >= scanned) {
          quotes += countByte(buf, QUOTE, p, scanned);
          break;
        }
        for (; q >= 0 && q < lf; q = buf.indexOf(QUOTE, q + 1)) quotes++;
        if (quotes % 2 === 0 && lf + 1 < n && buf[lf + 1] < 0x80) return at + lf + 1;
        p = lf + 1;
      }
      at += scanned;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

function countByte(buf: Buffer, byte: number, from: number, to: number): number {
  let n = 0;
  for (let p = buf.indexOf(byte, from); p >= 0 && p < to; p = buf.indexOf(byte, p + 1)) n++;
  return n;
}

/** A part's table as it crosses threads: categorical values as codes into their distinct values. */
type PackedColumn =
  | Exclude<Column, { type: 'categorical' }>
  | (Omit<Extract<Column, { type: 'categorical' }>, 'values'> & { codes: Int32Array; categories: string[] });
interface PackedTable extends Omit<ReadTable, 'columns'> {
  columns: PackedColumn[];
}
/** Second thread → first: its part, or why there is none (no cut, or the part failed). */
type TailMessage = { table: PackedTable } | { none: string };

function pack(table: ReadTable): { packed: PackedTable; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const columns = table.columns.map((c): PackedColumn => {
    if (c.type !== 'categorical') {
      transfer.push(c.values.buffer as ArrayBuffer);
      return c;
    }
    const index = new Map<string, number>();
    const categories: string[] = [];
    const codes = new Int32Array(c.values.length);
    for (let i = 0; i < codes.length; i++) {
      const v = c.values[i];
      if (v === null) {
        codes[i] = -1;
        continue;
      }
      let k = index.get(v);
      if (k === undefined) index.set(v, (k = categories.push(v) - 1));
      codes[i] = k;
    }
    transfer.push(codes.buffer);
    const { values: _values, ...rest } = c;
    return { ...rest, codes, categories };
  });
  return { packed: { ...table, columns }, transfer };
}

function unpack(packed: PackedTable): ReadTable {
  const columns = packed.columns.map((c): Column => {
    if (!('codes' in c)) return c;
    const { codes, categories, ...rest } = c;
    const values: (string | null)[] = [];
    for (let i = 0; i < codes.length; i++) values.push(codes[i] < 0 ? null : categories[codes[i]]);
    return { ...rest, values };
  });
  return { ...packed, columns };
}

/** One part's read: the file, its size, and the read's limits and options. */
export interface PartRead {
  path: string;
  size: number;
  limits: CsvLimits;
  options: CsvOptions;
}

/**
 * The second thread's work: finds the cut, reads the rows after it (the header from the file's
 * start) and posts the table to `port`, or posts why not. Never throws; closes the port.
 */
export async function readTailPart(
  { path, size, limits, options }: PartRead,
  port: MessagePort,
): Promise<void> {
  let message: TailMessage;
  let transfer: ArrayBuffer[] = [];
  try {
    const cut = findCut(path, size);
    if (cut === null) message = { none: 'no cut' };
    else {
      const table = await readCsvTail(fileChunks(path), fileChunks(path, cut), limits, options, {
        sizeBytes: size - cut,
      });
      const packed = pack(table);
      message = { table: packed.packed };
      transfer = packed.transfer;
    }
  } catch (err) {
    message = { none: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(message, transfer);
  port.close();
}

/**
 * The first thread's work: reads the rows before the cut, waits for the second thread's part and
 * merges the two. Null when the file must be read in one go instead (no cut, a part that failed,
 * parts that do not merge, the second thread gone). Never throws for the file's content.
 */
export async function readHeadPart(
  { path, size, limits, options }: PartRead,
  port: MessagePort,
): Promise<ReadTable | null> {
  const tail = nextMessage(port);
  try {
    const cut = findCut(path, size);
    if (cut === null) return null;
    let head: ReadTable | null = null;
    try {
      head = await readCsv(fileChunks(path, 0, cut), limits, options, { sizeBytes: cut });
    } catch {
      return null;
    }
    const message = await tail;
    if (message === null || !('table' in message)) return null;
    return mergeTables(head, unpack(message.table), limits.maxRows);
  } finally {
    port.close();
  }
}

/** The next message on the port, or null once the other end is closed (its thread gone). */
function nextMessage(port: MessagePort): Promise<TailMessage | null> {
  return new Promise((resolve) => {
    port.once('message', (m: TailMessage) => resolve(m));
    port.once('close', () => resolve(null));
  });
}
