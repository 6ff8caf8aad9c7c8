// Code rules that are about what a line does, not what it imports: only config.ts reads the
// environment, and nothing in src/ calls Math.random. The import rules ("Which way imports go" in
// README.md) are dependency-cruiser's (.dependency-cruiser.cjs, run by `npm run lint`).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src');

interface SourceFile {
  file: string;
  /** Source with comment lines blanked (line numbers kept), so commented-out code does not count. */
  code: string;
}

function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listSources(path);
    return /\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

/** Blanks whole-line comments and block comments; keeps line breaks so line numbers stay right. */
function stripComments(text: string): string {
  const noBlocks = text.replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, ' '));
  return noBlocks
    .split('\n')
    .map((line) => (line.trimStart().startsWith('//') ? '' : line))
    .join('\n');
}

function loadSources(): SourceFile[] {
  return listSources(srcDir).map((abs) => ({
    file: toPosix(relative(srcDir, abs)),
    code: stripComments(readFileSync(abs, 'utf8')),
  }));
}

const sources = loadSources();

/** Lines of code (outside comments) matching a pattern, as readable lines. */
function codeMatches(pattern: RegExp, exempt: (file: string) => boolean = () => false): string[] {
  return sources.flatMap((s) =>
    exempt(s.file)
      ? []
      : s.code
          .split('\n')
          .flatMap((text, n) => (pattern.test(text) ? [`src/${s.file}:${n + 1}: ${text.trim()}`] : [])),
  );
}

describe('code rules', () => {
  it('reads the sources', () => {
    // Guards the reader itself: if it found nothing, every rule below would pass vacuously.
    expect(sources.some((s) => s.file === 'config.ts' && s.code.includes('process.env'))).toBe(true);
  });

  it('only config.ts reads process.env', () => {
    const envReads = codeMatches(
      /\bprocess\s*(\.\s*env\b|\[\s*['"`]env['"`]\s*\])/,
      (f) => f === 'config.ts',
    );
    const envImports = codeMatches(/\bfrom\s*['"](node:)?process['"]/, (f) => f === 'config.ts').filter(
      (line) => /\benv\b/.test(sources.find((s) => line.startsWith(`src/${s.file}:`))?.code ?? ''),
    );
    expect([...envReads, ...envImports]).toEqual([]);
  });

  it('no Math.random anywhere in src/ (one seeded generator in engine/random.ts)', () => {
    expect(codeMatches(/\bMath\s*(\.\s*random\b|\[\s*['"`]random['"`]\s*\])/)).toEqual([]);
  });
});
