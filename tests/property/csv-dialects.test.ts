// Random typed tables written in random dialects (delimiter, quoting, line endings, BOM and
// charset, decimal mark, missing markers, chunking) read back to the same typed columns.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MISSING_VALUES } from '../../src/data/cells.js';
import { readCsv, type CsvLimits } from '../../src/data/csv.js';

const LIMITS: CsvLimits = { maxColumns: 100, maxRows: 10_000, maxLineBytes: 1 << 20 };

/** What is written; `code` is a column of 5-digit codes, some with leading zeros (read as categorical). */
type Kind = 'numeric' | 'categorical' | 'boolean' | 'datetime' | 'code';
/** A cell: its value (number, string, boolean, or null for missing) and how it is written. */
interface Cell {
  value: number | string | boolean | null;
  text: string;
}

// Letters of Latin-1 too (é ü ñ ø), so that a Windows-1252 file has bytes that are not UTF-8.
const word = fc.stringMatching(/^[A-Za-z][A-Za-zéüñø ,;|"'.\t]{0,8}[A-Za-zé]$/);
const CUSTOM_MARKERS = ['', 'n.a.', '--', 'missing', '(none)'];
const DAY_MS = 86_400_000;

const spellings = fc.constantFrom<(s: string) => string>(
  (s) => s,
  (s) => s.toUpperCase(),
  (s) => s[0].toUpperCase() + s.slice(1),
);

/** A column's cells of one kind; `pair` is the boolean column's words (true/false or yes/no). */
function cellOf(kind: Kind, commaDecimal: boolean, pair: [string, string]): fc.Arbitrary<Cell> {
  switch (kind) {
    case 'numeric':
      return fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => {
        const value = n / 100;
        const text = String(value);
        return { value, text: commaDecimal ? text.replace('.', ',') : text };
      });
    case 'boolean':
      return fc
        .tuple(fc.boolean(), spellings)
        .map(([b, spell]) => ({ value: b, text: spell(b ? pair[0] : pair[1]) }));
    case 'datetime':
      // Days from 1900 to 2100, with a time of day (T or a space, Z or not) or without.
      return fc
        .tuple(
          fc.integer({ min: -25_567, max: 47_482 }),
          fc.option(fc.integer({ min: 0, max: 86_399 })),
          fc.constantFrom('T', ' '),
          fc.constantFrom('', 'Z'),
        )
        .map(([day, seconds, sep, zone]) => {
          const value = day * DAY_MS + (seconds ?? 0) * 1000;
          const iso = new Date(value).toISOString();
          const text =
            seconds === null ? iso.slice(0, 10) : `${iso.slice(0, 10)}${sep}${iso.slice(11, 19)}${zone}`;
          return { value, text };
        });
    case 'code':
      return fc.integer({ min: 0, max: 99_999 }).map((n) => {
        const text = String(n).padStart(5, '0');
        return { value: text, text };
      });
    case 'categorical':
      // Text that is no number, boolean, date or missing marker.
      return word.map((w) => ({ value: `x${w}`, text: `x${w}` }));
  }
}

/** The type a column of `kind` reads as. */
const TYPE_OF: Record<Kind, string> = {
  numeric: 'numeric',
  categorical: 'categorical',
  boolean: 'boolean',
  datetime: 'datetime',
  code: 'categorical',
};

const dialect = fc.record({
  delimiter: fc.constantFrom(',', ';', '\t', '|'),
  quoting: fc.constantFrom('minimal', 'all', 'random'),
  eol: fc.constantFrom('\n', '\r\n'),
  encoding: fc.constantFrom('utf-8', 'utf-8-bom', 'utf-16le-bom', 'utf-16be-bom', 'windows-1252'),
  commaDecimal: fc.boolean(),
  customMarkers: fc.boolean(),
  chunk: fc.integer({ min: 1, max: 64 }),
});

const table = fc
  .tuple(
    dialect,
    fc.array(fc.constantFrom<Kind>('numeric', 'categorical', 'boolean', 'datetime', 'code'), {
      minLength: 2,
      maxLength: 5,
    }),
    fc.integer({ min: 3, max: 30 }),
    fc.constantFrom<[string, string]>(['true', 'false'], ['yes', 'no']),
  )
  .chain(([d, kinds, rows, pair]) => {
    const commaDecimal = d.commaDecimal && d.delimiter !== ',';
    const markers = d.customMarkers ? CUSTOM_MARKERS : DEFAULT_MISSING_VALUES;
    const column = (k: Kind) =>
      fc.array(
        fc.oneof(
          { weight: 4, arbitrary: cellOf(k, commaDecimal, pair) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(...markers).map((m): Cell => ({ value: null, text: m })),
          },
        ),
        { minLength: rows, maxLength: rows },
      );
    // One row of each column has a value (so no column is all missing); in a code column that
    // value has a leading zero, at a random row (the code's text must survive whatever came before).
    const first = (k: Kind) =>
      k === 'code'
        ? fc.integer({ min: 0, max: 9_999 }).map((n): Cell => {
            const text = String(n).padStart(5, '0');
            return { value: text, text };
          })
        : cellOf(k, commaDecimal, pair);
    return fc.tuple(
      fc.constant({ ...d, commaDecimal }),
      fc.constant(kinds),
      fc.tuple(
        ...kinds.map((k) =>
          fc
            .tuple(first(k), column(k), fc.nat())
            .map(([cell, rest, at]) => rest.toSpliced(at % (rest.length + 1), 0, cell)),
        ),
      ),
      fc.array(fc.boolean(), { minLength: 200, maxLength: 200 }),
    );
  });

function quote(text: string, delimiter: string, forced: boolean): string {
  const needs = forced || text.includes(delimiter) || /["\r\n]/.test(text) || text !== text.trim();
  return needs ? `"${text.replaceAll('"', '""')}"` : text;
}

function encode(text: string, encoding: string): Uint8Array {
  const bom = (bytes: number[], body: Buffer) => new Uint8Array(Buffer.concat([Buffer.from(bytes), body]));
  switch (encoding) {
    case 'utf-16le-bom':
      return bom([0xff, 0xfe], Buffer.from(text, 'utf16le'));
    case 'utf-16be-bom':
      return bom([0xfe, 0xff], Buffer.from(text, 'utf16le').swap16());
    case 'utf-8-bom':
      return bom([0xef, 0xbb, 0xbf], Buffer.from(text, 'utf8'));
    case 'windows-1252':
      return new Uint8Array(Buffer.from(text, 'latin1')); // é ü ñ ø are the same bytes in both
    default:
      return new Uint8Array(Buffer.from(text, 'utf8'));
  }
}

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('reading random dialects', () => {
  it('when a typed table is written in any dialect, then it reads back to the same types and values', async () => {
    await fc.assert(
      fc.asyncProperty(table, async ([d, kinds, columns, quoted]) => {
        const names = kinds.map((_, j) => `c${j}`);
        const rowCount = columns[0].length;
        const lines = [names.join(d.delimiter)];
        for (let i = 0; i < rowCount; i++) {
          const cells = columns.map((c, j) => {
            const forced = d.quoting === 'all' || (d.quoting === 'random' && quoted[(i * 7 + j) % 200]);
            return quote(c[i].text, d.delimiter, forced);
          });
          lines.push(cells.join(d.delimiter));
        }
        const bytes = encode(lines.join(d.eol) + d.eol, d.encoding);
        const t = await readCsv(chunks(bytes, d.chunk), LIMITS, {
          ...(d.encoding === 'windows-1252' ? { charset: 'windows-1252' } : {}),
          ...(d.customMarkers ? { missingValues: CUSTOM_MARKERS } : {}),
        });
        expect(t.format.delimiter).toBe(d.delimiter);
        expect(t.names).toEqual(names);
        expect(t.rowCount).toBe(rowCount);
        kinds.forEach((kind, j) => {
          const col = t.columns[j];
          expect(col.type).toBe(TYPE_OF[kind]);
          const expected = columns[j].map((c) => c.value);
          const got = Array.from(col.values as ArrayLike<unknown>, (v) =>
            typeof v === 'number' && Number.isNaN(v) ? null : kind === 'boolean' ? v === 1 : v,
          );
          expect(got).toEqual(expected);
        });
      }),
      { numRuns: 200 },
    );
  });
});
