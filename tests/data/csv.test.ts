import { createReadStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CsvError, readCsv, type CsvLimits } from '../../src/data/csv.js';
import { describeTable, type Table } from '../../src/data/schema.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const LIMITS: CsvLimits = { maxColumns: 1000, maxRows: 1_000_000, maxLineBytes: 1 << 20 };

/** The raw cells of a simple (unquoted) CSV fixture, split by hand. */
function rawCells(name: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(fixture(name), 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

async function failure(source: Parameters<typeof readCsv>[0], limits: CsvLimits = LIMITS): Promise<CsvError> {
  try {
    await readCsv(source, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(CsvError);
    return err as CsvError;
  }
  throw new Error('expected readCsv to fail');
}

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('readCsv on the fixtures', () => {
  it('when reading iris from a file stream, then it has 150 rows, 4 numeric columns and a categorical species', async () => {
    const t = await readCsv(createReadStream(fixture('iris.csv')), LIMITS);
    const raw = rawCells('iris.csv');
    expect(t.rowCount).toBe(raw.rows.length);
    expect(t.rowCount).toBe(150);
    expect(t.names).toEqual(raw.header);
    expect(t.columns.map((c) => c.type)).toEqual(['numeric', 'numeric', 'numeric', 'numeric', 'categorical']);
    for (let j = 0; j < 4; j++) {
      const col = t.columns[j];
      if (col.type !== 'numeric') throw new Error('numeric expected');
      expect(Array.from(col.values)).toEqual(raw.rows.map((r) => Number(r[j])));
    }
  });

  it('when describing iris, then min, max, mean and population std match values computed from the raw text', async () => {
    const t = await readCsv(readFileSync(fixture('iris.csv'), 'utf8'), LIMITS);
    const raw = rawCells('iris.csv');
    const summary = describeTable(t);
    for (let j = 0; j < 4; j++) {
      const xs = raw.rows.map((r) => parseFloat(r[j]));
      const n = xs.length;
      const mean = xs.reduce((a, b) => a + b, 0) / n;
      // E[x²] - E[x]² : a different formula from the implementation's two passes.
      const variance = xs.reduce((a, b) => a + b * b, 0) / n - mean * mean;
      const s = summary[j];
      if (s.type !== 'numeric') throw new Error('numeric expected');
      expect(s.name).toBe(raw.header[j]);
      expect(s.missing).toBe(0);
      expect(s.min).toBe(Math.min(...xs));
      expect(s.max).toBe(Math.max(...xs));
      expect(s.mean).toBeCloseTo(mean, 10);
      expect(s.std).toBeCloseTo(Math.sqrt(variance), 8);
    }
    const species = summary[4];
    if (species.type !== 'categorical') throw new Error('categorical expected');
    const counts: Record<string, number> = {};
    for (const r of raw.rows) counts[r[4]] = (counts[r[4]] ?? 0) + 1;
    expect(species.categories).toEqual(counts);
  });

  it('when reading loans, then missing cells are counted per column and the text columns are categorical', async () => {
    const t = await readCsv(createReadStream(fixture('loans.csv')), LIMITS);
    const raw = rawCells('loans.csv');
    expect(t.rowCount).toBe(raw.rows.length);
    for (let j = 0; j < raw.header.length; j++) {
      const empties = raw.rows.filter((r) => r[j].trim() === '').length;
      expect(t.columns[j].missing, raw.header[j]).toBe(empties);
    }
    expect(t.columns[t.names.indexOf('age')].missing).toBeGreaterThan(0);
    const types = Object.fromEntries(t.columns.map((c) => [c.name, c.type]));
    expect(types).toMatchObject({
      age: 'numeric',
      income: 'numeric',
      debt_ratio: 'numeric',
      employment: 'categorical',
      region: 'categorical',
      has_mortgage: 'boolean', // yes/no
      decision: 'categorical',
    });
    const age = t.columns[t.names.indexOf('age')];
    if (age.type !== 'numeric') throw new Error('numeric expected');
    expect(Number.isNaN(age.values[0])).toBe(raw.rows[0][0] === '');
  });

  it('when reading friedman1, then every column is numeric with no missing values', async () => {
    const t = await readCsv(createReadStream(fixture('friedman1.csv')), LIMITS);
    expect(t.rowCount).toBe(rawCells('friedman1.csv').rows.length);
    expect(t.columns.every((c) => c.type === 'numeric' && c.missing === 0)).toBe(true);
  });
});

describe('readCsv parsing rules', () => {
  it('when bytes arrive in tiny chunks that split multi-byte characters, then the table equals the one read from a string', async () => {
    const text = '\uFEFF name , price,city\ncafé,1.5,Zürich\n"a, ""quoted"" value",2e3,Malmö\n';
    const fromString = await readCsv(text, LIMITS);
    const fromChunks = await readCsv(chunks(new TextEncoder().encode(text), 3), LIMITS);
    expect(fromChunks).toEqual(fromString);
    expect(fromString.names).toEqual(['name', 'price', 'city']);
    expect(fromString.columns[0].values).toEqual(['café', 'a, "quoted" value']);
    expect(Array.from(fromString.columns[1].values as Float64Array)).toEqual([1.5, 2000]);
  });

  it('when cells are empty, NA, N/A, null or NaN in any case, then they are missing and the column stays numeric', async () => {
    const t = await readCsv('x,y\n1,a\n,b\nNA,c\nn/a,d\nNULL,e\nnan,f\n  ,g\n2.5e-1,h\n', LIMITS);
    const x = t.columns[0];
    expect(x.type).toBe('numeric');
    expect(x.missing).toBe(6);
    expect(Array.from(x.values as Float64Array).map((v) => (Number.isNaN(v) ? null : v))).toEqual([
      1,
      null,
      null,
      null,
      null,
      null,
      null,
      0.25,
    ]);
    const summary = describeTable(t)[0];
    expect(summary).toMatchObject({ min: 0.25, max: 1, mean: 0.625, missing: 6 });
  });

  it('when a column has "1,5", "0x10" or "Infinity", then it is categorical and earlier numbers keep their exact text', async () => {
    for (const odd of ['"1,5"', '0x10', 'Infinity', '1e999', '12abc']) {
      const t = await readCsv(`v,w\n3.50,1\n,2\n${odd},3\n`, LIMITS);
      expect(t.columns[0].type, odd).toBe('categorical');
      expect(t.columns[0].values[0]).toBe('3.50');
      expect(t.columns[0].values[1]).toBeNull();
      expect(t.columns[0].missing).toBe(1);
      expect(t.columns[1].type).toBe('numeric');
    }
  });

  it('when quoted fields span lines and blank lines are skipped, then errors still name the line where the record starts', async () => {
    const text = 'a,b\n1,"two\nlines"\n\n\n"x\ny\nz",3\n\n4,5,6\n';
    const t = await readCsv('a,b\n1,"two\nlines"\n\n"x\ny",3\n', LIMITS);
    expect(t.columns[1].values).toEqual(['two\nlines', 3].map(String));
    expect(await failure(text)).toMatchObject({ kind: 'width', row: 10 });
    expect(await failure('a,b\n1,"2\n3"\n\n4,"5\n6\n')).toMatchObject({
      kind: 'quoting',
      row: 5,
      column: 'b',
    });
    expect(await failure('a,b\n1,"2\n3"\n\n4,5\n', { ...LIMITS, maxRows: 1 })).toMatchObject({
      kind: 'tooManyRows',
      row: 5,
    });
  });

  it('when lines end in CRLF and blank lines appear, then rows read the same as with LF', async () => {
    const crlf = await readCsv('a,b\r\n1,x\r\n\r\n2,y\r\n', LIMITS);
    const lf = await readCsv('a,b\n1,x\n2,y\n', LIMITS);
    expect(crlf).toEqual(lf);
    expect(crlf.rowCount).toBe(2);
  });
});

describe('readCsv errors name the kind and the row', () => {
  it('when the file is empty, then kind is empty', async () => {
    expect((await failure(createReadStream(fixture('empty.csv')))).kind).toBe('empty');
    expect((await failure('\n\n')).kind).toBe('empty');
  });

  it('when there is only a header, then kind is noRows', async () => {
    const e = await failure(createReadStream(fixture('header-only.csv')));
    expect(e.kind).toBe('noRows');
  });

  it('when a row has fewer fields than the header, then kind is width with its line number', async () => {
    const e = await failure(createReadStream(fixture('ragged.csv')));
    expect(e).toMatchObject({ kind: 'width', row: 4 });
    expect(e.message).toBe('row 4 has 2 fields, the header has 3');
  });

  it('when a quote is never closed, then kind is quoting on the row that opened it, naming the column', async () => {
    const e = await failure(createReadStream(fixture('broken-quote.csv')));
    expect(e).toMatchObject({ kind: 'quoting', row: 3, column: 'b' });
    expect(e.message).toContain('row 3');
  });

  it('when text follows a closing quote, then kind is quoting with the row and column', async () => {
    const e = await failure('a,b\n1,2\n3,"4"x\n');
    expect(e).toMatchObject({ kind: 'quoting', row: 3, column: 'b' });
  });

  it('when the file holds NUL bytes, then kind is notText with the row', async () => {
    const e = await failure(createReadStream(fixture('binary.csv')));
    expect(e).toMatchObject({ kind: 'notText', row: 3 });
  });

  it('when the bytes are not valid UTF-8, then kind is notText with the row', async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('a,b\n1,2\n3,'), 0xff, 0xfe, 0x0a]);
    const e = await failure(chunks(bytes, 64));
    expect(e).toMatchObject({ kind: 'notText', row: 3 });
  });

  it('when a header name is empty or repeated, then it is renamed as pandas does, with a renamedHeader warning', async () => {
    const empty = await readCsv('a,,c\n1,2,3\n', LIMITS);
    expect(empty.names).toEqual(['a', 'Unnamed: 1', 'c']);
    expect(empty.warnings).toEqual([
      {
        column: 'Unnamed: 1',
        code: 'renamedHeader',
        message: expect.stringContaining('header column 2 has no name'),
      },
    ]);
    const repeated = await readCsv('a, a ,a.1,a\n1,2,3,4\n', LIMITS);
    // pandas' mangle_dupe_cols: a, a.1, … skipping names already taken ("a.1" is in the file).
    expect(repeated.names).toEqual(['a', 'a.2', 'a.1', 'a.3']);
    expect(repeated.warnings!.map((w) => [w.column, w.code])).toEqual([
      ['a.2', 'renamedHeader'],
      ['a.3', 'renamedHeader'],
    ]);
  });

  it('when the header is wider than maxColumns, then kind is tooManyColumns', async () => {
    const e = await failure('a,b,c\n1,2,3\n', { ...LIMITS, maxColumns: 2 });
    expect(e).toMatchObject({ kind: 'tooManyColumns', row: 1 });
    await expect(readCsv('a,b\n1,2\n', { ...LIMITS, maxColumns: 2 })).resolves.toMatchObject({ rowCount: 1 });
  });

  it('when there are more data rows than maxRows, then kind is tooManyRows at the first row beyond', async () => {
    const e = await failure(createReadStream(fixture('iris.csv')), { ...LIMITS, maxRows: 100 });
    expect(e).toMatchObject({ kind: 'tooManyRows', row: 102 });
    await expect(
      readCsv(createReadStream(fixture('iris.csv')), { ...LIMITS, maxRows: 150 }),
    ).resolves.toMatchObject({ rowCount: 150 });
  });

  it('when a record is longer than maxLineBytes, then kind is lineTooLong with its row', async () => {
    const long = 'x'.repeat(200);
    const e = await failure(`a,b\n1,2\n3,${long}\n`, { ...LIMITS, maxLineBytes: 100 });
    expect(e).toMatchObject({ kind: 'lineTooLong', row: 3 });
    expect(e.message).toContain('limit of 100 bytes a line (MAX_LINE_BYTES)');
  });
});

