// The CsvDescriber's thread pool: results equal the data module's own in this thread, CsvErrors
// cross the thread boundary with kind, row and column, one thread serves upload after upload,
// a dead thread is replaced, and close() ends the threads.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CsvError, describeTable, readCsv, tableWarnings, type CsvLimits } from '../../src/data/index.js';
import { createCsvDescriber, type CsvDescriberPool } from '../../src/storage/csv-describer.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const LIMITS: CsvLimits = { maxColumns: 100, maxRows: 1_000_000, maxLineBytes: 100_000 };

/** What readCsv + describeTable give on this thread: the reference for the pool's answers. */
async function inProcess(path: string, limits = LIMITS) {
  const table = await readCsv(createReadStream(path), limits);
  return {
    rowCount: table.rowCount,
    columns: describeTable(table),
    warnings: tableWarnings(table),
    format: table.format,
  };
}

/** The CsvError readCsv throws on this thread for the file. */
async function inProcessError(path: string, limits = LIMITS): Promise<CsvError> {
  const err = await inProcess(path, limits).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof CsvError)) throw new Error(`expected a CsvError from ${path}, got ${String(err)}`);
  return err;
}

describe('createCsvDescriber', () => {
  let dir: string;
  const pools: CsvDescriberPool[] = [];
  const pool = (...args: Parameters<typeof createCsvDescriber>) => {
    const p = createCsvDescriber(...args);
    pools.push(p);
    return p;
  };
  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bp-describer-'));
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('when a CSV is described, then the answer equals readCsv + describeTable on this thread', async () => {
    const d = pool();
    for (const name of ['iris', 'loans', 'friedman1']) {
      const path = join(FIXTURES, `${name}.csv`);
      expect(await d.describe(path, LIMITS)).toEqual(await inProcess(path));
    }
  });

  it('when the file is not a usable table, then a CsvError with the same kind, row, column and message arrives', async () => {
    const cases: [string, CsvLimits][] = [
      [join(FIXTURES, 'ragged.csv'), LIMITS],
      [join(FIXTURES, 'broken-quote.csv'), LIMITS],
      [join(FIXTURES, 'empty.csv'), LIMITS],
      [join(FIXTURES, 'binary.csv'), LIMITS],
      [join(FIXTURES, 'header-only.csv'), LIMITS],
      [await file('inner-quote.csv', 'a,b\n1,x"y\n'), LIMITS],
      [join(FIXTURES, 'iris.csv'), { ...LIMITS, maxRows: 10 }],
      [join(FIXTURES, 'iris.csv'), { ...LIMITS, maxColumns: 2 }],
    ];
    const d = pool();
    const seenKinds = new Set<string>();
    for (const [path, limits] of cases) {
      const expected = await inProcessError(path, limits);
      const err = await d.describe(path, limits).catch((e: unknown) => e);
      expect(err, path).toBeInstanceOf(CsvError);
      const got = err as CsvError;
      expect({ kind: got.kind, row: got.row, column: got.column, message: got.message }, path).toEqual({
        kind: expected.kind,
        row: expected.row,
        column: expected.column,
        message: expected.message,
      });
      seenKinds.add(got.kind);
    }
    // The cases cover errors with a row and with a column, not just one kind.
    expect(seenKinds.size).toBeGreaterThanOrEqual(5);
    const withColumn = await d.describe(join(dir, 'inner-quote.csv'), LIMITS).catch((e: CsvError) => e);
    expect((withColumn as CsvError).column).toBe('b');
  });

  it('when a file is missing, then an Error with its errno code arrives', async () => {
    const err = await pool()
      .describe(join(dir, 'no-such.csv'), LIMITS)
      .catch((e: NodeJS.ErrnoException) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('when uploads come one after another or all at once, then one thread serves them all', async () => {
    const d = pool();
    const iris = join(FIXTURES, 'iris.csv');
    const expected = await inProcess(iris);
    for (let i = 0; i < 3; i++) expect(await d.describe(iris, LIMITS)).toEqual(expected);
    expect(d.stats()).toEqual({ alive: 1, started: 1, busy: 0, queued: 0 });

    const all = Array.from({ length: 4 }, () => d.describe(iris, LIMITS));
    // One thread: one job runs, the rest wait their turn.
    expect(d.stats()).toMatchObject({ busy: 1, queued: 3 });
    for (const r of await Promise.all(all)) expect(r).toEqual(expected);
    expect(d.stats()).toEqual({ alive: 1, started: 1, busy: 0, queued: 0 });
  });

  it('when a pool has two threads and two jobs, then both run at once', async () => {
    const d = pool({ threads: 2 });
    const iris = join(FIXTURES, 'iris.csv');
    const both = [d.describe(iris, LIMITS), d.describe(iris, LIMITS)];
    expect(d.stats()).toMatchObject({ alive: 2, busy: 2, queued: 0 });
    await Promise.all(both);
    expect(d.stats()).toMatchObject({ alive: 2, started: 2, busy: 0 });
  });

  it('when a thread dies on its job, then that job fails and the next job gets a new thread', async () => {
    // A heap too small for a file of distinct categories: the thread runs out of memory and dies.
    const d = pool({ resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 } });
    const rows = Array.from({ length: 250_000 }, (_, i) => `${i},category-${i}-${'x'.repeat(24)}`);
    const big = await file('big.csv', `n,label\n${rows.join('\n')}\n`);
    const err = await d.describe(big, LIMITS).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(CsvError);
    expect((err as Error).message).toMatch(/CSV thread stopped/);
    expect(d.stats()).toMatchObject({ alive: 0, started: 1 });

    const iris = join(FIXTURES, 'iris.csv');
    expect(await d.describe(iris, LIMITS)).toEqual(await inProcess(iris));
    expect(d.stats()).toMatchObject({ alive: 1, started: 2 });
  });

  it('when closed, then its thread ends, waiting jobs fail and later ones are refused', async () => {
    const d = pool();
    const iris = join(FIXTURES, 'iris.csv');
    await d.describe(iris, LIMITS);
    expect(d.stats().alive).toBe(1);
    const running = d.describe(iris, LIMITS).catch((e: Error) => e);
    const waiting = d.describe(iris, LIMITS).catch((e: Error) => e);
    await d.close();
    expect(d.stats()).toMatchObject({ alive: 0, busy: 0, queued: 0 });
    expect(await waiting).toMatchObject({ message: 'the CSV describer was closed' });
    // The running job either finished before the thread ended or failed with the close.
    const r = await running;
    if (r instanceof Error) expect(r.message).toBe('the CSV describer was closed');
    else expect(r).toEqual(await inProcess(iris));
    await expect(d.describe(iris, LIMITS)).rejects.toThrow('the CSV describer was closed');
  });
});
