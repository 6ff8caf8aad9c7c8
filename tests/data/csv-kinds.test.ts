// Real-world CSV kinds (tests/fixtures/cases): each file is read the way its owner means it.
import { createReadStream, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CsvError, readCsv, type CsvLimits, type CsvOptions } from '../../src/data/csv.js';
import { classList, describeTable, tableWarnings, type Column } from '../../src/data/schema.js';

const LIMITS: CsvLimits = { maxColumns: 1000, maxRows: 1_000_000, maxLineBytes: 1 << 20 };
const fixture = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/cases/${name}`, import.meta.url));
const read = (name: string, options?: CsvOptions) =>
  readCsv(createReadStream(fixture(name)), LIMITS, options);
const col = (t: { names: string[]; columns: Column[] }, name: string): Column =>
  t.columns[t.names.indexOf(name)];

async function failure(promise: Promise<unknown>): Promise<CsvError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CsvError);
    return err as CsvError;
  }
  throw new Error('expected a CsvError');
}

describe('delimiters and decimal marks', () => {
  const iris = readCsv(readFileSync(fixture('../iris.csv'), 'utf8'), LIMITS);

  it('when a file is semicolon-separated with decimal commas and CRLF, then it reads as the comma-separated iris', async () => {
    const t = await read('iris-semicolon-decimal-comma.csv');
    const ref = await iris;
    expect(t.format).toEqual({ delimiter: ';', decimal: 'auto', charset: 'utf-8' });
    expect(t.names).toEqual(ref.names);
    expect(t.columns.map((c) => c.type)).toEqual(['numeric', 'numeric', 'numeric', 'numeric', 'categorical']);
    expect(t.columns.map((c) => Array.from(c.values as ArrayLike<unknown>))).toEqual(
      ref.columns.map((c) => Array.from(c.values as ArrayLike<unknown>)),
    );
  });

  it('when a file is tab-separated, then the delimiter is detected', async () => {
    const t = await read('iris-tab.tsv');
    expect(t.format.delimiter).toBe('\t');
    expect(t.columns.map((c) => Array.from(c.values as ArrayLike<unknown>))).toEqual(
      (await iris).columns.map((c) => Array.from(c.values as ArrayLike<unknown>)),
    );
  });

  it('when a pipe-separated file is read, then the pipe is detected', async () => {
    const t = await readCsv('a|b|c\n1|x|2.5\n2|y|3.5\n', LIMITS);
    expect(t.format.delimiter).toBe('|');
    expect(t.names).toEqual(['a', 'b', 'c']);
  });

  it('when the delimiter is given wrongly, then the width error says what the file looks like', async () => {
    const e = await failure(read('iris-semicolon-decimal-comma.csv', { delimiter: ',' }));
    expect(e.kind).toBe('width');
    expect(e.message).toContain('this looks semicolon-separated');
  });

  it('when the given delimiter leaves the header one column and another splits the file, then kind width says what it looks like', async () => {
    const e = await failure(read('iris-tab.tsv', { delimiter: '|' }));
    expect(e).toMatchObject({ kind: 'width', row: 1 });
    expect(e.message).toBe(
      'with delimiter="|" the header is one column; this looks tab-separated: send delimiter="\\t" or leave delimiter out',
    );
    const single = await readCsv('name\nann\nbob\n', LIMITS, { delimiter: ';' }); // nothing else splits it
    expect(single.names).toEqual(['name']);
  });

  it('when the delimiter option is given, then it wins over detection', async () => {
    // Detection would pick the comma (two per line); the user says the file is one column per line.
    const t = await readCsv('"a,b";c\n"1,2";3\n', LIMITS, { delimiter: ';' });
    expect(t.names).toEqual(['a,b', 'c']);
    expect(col(t, 'a,b').values).toEqual(Float64Array.of(1.2)); // auto decimal mark: "1,2" is 1.2
  });

  it('when thousands are grouped in quoted cells of a comma file, then the column stays numeric', async () => {
    const t = await readCsv('price,n\n"1,234",1\n"12,345.5",2\n999,3\n', LIMITS);
    expect(col(t, 'price')).toMatchObject({ type: 'numeric', values: Float64Array.of(1234, 12345.5, 999) });
  });

  it('when decimal is "," in a semicolon file, then a point groups thousands ("1.234,5")', async () => {
    const t = await readCsv('v;w\n1.234,5;1\n2,25;2\n', LIMITS, { decimal: ',' });
    expect(col(t, 'v').values).toEqual(Float64Array.of(1234.5, 2.25));
  });
});

describe('charsets', () => {
  const bytes = readFileSync(fixture('cities-windows-1252.csv'));

  it('when a Windows-1252 file is read with its charset declared, then accented names are exact', async () => {
    const t = await read('cities-windows-1252.csv', { charset: 'windows-1252' });
    expect(t.format.charset).toBe('windows-1252');
    const cities = describeTable(t).find((c) => c.name === 'city');
    expect(Object.keys((cities as { categories: object }).categories)).toContain('Montréal');
    expect(Object.keys((cities as { categories: object }).categories)).toContain('São Paulo');
  });

  it('when iso-8859-1 is declared, then it reads as windows-1252 (the WHATWG label)', async () => {
    const t = await read('cities-windows-1252.csv', { charset: 'ISO-8859-1' });
    expect((col(t, 'city').values as string[]).some((v) => v === 'Zürich' || v === 'Québec')).toBe(true);
  });

  it('when the same file comes undeclared, then it is refused naming the first row with a byte that is not UTF-8 and how to fix it', async () => {
    const firstBad = bytes.findIndex((b) => b >= 0x80);
    const row = bytes.subarray(0, firstBad).filter((b) => b === 0x0a).length + 1;
    const e = await failure(read('cities-windows-1252.csv'));
    expect(e).toMatchObject({ kind: 'notText', row });
    expect(e.message).toContain('charset=windows-1252');
    // A multipart file part's own Content-Type is not read: the hint says to send a form field or the query parameter.
    expect(e.message).toContain('a charset=windows-1252 form field in a multipart upload');
    expect(e.message).toContain('?charset=windows-1252');
  });

  it('when a UTF-16 file without a BOM comes undeclared, then it is refused saying to declare utf-16le; declared, it is read', async () => {
    const utf16 = new Uint8Array(Buffer.from('city,n\nMontréal,1\nQuébec,2\n', 'utf16le'));
    const once = async function* () {
      yield utf16;
    };
    const e = await failure(readCsv(once(), LIMITS));
    expect(e).toMatchObject({ kind: 'notText', row: 1 });
    expect(e.message).toContain('declare charset=utf-16le');
    const t = await readCsv(once(), LIMITS, { charset: 'utf-16le' });
    expect(col(t, 'city').values).toEqual(['Montréal', 'Québec']);
  });

  it('when a file is UTF-16 with a BOM, then it is decoded whatever charset was declared', async () => {
    const text = 'a,b\r\nMontréal,1\r\nQuébec,2\r\n';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const t = await readCsv(
      (async function* () {
        yield new Uint8Array(le);
      })(),
      LIMITS,
    );
    expect(t.format.charset).toBe('utf-16le');
    expect(col(t, 'a').values).toEqual(['Montréal', 'Québec']);
  });
});

describe('headers', () => {
  it('when a pandas to_csv file has an empty first header cell, then it is "Unnamed: 0", warned, and ID-like', async () => {
    const t = await read('iris-pandas-index.csv');
    expect(t.names[0]).toBe('Unnamed: 0');
    const warnings = tableWarnings(t);
    expect(warnings.filter((w) => w.column === 'Unnamed: 0').map((w) => w.code)).toEqual([
      'renamedHeader',
      'idLike',
    ]);
  });
});

describe('column types', () => {
  it('when codes have leading zeros and one code is not numeric, then the column is categorical with every code exact', async () => {
    const t = await read('zip-codes.csv');
    const zip = describeTable(t).find((c) => c.name === 'zip')!;
    expect(zip.type).toBe('categorical');
    expect(Object.keys((zip as { categories: object }).categories).sort()).toEqual([
      '02139',
      '02140',
      '10001',
      '94105',
      'K1A0B1',
    ]);
    expect(zip.reason).toContain('leading zeros');
  });

  it('when a code with a leading zero comes after plain numbers, then the earlier cells keep their text too', async () => {
    const t = await readCsv('zip,n\n94105,1\n10001,2\n02139,3\n', LIMITS);
    expect(col(t, 'zip').values).toEqual(['94105', '10001', '02139']);
  });

  it('when the first code with a leading zero comes after tens of thousands of plain numbers, then every cell keeps its text', async () => {
    // Far past the delimiter sample and the number column's first growth, read in 64 KiB chunks.
    const codes = Array.from({ length: 30_000 }, (_, i) => String(10_000 + ((i * 7919) % 89_999)));
    codes.push('02139', '1.50');
    const bytes = Buffer.from(`zip,n\n${codes.map((c, i) => `${c},${i % 5}`).join('\n')}\n`);
    const t = await readCsv(
      (async function* () {
        for (let i = 0; i < bytes.length; i += 65_536) yield new Uint8Array(bytes.subarray(i, i + 65_536));
      })(),
      LIMITS,
    );
    expect(col(t, 'zip')).toMatchObject({ type: 'categorical', missing: 0 });
    expect(col(t, 'zip').values).toEqual(codes);
  });

  it('when a numeric column has "?" cells, then it stays numeric with those cells missing', async () => {
    const t = await read('mpg-question-marks.csv');
    const hp = describeTable(t).find((c) => c.name === 'horsepower')!;
    expect(hp).toMatchObject({ type: 'numeric', missing: 6 });
  });

  it('when a numeric column has a few stray tokens, then it stays numeric and a strayTokens warning names them with counts', async () => {
    const rows = Array.from(
      { length: 60 },
      (_, i) => `${i % 7 === 0 && i < 21 ? 'unknown' : String(100 + i)},${i}`,
    );
    const t = await readCsv(`hp,n\n${rows.join('\n')}\n`, LIMITS);
    expect(col(t, 'hp')).toMatchObject({ type: 'numeric', missing: 3, strays: ['unknown'] });
    expect(t.warnings).toEqual([
      { column: 'hp', code: 'strayTokens', message: expect.stringContaining('"unknown" ×3') },
    ]);
  });

  it('when a date column has a few stray tokens, then it stays datetime and a strayTokens warning names them; past 5% it is categorical', async () => {
    // 80 days from 2024-01-01, rows 10, 20 and 30 replaced by stray tokens; row 40 is N/A (a missing marker):
    // 79 present cells, 3 strays <= 5% of 79 = 3.95, the numeric rule.
    const day = (i: number) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10);
    const strays: Record<number, string> = {
      10: 'not a date',
      20: '2024-13-45',
      30: '31/12/2024',
      40: 'N/A',
    };
    const rows = Array.from({ length: 80 }, (_, i) => `${strays[i] ?? day(i)},${i % 5},${'ab'[i % 2]}`);
    const t = await readCsv(`when,val,cls\n${rows.join('\n')}\n`, LIMITS);
    const when = col(t, 'when');
    expect(when).toMatchObject({ type: 'datetime', missing: 4, hasTime: false });
    expect(when.values[0]).toBe(Date.UTC(2024, 0, 1));
    expect(when.values[79]).toBe(Date.UTC(2024, 0, 80));
    expect(Number.isNaN(when.values[20])).toBe(true);
    expect(t.warnings).toEqual([
      {
        column: 'when',
        code: 'strayTokens',
        message: expect.stringContaining('3 cell(s) not an ISO date, read as missing: "not a date" ×1'),
      },
    ]);
    expect(
      tableWarnings(t)
        .filter((w) => w.column === 'when')
        .map((w) => w.code),
    ).toEqual(['strayTokens']);
    const many = rows.map((r, i) => (i % 10 === 5 ? `bad${i},0,a` : r)); // 8 more kinds: past the tolerance
    expect(col(await readCsv(`when,val,cls\n${many.join('\n')}\n`, LIMITS), 'when').type).toBe('categorical');
  });

  it('when a semicolon file with decimal auto has amounts like 4.721,73, then they are read as numbers with a comma decimal', async () => {
    // amounts 397,32 + 1000.5 * i written the German way: i = 4 gives 4399,32 -> "4.399,32".
    const de = (v: number) => {
      const [int, frac] = v.toFixed(2).split('.');
      return `${int.replace(/\B(?=(\d{3})+$)/g, '.')},${frac}`;
    };
    const rows = Array.from({ length: 200 }, (_, i) => `${de(397.32 + 1000.5 * i)};${i % 5};${'ab'[i % 2]}`);
    expect(rows[4].split(';')[0]).toBe('4.399,32');
    const t = await readCsv(`betrag;menge;cls\n${rows.join('\n')}\n`, LIMITS);
    expect(t.format).toMatchObject({ delimiter: ';', decimal: 'auto' });
    const betrag = col(t, 'betrag');
    expect(betrag).toMatchObject({ type: 'numeric', missing: 0 });
    expect(betrag.reason).toContain(`looks like decimal commas with '.' thousands`);
    expect(betrag.values[0]).toBeCloseTo(397.32, 10);
    expect(betrag.values[4]).toBeCloseTo(4399.32, 10);
    expect(betrag.values[199]).toBeCloseTo(397.32 + 1000.5 * 199, 8);
    expect(tableWarnings(t).filter((w) => w.column === 'betrag')).toEqual([]);
    // "1.234" alone in a column (no cell auto cannot read) stays 1.234: ambiguous, the file's mark decides.
    const plain = await readCsv(
      `v;w\n${Array.from({ length: 30 }, (_, i) => `1.2${10 + i};${i}`).join('\n')}\n`,
      LIMITS,
    );
    expect(col(plain, 'v').values[0]).toBe(1.21);
  });

  it('when a comma file has quoted decimal commas, then the column is categorical with a reason saying to send decimal=,', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `"${i},${(i * 7) % 10}",${i % 3}`);
    const t = await readCsv(`w,n\n${rows.join('\n')}\n`, LIMITS);
    expect(col(t, 'w')).toMatchObject({
      type: 'categorical',
      reason: `categorical: looks like decimal commas (e.g. "0,0"): send decimal=,`,
    });
  });

  it('when German amounts have one stray token, then the column is numeric with the token missing and warned', async () => {
    // 100 rows: 4.721,73 + i written the German way; row 7 says k.A. ("keine Angabe"): 1 % of the cells.
    const de = (v: number) => {
      const [int, frac] = v.toFixed(2).split('.');
      return `${int.replace(/\B(?=(\d{3})+$)/g, '.')},${frac}`;
    };
    const rows = Array.from(
      { length: 100 },
      (_, i) => `${i === 7 ? 'k.A.' : de(4721.73 + 13 * i)};${'ab'[i % 2]}`,
    );
    const t = await readCsv(`betrag;cls\n${rows.join('\n')}\n`, LIMITS);
    const betrag = col(t, 'betrag');
    expect(betrag).toMatchObject({ type: 'numeric', missing: 1 });
    expect(betrag.values[0]).toBeCloseTo(4721.73, 10);
    expect(Number.isNaN(betrag.values[7])).toBe(true);
    expect(betrag.values[8]).toBeCloseTo(4721.73 + 13 * 8, 8);
    expect(betrag.reason).toContain(`looks like decimal commas with '.' thousands`);
    expect(
      tableWarnings(t)
        .filter((w) => w.column === 'betrag')
        .map((w) => w.code),
    ).toEqual(['strayTokens']);
    // Past the tolerance (10 kinds of token) it is not read as numbers.
    const junk = rows.map((r, i) => (i % 10 === 3 ? `x${i};a` : r));
    expect(col(await readCsv(`betrag;cls\n${junk.join('\n')}\n`, LIMITS), 'betrag').type).toBe('categorical');
  });

  it('when non-numeric tokens are more than 5% of a column, then it is categorical', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => (i < 2 ? 'unknown' : String(i)));
    const t = await readCsv(`v\n${rows.join('\n')}\n`, LIMITS);
    expect(col(t, 'v')).toMatchObject({
      type: 'categorical',
      reason:
        'categorical: 2 of 20 cells are not numbers ("unknown"), more than 5% (columnTypes numeric reads them as missing)',
    });
    const text = await readCsv('v,n\na,1\nb,2\n3,3\n', LIMITS); // mostly text: no reason to give
    expect(col(text, 'v')).not.toHaveProperty('reason');
  });

  it('when missingValues is given, then it replaces the default markers', async () => {
    const text = 'v,w\n1,a\n-,b\nn.a.,c\n4,NA\n';
    const defaults = await readCsv(text, LIMITS);
    expect(col(defaults, 'v')).toMatchObject({ type: 'categorical' }); // "n.a." is not a default marker, 1 of 3 present
    const custom = await readCsv(text, LIMITS, { missingValues: ['n.a.', '-'] });
    expect(col(custom, 'v')).toMatchObject({ type: 'numeric', missing: 2 });
    expect(col(custom, 'w').values).toEqual(['a', 'b', 'c', 'NA']); // NA is a value now
  });

  it('when a column holds TRUE/FALSE or yes/no, then it is boolean with its spellings as labels', async () => {
    const t = await read('subscriptions.csv');
    expect(col(t, 'autopay')).toMatchObject({ type: 'boolean', labels: { false: 'FALSE', true: 'TRUE' } });
    expect(col(t, 'renewed')).toMatchObject({ type: 'boolean', labels: { false: 'no', true: 'yes' } });
    const mixed = await readCsv('b\ntrue\nFalse\nTRUE\n\n', LIMITS);
    expect(col(mixed, 'b').values).toEqual(Float64Array.of(1, 0, 1));
    const notBool = await readCsv('b\ntrue\nno\n', LIMITS); // two different pairs
    expect(col(notBool, 'b').type).toBe('categorical');
  });

  it('when a column holds ISO dates or date-times, then it is datetime in UTC milliseconds', async () => {
    const t = await read('subscriptions.csv');
    expect(col(t, 'signup_date')).toMatchObject({ type: 'datetime', hasTime: false });
    expect(col(t, 'last_login')).toMatchObject({ type: 'datetime', hasTime: true });
    const one = await readCsv('d\n2024-02-29\n2024-03-01 14:30\n', LIMITS);
    expect(col(one, 'd').values).toEqual(
      Float64Array.of(Date.UTC(2024, 1, 29), Date.UTC(2024, 2, 1, 14, 30)),
    );
    const notDate = await readCsv('d\n2023-02-30\n2024-03-01\n', LIMITS); // no 30 February
    expect(col(notDate, 'd').type).toBe('categorical');
  });

  it('when columnTypes forces a type, then it is used with the reason, and cells that do not fit are missing with a warning', async () => {
    const t = await readCsv('zip,b,d\n2139,yes,2024-01-01\n10001,0,soon\n', LIMITS, {
      columnTypes: { zip: 'categorical', b: 'boolean', d: 'datetime' },
    });
    expect(col(t, 'zip')).toMatchObject({
      type: 'categorical',
      values: ['2139', '10001'],
      reason: 'set to categorical by columnTypes',
    });
    expect(col(t, 'b')).toMatchObject({ type: 'boolean', values: Float64Array.of(1, 0) });
    expect(col(t, 'd')).toMatchObject({ type: 'datetime', missing: 1 });
    expect(t.warnings).toEqual([
      { column: 'd', code: 'invalidValues', message: expect.stringContaining('"soon" ×1') },
    ]);
  });

  it('when columnTypes names a column the file does not have, then kind is options', async () => {
    const e = await failure(readCsv('a,b\n1,2\n', LIMITS, { columnTypes: { c: 'numeric' } }));
    expect(e).toMatchObject({ kind: 'options' });
    expect(e.message).toContain('"c"');
  });
});

describe('numbers as written', () => {
  it('when every cell of a number column has the same decimals, then its labels and value counts keep them', async () => {
    // As pandas writes an integer column with gaps: 1.0, 0.0, NaN.
    const t = await readCsv('y,x\n1.0,a\n0.0,b\n,c\n1.0,d\n', LIMITS);
    expect(col(t, 'y')).toMatchObject({
      type: 'numeric',
      decimals: 1,
      values: Float64Array.of(1, 0, NaN, 1),
    });
    expect(classList(t, 'y')).toEqual(['0.0', '1.0']);
    expect(describeTable(t)[0]).toMatchObject({ valueCounts: { '0.0': 1, '1.0': 2 } });
    const mixed = await readCsv('y\n1.0\n2\n2.50\n', LIMITS); // decimals differ: plain numbers
    expect(col(mixed, 'y')).not.toHaveProperty('decimals');
    expect(classList(mixed, 'y')).toEqual(['1', '2', '2.5']);
  });
});

describe('column warnings', () => {
  it('when a column is a row number, then it is idLike; noise features are not', async () => {
    const t = await read('id-column.csv');
    expect(tableWarnings(t).map((w) => [w.column, w.code])).toEqual([['id', 'idLike']]);
  });

  it('when a file is sorted by an integer measurement with irregular steps, then that column is not idLike', async () => {
    // 300 distinct salaries, sorted: steps of 500 + (i * 37) % 211, never one constant small step.
    let salary = 20_981;
    const rows = Array.from({ length: 300 }, (_, i) => {
      salary += 500 + ((i * 37) % 211);
      return `${salary},${20 + (i % 40)},${salary > 90_000 ? 'yes' : 'no'}`;
    });
    const t = await readCsv(`salary,age,bought\n${rows.join('\n')}\n`, LIMITS);
    expect(tableWarnings(t).filter((w) => w.column === 'salary')).toEqual([]);
    // Hourly Unix timestamps: a constant step, but 3600 is no row counter.
    const hourly = Array.from({ length: 50 }, (_, i) => `${1_700_000_000 + 3600 * i},${i % 7}`);
    const ts = await readCsv(`t,v\n${hourly.join('\n')}\n`, LIMITS);
    expect(tableWarnings(ts).filter((w) => w.column === 't')).toEqual([]);
  });

  it('when integers unique per row count by one small step, fill their range or have an id-ish name, then they are idLike', async () => {
    const n = 40;
    const byTen = Array.from({ length: n }, (_, i) => 1000 + 10 * i); // 1000, 1010, … in order
    const shuffled = Array.from({ length: n }, (_, i) => ((i * 7) % n) + 1); // 1..40 out of order (7 coprime to 40)
    const sparse = Array.from({ length: n }, (_, i) => 5_000 + ((i * 7919) % 104_729)); // distinct, irregular
    const rows = byTen.map((v, i) => `${v},${shuffled[i]},${sparse[i]},${sparse[i]},${sparse[i]},${i % 3}`);
    const t = await readCsv(`ticket,rank,customer_id,customerId,paid,x\n${rows.join('\n')}\n`, LIMITS);
    expect(tableWarnings(t).map((w) => [w.column, w.code, w.message.split(':')[0]])).toEqual([
      ['ticket', 'idLike', 'integers unique per row, in order, by steps of 10'],
      ['rank', 'idLike', 'integers unique per row, filling their range'],
      ['customer_id', 'idLike', 'integers unique per row, and its name says ID'],
      ['customerId', 'idLike', 'integers unique per row, and its name says ID'],
      ['x', 'integerCodes', 'only 3 distinct integer values'],
    ]);
  });

  it('when 0/1 labels are read, then they are integerCodes with their value counts', async () => {
    const t = await read('churn-01-labels.csv');
    expect(tableWarnings(t).map((w) => [w.column, w.code])).toEqual([['churned', 'integerCodes']]);
    const churned = describeTable(t).find((c) => c.name === 'churned')!;
    const counts = (churned as { valueCounts: Record<string, number> }).valueCounts;
    expect(Object.keys(counts)).toEqual(['0', '1']);
    expect(counts['0'] + counts['1']).toBe(300);
  });

  it('when a column is constant or a categorical is unique per row or has very many categories, then each is flagged', async () => {
    const rows = Array.from({ length: 120 }, (_, i) => `k,name${i},c${i % 70},${i % 3}`);
    const t = await readCsv(`const,name,many,small\n${rows.join('\n')}\n`, LIMITS);
    expect(tableWarnings(t).map((w) => [w.column, w.code])).toEqual([
      ['const', 'constantColumn'],
      ['name', 'idLike'],
      ['many', 'highCardinality'],
      ['small', 'integerCodes'],
    ]);
  });
});

describe('header names and missing markers', () => {
  it('when header names repeat or are empty, then each gets a unique name and a renamedHeader warning', async () => {
    const t = await readCsv('a,a,,b,a\n1,2,3,4,5\n6,7,8,9,10\n', LIMITS);
    expect(t.names).toEqual(['a', 'a.1', 'Unnamed: 2', 'b', 'a.2']);
    expect(t.warnings).toEqual([
      {
        column: 'a.1',
        code: 'renamedHeader',
        message: 'header column 2 repeats the name "a": it is named "a.1"',
      },
      {
        column: 'Unnamed: 2',
        code: 'renamedHeader',
        message: 'header column 3 has no name: it is named "Unnamed: 2"',
      },
      {
        column: 'a.2',
        code: 'renamedHeader',
        message: 'header column 5 repeats the name "a": it is named "a.2"',
      },
    ]);
    // A rename never takes a name the file already has.
    const taken = await readCsv('a,a,a.1\n1,2,3\n', LIMITS);
    expect(taken.names).toEqual(['a', 'a.2', 'a.1']);
  });

  it('when cells hold any default missing marker in any case, then they are missing and the column stays numeric', async () => {
    // The list of issue 8: empty, NA, N/A, n/a, #N/A, NaN, nan, null, NULL, None, ?, -
    const markers = ['', 'NA', 'N/A', 'n/a', '#N/A', 'NaN', 'nan', 'null', 'NULL', 'None', '?', '-'];
    const rows = markers.map((m, i) => `${m},${i}`);
    const t = await readCsv(`v,n\n1.5,0\n${rows.join('\n')}\n2.5,1\n`, LIMITS);
    expect(col(t, 'v')).toMatchObject({ type: 'numeric', missing: markers.length });
    expect(t.warnings).toEqual([]);
  });
});