describe('readCsv and its source', () => {
  it("when the caller's stream fails, then that error reaches the caller unchanged", async () => {
    class UploadTooLarge extends Error {
      code = 'FST_TOO_LARGE';
    }
    async function* failing(): AsyncGenerator<string> {
      yield 'a,b\n1,2\n';
      throw new UploadTooLarge('stop');
    }
    await expect(readCsv(failing(), LIMITS)).rejects.toBeInstanceOf(UploadTooLarge);
  });
});

describe('describeTable', () => {
  it('when categories have different counts, then keys are ordered by count descending and an all-missing numeric column has null stats', async () => {
    const t: Table = await readCsv('c,n\nb,\na,NA\nb,\nc,\nb,\nc,\n__proto__,\n', LIMITS);
    const [c, n] = describeTable(t);
    if (c.type !== 'categorical') throw new Error('categorical expected');
    expect(Object.keys(c.categories)).toEqual(['b', 'c', '__proto__', 'a']);
    expect(c.categories.b).toBe(3);
    expect(Object.getOwnPropertyDescriptor(c.categories, '__proto__')?.value).toBe(1);
    expect(JSON.parse(JSON.stringify(c.categories))).toEqual({ b: 3, c: 2, ['__proto__']: 1, a: 1 });
    expect(n).toEqual({
      name: 'n',
      type: 'numeric',
      missing: 7,
      min: null,
      max: null,
      mean: null,
      std: null,
    });
  });
  it('when a numeric column has at most 1000 distinct values, then the summary counts them and those on fewer than 3 rows; above 1000 it leaves both out', async () => {
    // x: 0.5 ×3, 1.5 ×2, 2 ×1 → 3 distinct, 2 of them rare (by hand); k: 1001 distinct integers.
    const rows = Array.from({ length: 1001 }, (_, i) => `${[0.5, 0.5, 0.5, 1.5, 1.5, 2][i % 6]},${i}`);
    const [x, k] = describeTable(await readCsv(`x,k\n${rows.slice(0, 6).join('\n')}\n`, LIMITS));
    expect(x).toMatchObject({ type: 'numeric', distinctValues: 3, rareValues: 2 });
    expect(x).not.toHaveProperty('valueCounts');
    // 0..5, each once: integer codes as before, and every one rare.
    expect(k).toMatchObject({ distinctValues: 6, rareValues: 6, valueCounts: { 0: 1, 5: 1 } });
    const [, wide] = describeTable(await readCsv(`x,k\n${rows.join('\n')}\n`, LIMITS));
    expect(wide).not.toHaveProperty('distinctValues');
    expect(wide).not.toHaveProperty('rareValues');
  });
});
