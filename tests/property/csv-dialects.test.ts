// Random typed tables written in random dialects (delimiter, quoting, line endings, BOM and
// charset, decimal mark, missing markers, chunking) read back to the same typed columns.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MISSING_VALUES } from '../../src/data/cells.js';
import { readCsv, type CsvLimits } from '../../src/data/csv.js';

const LIMITS: CsvLimits = { maxColumns: 100, maxRows: 10_000, maxLineBytes: 1 << 20 };

type Kind = 'numeric' | 'categorical' | 'boolean';
/** A cell: its value (number, string, boolean, or null for missing) and how it is written. */
interface Cell {
  value: number | string | boolean | null;
  text: string;
}

const word = fc.stringMatching(/^[A-Za-z][A-Za-z ,;|"'.\t]{0,8}[A-Za-z]$/);
const marker = fc.constantFrom(...DEFAULT_MISSING_VALUES);

function cellOf(kind: Kind, commaDecimal: boolean): fc.Arbitrary<Cell> {
  if (kind === 'numeric')
    return fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => {
      const value = n / 100;
      const text = String(value);
      return { value, text: commaDecimal ? text.replace('.', ',') : text };
    });
  if (kind === 'boolean')
    return fc
      .tuple(
        fc.boolean(),
        fc.constantFrom<(s: string) => string>(
          (s) => s,
          (s) => s.toUpperCase(),
          (s) => s[0].toUpperCase() + s.slice(1),
        ),
      )
      .map(([b, spell]) => ({ value: b, text: spell(String(b)) }));
  // Text that is no number, boolean, date or missing marker.
  return word.map((w) => ({ value: `x${w}`, text: `x${w}` }));
}

const dialect = fc.record({
  delimiter: fc.constantFrom(',', ';', '\t', '|'),
  quoteAll: fc.boolean(),
  eol: fc.constantFrom('\n', '\r\n'),
  encoding: fc.constantFrom('utf-8', 'utf-8-bom', 'utf-16le-bom'),
  commaDecimal: fc.boolean(),
  chunk: fc.integer({ min: 1, max: 64 }),
});

const table = fc
  .tuple(
    dialect,
    fc.array(fc.constantFrom<Kind>('numeric', 'categorical', 'boolean'), { minLength: 2, maxLength: 5 }),
    fc.integer({ min: 3, max: 30 }),
  )
  .chain(([d, kinds, rows]) => {
    const commaDecimal = d.commaDecimal && d.delimiter !== ',';
    const column = (k: Kind) =>
      fc.array(
        fc.oneof(
          { weight: 4, arbitrary: cellOf(k, commaDecimal) },
          { weight: 1, arbitrary: marker.map((m): Cell => ({ value: null, text: m })) },
        ),
        { minLength: rows, maxLength: rows },
      );
    // The first row has a value in every column, so no column is all missing.
    return fc.tuple(
      fc.constant({ ...d, commaDecimal }),
      fc.constant(kinds),
      fc.tuple(
        ...kinds.map((k) =>
          fc.tuple(cellOf(k, commaDecimal), column(k)).map(([first, rest]) => [first, ...rest]),
        ),
      ),
    );
  });

function quote(text: string, delimiter: string, all: boolean): string {
  const needs = all || text.includes(delimiter) || /["\r\n]/.test(text) || text !== text.trim();
  return needs ? `"${text.replaceAll('"', '""')}"` : text;
}

function encode(text: string, encoding: string): Uint8Array {
  if (encoding === 'utf-16le-bom')
    return new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  const utf8 = Buffer.from(text, 'utf8');
  return new Uint8Array(
    encoding === 'utf-8-bom' ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8]) : utf8,
  );
}

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('reading random dialects', () => {
  it('when a typed table is written in any dialect, then it reads back to the same types and values', async () => {
    await fc.assert(
      fc.asyncProperty(table, async ([d, kinds, columns]) => {
        const names = kinds.map((_, j) => `c${j}`);
        const rowCount = columns[0].length;
        const lines = [names.join(d.delimiter)];
        for (let i = 0; i < rowCount; i++)
          lines.push(columns.map((c) => quote(c[i].text, d.delimiter, d.quoteAll)).join(d.delimiter));
        const bytes = encode(lines.join(d.eol) + d.eol, d.encoding);
        const t = await readCsv(chunks(bytes, d.chunk), LIMITS);
        expect(t.format.delimiter).toBe(d.delimiter);
        expect(t.names).toEqual(names);
        expect(t.rowCount).toBe(rowCount);
        kinds.forEach((kind, j) => {
          const col = t.columns[j];
          expect(col.type).toBe(kind);
          const expected = columns[j].map((c) => c.value);
          const got = Array.from(col.values as ArrayLike<unknown>, (v) =>
            typeof v === 'number' && Number.isNaN(v) ? null : kind === 'boolean' ? v === 1 : v,
          );
          expect(got).toEqual(expected);
        });
      }),
      { numRuns: 150 },
    );
  });
});
