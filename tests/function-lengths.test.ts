// No function in src/ longer than about 80 lines (first to last line, measured on the TypeScript
// AST by scripts/function-lengths.ts). The functions below are still longer; each may not grow,
// and an entry must go as soon as its function is split, so the list only shrinks.
import { describe, expect, it } from 'vitest';
import { functionLengths, sourceFiles } from '../scripts/function-lengths.js';

const MAX_LINES = 80;

/** `file name` → the most lines it may still have. Empty this list; never add to it. */
const STILL_LONG: Record<string, number> = {};

describe('function lengths', () => {
  it(`when a function in src/ is longer than ${MAX_LINES} lines, then it is on the shrinking list and has not grown`, () => {
    const root = process.cwd();
    const long = sourceFiles('src')
      .flatMap((f) => functionLengths(f, root))
      .filter((f) => f.lines > MAX_LINES);
    const over = long
      .filter((f) => (STILL_LONG[`${f.file} ${f.name}`] ?? MAX_LINES) < f.lines)
      .map((f) => `${f.file}:${f.line} ${f.name} has ${f.lines} lines`);
    expect(over, 'split these functions').toEqual([]);
    const names = new Set(long.map((f) => `${f.file} ${f.name}`));
    const stale = Object.keys(STILL_LONG).filter((key) => !names.has(key));
    expect(stale, 'these are short now: remove them from STILL_LONG').toEqual([]);
  });
});
