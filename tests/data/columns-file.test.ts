import { describe, expect, it } from 'vitest';
import { decodeColumns, encodeColumns, readCsv } from '../../src/data/index.js';

const LIMITS = { maxColumns: 100, maxRows: 1000, maxLineBytes: 10_000 };
const join = (parts: Uint8Array[], offset = 0) => {
  const out = new Uint8Array(offset + parts.reduce((n, p) => n + p.byteLength, 0));
  let at = offset;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.subarray(offset);
};

describe('columns file', () => {
  const csv =
    'n,c,b,d,z,s,k,f\n' +
    '1.5,red,yes,2024-01-02,007,x,1.0,1\n' +
    ',,no,2024-01-03T10:00:00,012,,2.0,nope\n' +
    '-3,"blue, dark",yes,,,y,,3\n' +
    'NA,red,NA,2024-02-29,100,x,1.0,4\n';

  it('when a table of every column type is written and read back, then it is equal, stamp included', async () => {
    const table = await readCsv(csv, LIMITS, { columnTypes: { s: 'categorical', f: 'numeric' } });
    expect(table.columns.map((c) => c.type)).toEqual([
      'numeric',
      'categorical',
      'boolean',
      'datetime',
      'categorical',
      'categorical',
      'numeric',
      'numeric',
    ]);
    expect(table.columns[6]).toMatchObject({ decimals: 1 }); // every k written with one decimal
    expect(table.columns[7]).toMatchObject({ strays: ['nope'] }); // forced numeric: "nope" is missing
    const stamp = { delimiter: ',', columnTypes: { s: 'categorical' } };
    const { table: back, stamp: got } = decodeColumns(join(encodeColumns(table, stamp)));
    expect(got).toEqual(stamp);
    expect(back).toEqual({
      names: table.names,
      rowCount: table.rowCount,
      columns: table.columns,
      warnings: table.warnings,
    });
  });

  it('when the bytes start at an odd offset, then the numbers are copied into place and still equal', async () => {
    const table = await readCsv(csv, LIMITS);
    const { table: back } = decodeColumns(join(encodeColumns(table, null), 3));
    expect(back.columns).toEqual(table.columns);
  });

  it('when the bytes are not a whole columns file, then decoding throws', async () => {
    const parts = encodeColumns(await readCsv(csv, LIMITS), null);
    const whole = join(parts);
    expect(() => decodeColumns(new Uint8Array([1, 2, 3]))).toThrow(/magic/);
    expect(() => decodeColumns(whole.subarray(0, whole.byteLength - 16))).toThrow(/does not fit/);
  });
});
