// The typed columns of a table in one binary file, so a table read once from CSV is never parsed
// again. Layout (all little-endian):
//   bytes 0-7    "BPCOLS01"
//   bytes 8-11   u32 length H of the header
//   bytes 12-15  zero
//   16 … 16+H    the header, UTF-8 JSON (ColumnsHeader)
//   then, from the next multiple of 8, each column's block at its header offset (from the file's
//   start): Float64 values (numeric, boolean, datetime; NaN missing) or Int32 codes into the
//   column's category list (categorical; -1 missing).
import type { Column, ColumnWarning, Table } from './schema.js';

const MAGIC = 'BPCOLS01';
const PREAMBLE = 16;

/** The header of a columns file: the table's shape and, per column, where its block is. */
interface ColumnsHeader {
  /** Whatever the writer wants to find again (the read format the table came from). */
  stamp: unknown;
  rowCount: number;
  names: string[];
  warnings: ColumnWarning[];
  columns: ColumnEntry[];
}

type ColumnEntry = {
  name: string;
  type: Column['type'];
  missing: number;
  reason?: string;
  labels?: { false: string; true: string };
  hasTime?: boolean;
  /** Numeric only: the decimals every cell was written with (NumericColumn.decimals). */
  decimals?: number;
  /** Numeric only: the tokens read as missing (NumericColumn.strays). */
  strays?: string[];
  /** Categorical only: the distinct values, indexed by the codes. */
  categories?: string[];
  offset: number;
  byteLength: number;
};

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function checkEndianness(): void {
  if (!littleEndian) throw new Error('columns files are little-endian; this machine is not');
}

/** A categorical column as codes into its distinct values (in order of first appearance). */
function encodeCategories(values: (string | null)[]): { codes: Int32Array; categories: string[] } {
  const index = new Map<string, number>();
  const categories: string[] = [];
  const codes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) {
      codes[i] = -1;
      continue;
    }
    let k = index.get(v);
    if (k === undefined) {
      k = categories.length;
      index.set(v, k);
      categories.push(v);
    }
    codes[i] = k;
  }
  return { codes, categories };
}

const asBytes = (a: Float64Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * The table as the parts of a columns file, in order (write them one after the other; the
 * numeric blocks are views of the table's own arrays, not copies). `stamp` is stored as JSON.
 */
export function encodeColumns(table: Table, stamp: unknown): Uint8Array[] {
  checkEndianness();
  const blocks: Uint8Array[] = [];
  const entries = table.columns.map((c) => {
    const { name, type, missing, reason } = c;
    const entry: Omit<ColumnEntry, 'offset' | 'byteLength'> = { name, type, missing, reason };
    if (c.type === 'categorical') {
      const { codes, categories } = encodeCategories(c.values);
      blocks.push(asBytes(codes));
      return { ...entry, categories };
    }
    if (c.type === 'boolean') entry.labels = c.labels;
    if (c.type === 'datetime') entry.hasTime = c.hasTime;
    if (c.type === 'numeric' && c.decimals) entry.decimals = c.decimals;
    if (c.type === 'numeric' && c.strays) entry.strays = c.strays;
    blocks.push(asBytes(c.values));
    return entry;
  });
  // Offsets depend on the header's length, which depends on the offsets' digits: fix the header
  // with placeholder offsets padded to a width that cannot grow.
  const header = (start: number): string => {
    let at = start;
    const columns = entries.map((e, j) => {
      const offset = at;
      at += Math.ceil(blocks[j].byteLength / 8) * 8;
      return { ...e, offset, byteLength: blocks[j].byteLength };
    });
    const h: ColumnsHeader = {
      stamp,
      rowCount: table.rowCount,
      names: table.names,
      warnings: table.warnings ?? [],
      columns,
    };
    return JSON.stringify(h);
  };
  let start = 0;
  let json = header(start);
  for (;;) {
    const next = Math.ceil((PREAMBLE + new TextEncoder().encode(json).byteLength) / 8) * 8;
    if (next === start) break;
    start = next;
    json = header(start);
  }
  return assemble(json, start, blocks);
}

/** The preamble and header padded to `start`, then the blocks, each padded to a multiple of 8 bytes. */
function assemble(json: string, start: number, blocks: Uint8Array[]): Uint8Array[] {
  const head = new Uint8Array(start);
  head.set(new TextEncoder().encode(MAGIC), 0);
  const headerBytes = new TextEncoder().encode(json);
  new DataView(head.buffer).setUint32(8, headerBytes.byteLength, true);
  head.set(headerBytes, PREAMBLE);
  const parts: Uint8Array[] = [head];
  for (const b of blocks) {
    parts.push(b);
    const pad = Math.ceil(b.byteLength / 8) * 8 - b.byteLength;
    if (pad > 0) parts.push(new Uint8Array(pad));
  }
  return parts;
}

/**
 * The table and stamp of a columns file. Numeric blocks are views of `bytes` when it is 8-byte
 * aligned (no copy), copies otherwise. Throws an Error naming what is wrong when the bytes are not
 * a whole columns file of this version.
 */
export function decodeColumns(bytes: Uint8Array): { table: Table; stamp: unknown } {
  checkEndianness();
  if (bytes.byteLength < PREAMBLE || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC)
    throw new Error('not a columns file (bad magic)');
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(PREAMBLE, PREAMBLE + length)),
  ) as ColumnsHeader;
  const n = header.rowCount;
  const columns = header.columns.map((e): Column => {
    const width = e.type === 'categorical' ? 4 : 8;
    if (e.byteLength !== n * width || e.offset + e.byteLength > bytes.byteLength)
      throw new Error(`columns file: the block of "${e.name}" does not fit the file`);
    const block = bytes.subarray(e.offset, e.offset + e.byteLength);
    const base = {
      name: e.name,
      missing: e.missing,
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
    };
    if (e.type === 'categorical') {
      const codes = view(block, Int32Array);
      const categories = e.categories ?? [];
      const values = Array.from(codes, (k) => (k < 0 ? null : categories[k]));
      return { ...base, type: 'categorical', values };
    }
    const values = view(block, Float64Array);
    if (e.type === 'boolean') return { ...base, type: 'boolean', values, labels: e.labels! };
    if (e.type === 'datetime') return { ...base, type: 'datetime', values, hasTime: e.hasTime ?? false };
    return {
      ...base,
      type: 'numeric',
      values,
      ...(e.decimals ? { decimals: e.decimals } : {}),
      ...(e.strays ? { strays: e.strays } : {}),
    };
  });
  const table: Table = { names: header.names, rowCount: n, columns, warnings: header.warnings };
  return { table, stamp: header.stamp };
}

function view<T extends Float64Array | Int32Array>(
  block: Uint8Array,
  Kind: { new (buffer: ArrayBufferLike, offset: number, length: number): T; BYTES_PER_ELEMENT: number },
): T {
  const aligned = block.byteOffset % Kind.BYTES_PER_ELEMENT === 0 ? block : block.slice();
  return new Kind(aligned.buffer, aligned.byteOffset, aligned.byteLength / Kind.BYTES_PER_ELEMENT);
}
