// Two threads reading one CSV (src/storage/csv-split.ts, src/data/csv-merge.ts): on random tables
// the merged read gives exactly the one-thread read's description, warnings and typed columns file,
// or declines (null) and the file is read in one go; the cut sits outside quoted fields; and the
// pool's answer with two threads equals its answer with one.
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeTable,
  encodeColumns,
  readCsv,
  tableWarnings,
  type CsvLimits,
  type CsvOptions,
  type Table,
} from '../../src/data/index.js';
import { createCsvDescriber } from '../../src/storage/csv-describer.js';
import { fileChunks, findCut, readHeadPart, readTailPart } from '../../src/storage/csv-split.js';
import { stagedColumnsPath } from '../../src/storage/file-keys.js';

const LIMITS: CsvLimits = { maxColumns: 100, maxRows: 1_000_000, maxLineBytes: 100_000 };

/** mulberry32: a small seeded generator, so every table here is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Cell = (row: number, rows: number, r: () => number) => string;
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
const pad = (n: number, w: number) => String(n).padStart(w, '0');
const date = (r: () => number) =>
  `20${pad(10 + Math.floor(r() * 15), 2)}-${pad(1 + Math.floor(r() * 12), 2)}-${pad(1 + Math.floor(r() * 28), 2)}`;
const time = (r: () => number) =>
  `${pad(Math.floor(r() * 24), 2)}:${pad(Math.floor(r() * 60), 2)}:${pad(Math.floor(r() * 60), 2)}`;
const firstHalf = (row: number, rows: number, r: () => number) => row < rows * (0.3 + 0.4 * r());

/** Column kinds: what a cell of each looks like (missing cells are added on top). */
const KINDS: Record<string, Cell> = {
  integer: (_, __, r) => String(Math.floor(r() * 2000) - 1000),
  twoDecimals: (_, __, r) => (r() * 100).toFixed(2),
  oneDecimalThenTwo: (row, rows, r) => (r() * 100).toFixed(row < rows / 2 ? 1 : 2),
  float: (_, __, r) => String(r() * 1e3),
  category: (_, __, r) => pick(r, ['red', 'green', 'blue', 'light blue']),
  text: (_, __, r) =>
    quote(pick(r, ['a, b', 'say "hi"', 'two\nlines', 'crlf\r\nend', 'plain', '"', ',\n,', 'x'.repeat(40)])),
  quotedNumber: (_, __, r) => quote(String(Math.floor(r() * 50))),
  yesNo: (_, __, r) => (r() < 0.1 ? pick(r, ['Yes', 'NO']) : pick(r, ['yes', 'no'])),
  trueFalse: (row, rows, r) =>
    row < rows / 2 ? pick(r, ['true', 'false']) : pick(r, ['TRUE', 'False', 'true']),
  isoDate: (_, __, r) => date(r),
  dateTime: (_, __, r) => `${date(r)}${pick(r, ['T', ' '])}${time(r)}`,
  zip: (_, __, r) => pad(Math.floor(r() * 99999), 5),
  zipWithTokens: (row, rows, r) =>
    r() < 0.02
      ? pick(r, row < rows / 2 ? ['x1', 'x2', 'x3'] : ['y1', 'y2', 'y3'])
      : pad(Math.floor(r() * 99999), 5),
  numberWithStray: (_, __, r) => (r() < 0.01 ? 'unknown' : String(Math.floor(r() * 100))),
  numbersThenText: (row, rows, r) =>
    firstHalf(row, rows, r) ? String(Math.floor(r() * 9)) : pick(r, ['a', 'b', '7']),
  datesThenText: (row, rows, r) => (firstHalf(row, rows, r) ? date(r) : pick(r, ['soon', date(r)])),
  booleansThenNumbers: (row, rows, r) =>
    firstHalf(row, rows, r) ? pick(r, ['yes', 'no']) : String(Math.floor(r() * 3)),
  textWithNumbers: (_, __, r) =>
    r() < 0.5 ? String(Math.floor(r() * 100)) : pick(r, ['a', 'b', 'c', 'd', 'e', 'f', 'g']),
  missingFirstHalf: (row, rows, r) => (row < rows * 0.7 ? '' : String(Math.floor(r() * 10))),
};

