import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { neutralizeCell, writeCsv } from '../../src/data/index.js';

describe('CSV output', () => {
  it('when a text cell starts with a formula character, then it gets a leading apostrophe; numbers stay numbers', () => {
    for (const risky of ['=1+1', '+cmd', '-2+3', '@SUM(A1)', '\tx', '\rx']) {
      expect(neutralizeCell(risky)).toBe(`'${risky}`);
    }
    expect(neutralizeCell('plain = text')).toBe('plain = text');
    const text = writeCsv(
      ['label', '=p'],
      [
        ['=evil', -1.5],
        ['ok, "quoted"', null],
      ],
    );
    expect(parse(text)).toEqual([
      ['label', "'=p"],
      ["'=evil", '-1.5'],
      ['ok, "quoted"', ''],
    ]);
  });
});
