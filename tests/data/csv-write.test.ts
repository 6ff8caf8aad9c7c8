import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { neutralizeCell, writeCsv } from '../../src/data/index.js';

describe('CSV output', () => {
  it('when a text cell starts with a formula character, then it gets a leading apostrophe; numbers stay numbers', () => {
    for (const risky of ['=1+1', '+cmd', '-2+3', '@SUM(A1)', '\tx', '\rx']) {
      expect(neutralizeCell(risky)).toBe(`'${risky}`);
    }
    expect(neutralizeCell('plain = text')).toBe('plain = text');
    for (const risky of ['-1+2', '-1.5.5', '+1e', '-', '-Infinity', '-1,5', '- 1']) {
      expect(neutralizeCell(risky)).toBe(`'${risky}`);
    }
  });

  it('when a text cell is a plain signed number, then it is written as it is, with no apostrophe', () => {
    for (const number of ['-1.633', '+2', '-0.05', '-.5', '-4.5e-3', '+1E+10', '-7.']) {
      expect(neutralizeCell(number)).toBe(number);
    }
    expect(parse(writeCsv(['kept', 'value'], [['-1.633', -0.644]]))).toEqual([
      ['kept', 'value'],
      ['-1.633', '-0.644'],
    ]);
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