/** Kinds whose two parts may be read as different types or labels. */
const DISAGREEING = new Set([
  'numberWithStray',
  'numbersThenText',
  'datesThenText',
  'booleansThenNumbers',
  'trueFalse',
]);

/** A random table's CSV text: kinds, missing markers, line ends, BOM and header chosen by `seed`. */
function randomCsv(seed: number): string {
  const r = seeded(seed);
  // A third of the tables have a column whose parts disagree (or may): those reads decline.
  const risky = r() < 0.35;
  const names = Object.keys(KINDS).filter((k) => risky || !DISAGREEING.has(k));
  const kinds = Array.from({ length: 3 + Math.floor(r() * 6) }, () => pick(r, names));
  const rows = 300 + Math.floor(r() * 1500);
  const eol = r() < 0.5 ? '\n' : '\r\n';
  const missingRate = pick(r, [0, 0.01, 0.1]);
  // Repeated and empty names are renamed (renamedHeader warnings).
  const header = kinds.map((k, j) => (j === 1 && r() < 0.3 ? '' : j === 2 && r() < 0.3 ? kinds[0] : k));
  const lines = [header.join(',')];
  for (let i = 0; i < rows; i++) {
    lines.push(
      kinds.map((k) => (r() < missingRate ? pick(r, ['', 'NA', 'null']) : KINDS[k](i, rows, r))).join(','),
    );
  }
  return (r() < 0.3 ? '\ufeff' : '') + lines.join(eol) + (r() < 0.8 ? eol : '');
}

/** Everything a read hands on: the description, the warnings, the format and the typed columns file. */
function outcome(table: Table & { format: unknown }) {
  return {
    rowCount: table.rowCount,
    names: table.names,
    format: table.format,
    columns: describeTable(table),
    warnings: tableWarnings(table),
    file: Buffer.concat(encodeColumns(table, 'stamp')).toString('base64'),
  };
}

/** The two parts read in this thread through a MessageChannel, as the pool's two threads do. */
async function twoPartRead(path: string, size: number, options: CsvOptions = {}) {
  const { port1, port2 } = new MessageChannel();
  const part = { path, size, limits: LIMITS, options };
  const [, merged] = await Promise.all([readTailPart(part, port1), readHeadPart(part, port2)]);
  return merged;
}

