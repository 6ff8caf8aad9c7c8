// Keeps the rules of README.md "Which way imports go" true by reading the import lines of
// every file under src/. A failure names the file, the line and the import that breaks the rule.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src');

interface Import {
  /** Path of the importing file relative to src/, with forward slashes. */
  file: string;
  line: number;
  specifier: string;
  /** For a relative import: the target relative to src/ (no extension); null for a package. */
  target: string | null;
}

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

const IMPORT_PATTERNS = [
  // import x from '…', import { a, b } from '…' (across lines), export * from '…', import type …
  /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
  // import '…' (side effect only)
  /\bimport\s*['"]([^'"]+)['"]/g,
  // import('…') and require('…')
  /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
];

function importsOf(source: SourceFile): Import[] {
  const found: Import[] = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of source.code.matchAll(pattern)) {
      const specifier = match[1];
      const line = source.code.slice(0, match.index).split('\n').length;
      let target: string | null = null;
      if (specifier.startsWith('.')) {
        const abs = resolve(srcDir, dirname(source.file), specifier);
        target = toPosix(relative(srcDir, abs)).replace(/\.(js|ts|mjs|cjs|mts|cts)$/, '');
      }
      found.push({ file: source.file, line, specifier, target });
    }
  }
  return found;
}

const sources = loadSources();
const imports = sources.flatMap(importsOf);

const inFolder = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);
const packageName = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
const describeImport = (i: Import) => `src/${i.file}:${i.line} imports '${i.specifier}'`;

/** The imports that break a rule, as readable lines (empty when the rule holds). */
function violations(pred: (i: Import) => boolean): string[] {
  return imports.filter(pred).map(describeImport);
}

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

describe('import rules', () => {
  it('reads the sources and finds their imports', () => {
    // Guards the reader itself: if it found nothing, every rule below would pass vacuously.
    expect(sources.length).toBeGreaterThan(0);
    expect(imports.some((i) => i.file === 'config.ts' && i.specifier === 'zod')).toBe(true);
  });

  it('when a file in engine/ imports, then the target is inside engine/ or a node: builtin', () => {
    expect(
      violations(
        (i) =>
          inFolder(i.file, 'engine') &&
          (i.target !== null ? !inFolder(i.target, 'engine') : !i.specifier.startsWith('node:')),
      ),
    ).toEqual([]);
  });

  it('when a file in data/ imports from src/, then it is data/ or engine/index only', () => {
    expect(
      violations(
        (i) =>
          inFolder(i.file, 'data') &&
          i.target !== null &&
          !inFolder(i.target, 'data') &&
          i.target !== 'engine/index' &&
          i.target !== 'engine',
      ),
    ).toEqual([]);
  });

  it('when a file outside engine/ imports the engine, then it goes through engine/index', () => {
    expect(
      violations(
        (i) =>
          !inFolder(i.file, 'engine') &&
          i.target !== null &&
          inFolder(i.target, 'engine') &&
          i.target !== 'engine/index' &&
          i.target !== 'engine',
      ),
    ).toEqual([]);
  });

  it('domain/ knows no transport, no Redis and no files', () => {
    const forbiddenPackages = ['fastify', 'bullmq', 'ioredis', 'node:fs', 'fs'];
    const forbiddenFolders = ['http', 'storage', 'queue', 'worker', 'cli'];
    expect(
      violations(
        (i) =>
          inFolder(i.file, 'domain') &&
          (i.target !== null
            ? forbiddenFolders.some((f) => inFolder(i.target as string, f))
            : forbiddenPackages.includes(packageName(i.specifier)) ||
              packageName(i.specifier).startsWith('@fastify/')),
      ),
    ).toEqual([]);
  });

  it('routes never touch storage, the queue, the engine or the data path', () => {
    const forbiddenFolders = ['storage', 'queue', 'engine', 'data'];
    expect(
      violations(
        (i) =>
          inFolder(i.file, 'http/routes') &&
          ((i.target !== null && forbiddenFolders.some((f) => inFolder(i.target as string, f))) ||
            (i.target === null && ['bullmq', 'ioredis'].includes(packageName(i.specifier)))),
      ),
    ).toEqual([]);
  });

  it('only queue/ imports bullmq', () => {
    expect(violations((i) => packageName(i.specifier) === 'bullmq' && !inFolder(i.file, 'queue'))).toEqual(
      [],
    );
  });

  it('only storage/ and queue/ import ioredis', () => {
    expect(
      violations(
        (i) =>
          packageName(i.specifier) === 'ioredis' &&
          !inFolder(i.file, 'storage') &&
          !inFolder(i.file, 'queue'),
      ),
    ).toEqual([]);
  });

  it('the worker never imports http/', () => {
    expect(
      violations((i) => inFolder(i.file, 'worker') && i.target !== null && inFolder(i.target, 'http')),
    ).toEqual([]);
  });

  it('only config.ts reads process.env', () => {
    const envReads = codeMatches(
      /\bprocess\s*(\.\s*env\b|\[\s*['"`]env['"`]\s*\])/,
      (f) => f === 'config.ts',
    );
    const envImports = violations(
      (i) =>
        i.file !== 'config.ts' &&
        (i.specifier === 'node:process' || i.specifier === 'process') &&
        /\benv\b/.test(sources.find((s) => s.file === i.file)?.code ?? ''),
    );
    expect([...envReads, ...envImports]).toEqual([]);
  });

  it('no Math.random anywhere in src/ (one seeded generator in engine/random.ts)', () => {
    expect(codeMatches(/\bMath\s*(\.\s*random\b|\[\s*['"`]random['"`]\s*\])/)).toEqual([]);
  });
});
