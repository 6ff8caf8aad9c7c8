// The Redis scripts' files keep their contract: the name says how many keys the script takes,
// and the header names every key and argument the body uses, plus the output.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../src/storage/commands/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.lua'));

describe('Redis command files', () => {
  it('when the folder is read, then it holds the job store scripts', () => {
    expect(files.sort()).toEqual([
      'job-append-epochs-3.lua',
      'job-cas-8.lua',
      'job-create-6.lua',
      'record-cas-3.lua',
    ]);
  });

  for (const file of files) {
    it(`${file}: the body uses exactly the keys its name counts, each named in the header with the output`, () => {
      const text = readFileSync(new URL(file, dir), 'utf8');
      const end = text.indexOf(']]');
      const header = text.slice(0, end);
      const body = text.slice(end);
      const numKeys = Number(/-(\d+)\.lua$/.exec(file)![1]);
      const used = new Set([...body.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])));
      expect([...used].sort((a, b) => a - b)).toEqual(Array.from({ length: numKeys }, (_, i) => i + 1));
      for (const k of used) expect(header).toContain(`KEYS[${k}]`);
      for (const m of body.matchAll(/ARGV\[(\d+)\]/g))
        expect(header).toMatch(new RegExp(`ARGV\\[${m[1]}[\\]…]`));
      expect(header).toMatch(/Input:[\s\S]*Output:/);
    });
  }
});
