// The tokenizer and the in-place cell readers against references: csv-parse (the library the
// tokenizer replaced) on the same text cut into random chunks, Number() for plain numbers and
// Date.parse for ISO dates.
import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { CsvScanner, ScanError } from '../../src/data/csv-scan.js';
import { parseDateCell, scanPlainNumber, type PlainNumber } from '../../src/data/cells.js';

/** Every record of text, cut into chunks at the given points, as arrays of strings. */
function scanAll(text: string, cuts: number[], maxChars = 1 << 20): string[][] {
  const out: string[][] = [];
  const scanner = new CsvScanner(44, maxChars, (r) => {
    const row: string[] = [];
    for (let j = 0; j < r.count; j++) row.push(r.values[j] ?? r.text.slice(r.starts[j], r.ends[j]));
    out.push(row);
  });
  let at = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    scanner.push(text.slice(at, cut));
    at = cut;
  }
  scanner.push(text.slice(at));
  scanner.end();
  return out;
}

const cell = fc.stringMatching(/^[a-z0-9 ,"\n\r.é]{0,6}$/);
/** A cell as a careful writer puts it in a file: quoted when it holds a delimiter, quote or line end. */
const written = (c: string) => (/[,"\n\r]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c);

describe('CsvScanner', () => {
  it('when any valid CSV arrives in any chunks, then its records are those csv-parse reads', () => {
    const file = fc
      .array(fc.array(cell, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 8 })
      .chain((rows) => {
        const eol = fc.constantFrom('\n', '\r\n');
        return fc.tuple(fc.constant(rows), eol, fc.boolean());
      })
      .map(
        ([rows, eol, lastEol]) => rows.map((r) => r.map(written).join(',')).join(eol) + (lastEol ? eol : ''),
      );
    fc.assert(
      fc.property(file, fc.array(fc.nat(), { maxLength: 5 }), (text, cuts) => {
        const expected = parse(text, { skip_empty_lines: true, relax_column_count: true }) as string[][];
        expect(
          scanAll(
            text,
            cuts.map((c) => c % (text.length + 1)),
          ),
        ).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('when a line holds only an empty quoted field, then it is a record and not a skipped blank line, as csv-parse reads it', () => {
    for (const text of ['a\n""\nb\n', '""\r\n\r\n""', 'a\n"x"\n\n""\n']) {
      const expected = parse(text, { skip_empty_lines: true, relax_column_count: true }) as string[][];
      expect(expected.some((r) => r.length === 1 && r[0] === '')).toBe(true);
      for (const cut of [0, 2, 3, text.length - 1]) expect(scanAll(text, [cut])).toEqual(expected);
    }
  });

  it('when a quoted field has no doubled quote, then it comes as the range between its quotes, with no string made', () => {
    const seen: Array<[string | undefined, string]> = [];
    const scanner = new CsvScanner(44, 1 << 20, (r) => {
      for (let j = 0; j < r.count; j++) seen.push([r.values[j], r.text.slice(r.starts[j], r.ends[j])]);
    });
    scanner.push('"a,b",c,"say ""hi"""\n');
    scanner.end();
    expect(seen).toEqual([
      [undefined, 'a,b'],
      [undefined, 'c'],
      ['say "hi"', expect.any(String)],
    ]);
  });

  it('when quoting is broken, then it fails where csv-parse fails, naming the line', () => {
    for (const [text, code, line] of [
      ['a,b\n1,"2\n', 'quoteNotClosed', 2],
      ['a,b\n1,"2"x\n', 'textAfterQuote', 2],
      ['a,b\n1,2"3\n', 'quoteInField', 2],
      ['a,b\n"1\n\n2",3"\n', 'quoteInField', 4],
    ] as const) {
      expect(() => parse(text), text).toThrow();
      let error: unknown;
      try {
        scanAll(text, [3, 7]);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ScanError);
      expect(error, text).toMatchObject({ code, line });
    }
  });

  it('when a record is longer than the limit, then tooLong names the line where it starts, even mid-chunk', () => {
    expect(() => scanAll('a\nb\n' + 'x'.repeat(50) + '\n', [5], 20)).toThrow(
      expect.objectContaining({ code: 'tooLong', line: 3 }),
    );
  });
});

describe('scanPlainNumber', () => {
  const out: PlainNumber = { value: 0, canonical: false, leadingZero: false, fixed: 0 };
  it('when a plain decimal is read in place, then the value is exactly Number(text), and canonical means String() gives the text back', () => {
    const text = fc
      .tuple(
        fc.constantFrom('', '-', '+'),
        fc.stringMatching(/^[0-9]{1,9}$/),
        fc.option(fc.stringMatching(/^[0-9]{1,8}$/), { nil: undefined }),
      )
      .map(([sign, int, frac]) => `${sign}${int}${frac === undefined ? '' : `.${frac}`}`);
    fc.assert(
      fc.property(text, (t) => {
        const padded = `x${t}y`;
        expect(scanPlainNumber(padded, 1, padded.length - 1, 46, out)).toBe(
          t.replace(/[^0-9]/g, '').length <= 15,
        );
        if (t.replace(/[^0-9]/g, '').length > 15) return;
        expect(Object.is(out.value, Number(t))).toBe(true);
        expect(out.canonical).toBe(String(Number(t)) === t);
        if (out.fixed > 0) expect(out.value.toFixed(out.fixed)).toBe(t);
      }),
      { numRuns: 5000 },
    );
  });

  it('when the text has an exponent, a second mark, or no digit before the mark, then it is left to the full reader', () => {
    for (const t of ['1e5', '1.2.3', '.5', '5.', '1,5', '', '-', '12a'])
      expect(scanPlainNumber(t, 0, t.length, 46, out), t).toBe(false);
    expect(scanPlainNumber('1,5', 0, 3, 44, out)).toBe(true);
    expect(out.value).toBe(1.5);
  });
});

describe('parseDateCell', () => {
  it('when a date or date-time is written in the common ISO forms, then it is the instant Date.parse reads (as UTC)', () => {
    const instant = fc.integer({ min: Date.UTC(1, 0, 1), max: Date.UTC(2400, 0, 1) });
    fc.assert(
      fc.property(instant, (ms) => {
        const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString();
        for (const t of [iso.slice(0, 10), iso.slice(0, 19), `${iso.slice(0, 10)} ${iso.slice(11, 19)}`]) {
          const expected = Date.parse(t.length === 10 ? t : `${t.replace(' ', 'T')}Z`);
          expect(parseDateCell(t)?.ms, t).toBe(expected);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('when the date is off the calendar or out of range, then it is no date (or what Date.parse makes of a time)', () => {
    expect(parseDateCell('2023-02-29')).toBeNull();
    expect(parseDateCell('2024-02-29')?.ms).toBe(Date.UTC(2024, 1, 29));
    expect(parseDateCell('2023-13-01')).toBeNull();
    expect(parseDateCell('0000-01-01')).toBeNull();
    expect(parseDateCell('2023-01-01T24:00:00')?.ms).toBe(Date.parse('2023-01-01T24:00:00Z'));
  });
});

describe('dates read without their text', () => {
  const LIMITS = { maxColumns: 10, maxRows: 100, maxLineBytes: 1000 };
  it('when a column of dates turns out to hold other text or numbers, then every earlier date keeps its exact text', async () => {
    const { readCsv } = await import('../../src/data/index.js');
    const dates = ['2024-01-02', '2024-01-03T04:05:06', '2024-01-04 07:08:09', 'NA', '0999-12-31'];
    for (const last of ['soon', '42', '"later, maybe"']) {
      const t = await readCsv(`d,x\n${dates.map((d, i) => `${d},${i}`).join('\n')}\n${last},9\n`, LIMITS);
      expect(t.columns[0].type, last).toBe('categorical');
      expect(t.columns[0].values, last).toEqual([
        '2024-01-02',
        '2024-01-03T04:05:06',
        '2024-01-04 07:08:09',
        null,
        '0999-12-31',
        last.replaceAll('"', ''),
      ]);
    }
    const all = await readCsv(`d\n${dates.join('\n')}\n`, LIMITS);
    expect(all.columns[0]).toMatchObject({ type: 'datetime', missing: 1, hasTime: true });
    expect(Array.from(all.columns[0].values as Float64Array)).toEqual([
      Date.UTC(2024, 0, 2),
      Date.UTC(2024, 0, 3, 4, 5, 6),
      Date.UTC(2024, 0, 4, 7, 8, 9),
      Number.NaN,
      Date.parse('0999-12-31'),
    ]);
  });
});