describe('reading a CSV in two parts', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bp-split-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('when random tables are read in two parts, then each merged read equals the one-thread read', async () => {
    let merged = 0;
    const declined: string[] = [];
    for (let seed = 1; seed <= 60; seed++) {
      const text = randomCsv(seed);
      const path = join(dir, `random-${seed}.csv`);
      await writeFile(path, text);
      const size = Buffer.byteLength(text);
      const whole = outcome(await readCsv(fileChunks(path), LIMITS, {}, { sizeBytes: size }));
      const parts = await twoPartRead(path, size);
      if (parts === null) {
        declined.push(String(seed));
        continue;
      }
      merged++;
      expect(outcome(parts), `seed ${seed}`).toEqual(whole);
    }
    // A third of the tables have a column of a DISAGREEING kind (45 merge, 15 decline with these seeds).
    expect(merged).toBeGreaterThanOrEqual(30);
    expect(declined.length).toBeGreaterThanOrEqual(5);
  });

  it('when leading-zero codes meet more than five kinds of other tokens over both parts only, then the merge says plain text', async () => {
    // First part: codes and x1..x3; second: codes and y1..y3. Each part keeps its numbers (three
    // kinds), the whole has six kinds, so infer.ts drops the numbers and gives no reason.
    const rows = Array.from({ length: 2000 }, (_, i) => {
      const token = i % 100 === 7 ? (i < 1000 ? `x${(i % 3) + 1}` : `y${(i % 3) + 1}`) : pad(i, 5);
      return `${i},${token}`;
    });
    const text = `n,code\n${rows.join('\n')}\n`;
    const path = join(dir, 'codes.csv');
    await writeFile(path, text);
    const whole = await readCsv(fileChunks(path), LIMITS);
    expect(whole.columns[1]).toMatchObject({ type: 'categorical' });
    expect(whole.columns[1].reason).toBeUndefined();
    const parts = await twoPartRead(path, Buffer.byteLength(text));
    expect(parts).not.toBeNull();
    expect(outcome(parts!)).toEqual(outcome(whole));
  });

  it('when a column turns text in the second part only, then the merge declines', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => `${i},${i < 1500 ? i % 7 : 'seven'}`);
    const text = `n,v\n${rows.join('\n')}\n`;
    const path = join(dir, 'turns.csv');
    await writeFile(path, text);
    expect(await twoPartRead(path, Buffer.byteLength(text))).toBeNull();
  });

  it('when the second part starts with more numbers than infer.ts keeps texts for, then the merge declines', async () => {
    // The whole file is text from its first row, so "4e3" stays "4e3"; the second part alone starts
    // with 120,000 numbers (past MAX_EXCEPTIONS non-canonical texts), turns to text at seven kinds
    // of words, and writes those numbers again as "4000".
    const words = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const rows = Array.from({ length: 240_000 }, (_, i) => {
      const v = i < 110_000 ? (i % 2 ? 'word' : 'text') : i < 230_000 ? `${i % 9}e3` : words[i % 7];
      return `${i},${v}`;
    });
    const text = `n,v\n${rows.join('\n')}\n`;
    const path = join(dir, 'exceptions.csv');
    await writeFile(path, text);
    const whole = await readCsv(fileChunks(path), LIMITS);
    expect((whole.columns[1].values as string[])[150_000]).toBe('6e3');
    expect(await twoPartRead(path, Buffer.byteLength(text))).toBeNull();
  });

  it('when the middle of the file is inside a quoted field, then the cut is after the field', () => {
    // 1,000 bytes of rows, a quoted field of 3,000 bytes holding line ends and doubled quotes
    // across the middle (byte 2,500 of 5,000), then rows again.
    const before = 'a,b\n' + '1,x\n'.repeat(249);
    const field = '"' + 'line ""q""\n'.repeat(272) + '"';
    const text =
      before + `2,${field}\n` + '3,y\n'.repeat(Math.ceil((5000 - before.length - field.length - 3) / 4));
    const path = join(dir, 'quoted.csv');
    writeFileSync(path, text);
    const cut = findCut(path, Buffer.byteLength(text));
    const fieldEnd = before.length + 2 + field.length + 1;
    expect(before.length + 2).toBeLessThan(2500);
    expect(fieldEnd).toBeGreaterThan(2500);
    expect(cut).toBe(fieldEnd);
  });

  it('when a file starts with a UTF-16 byte-order mark or has no line end past the middle, then there is no cut', () => {
    const utf16 = join(dir, 'utf16.csv');
    writeFileSync(
      utf16,
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n1,2\n3,4\n', 'utf16le')]),
    );
    expect(findCut(utf16, 28)).toBeNull();
    const oneLine = join(dir, 'one-line.csv');
    writeFileSync(oneLine, 'a,b\n' + 'x'.repeat(500));
    expect(findCut(oneLine, 504)).toBeNull();
  });

  it('when a pool of two threads reads files above its threshold, then its answers and columns files equal those of one thread', async () => {
    const two = createCsvDescriber({ threads: 2, splitMinBytes: 0 });
    const one = createCsvDescriber({ threads: 1 });
    try {
      for (const seed of [3, 7, 11, 19]) {
        const path = join(dir, `pool-${seed}.csv`);
        await writeFile(path, randomCsv(seed));
        const a = await one.describe(path, LIMITS, {}, true);
        const columnsA = await readFile(stagedColumnsPath(path));
        const b = await two.describe(path, LIMITS, {}, true);
        const columnsB = await readFile(stagedColumnsPath(path));
        expect(b).toEqual(a);
        expect(columnsB.equals(columnsA)).toBe(true);
      }
      // A file the parts cannot merge is read again in one go, with the same answer.
      const path = join(dir, 'pool-turns.csv');
      await writeFile(
        path,
        `n,v\n${Array.from({ length: 2000 }, (_, i) => `${i},${i < 1500 ? 1 : 'z'}`).join('\n')}\n`,
      );
      expect(await two.describe(path, LIMITS)).toEqual(await one.describe(path, LIMITS));
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
