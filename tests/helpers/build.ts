// Tests that run the compiled build (`npm run start:worker` runs dist/) must not test an old one:
// `npm test` builds first (its pretest script), and this check names the problem when a test file
// is run on its own after a source change.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './processes.js';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Throws, naming the first offender, unless every src/**.ts has a dist/**.js at least as new. */
export function assertBuildIsFresh(): void {
  const src = join(repoRoot, 'src');
  for (const file of tsFiles(src)) {
    const rel = relative(src, file);
    const built = join(repoRoot, 'dist', rel.replace(/\.ts$/, '.js'));
    let builtAt: number;
    try {
      builtAt = statSync(built).mtimeMs;
    } catch {
      throw new Error(`dist/ has no ${relative(repoRoot, built)}: run \`npm run build\` first`);
    }
    if (builtAt < statSync(file).mtimeMs) {
      throw new Error(`dist/ is older than src/${rel}: run \`npm run build\` first`);
    }
  }
}
