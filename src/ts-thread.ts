// Where a thread pool finds a module of this codebase. Under tsx (and vitest) the module is a .ts
// file, and Node 20 applies no `--import tsx` hooks of the parent to a thread, so such a pool's
// threads get tsx's loader in their own execArgv. Built .js files load directly.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * The URL of a thread module next to the caller: `name.ts` when the caller itself runs as .ts
 * (under tsx), else `name.js`. `base` is the caller's import.meta.url.
 */
export function threadEntry(base: string, name: string): URL {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

/** Piscina's `filename` and, for a .ts module, the `execArgv` that loads it through tsx. */
export function threadModule(entry: URL): { filename: string; execArgv?: string[] } {
  if (!entry.pathname.endsWith('.ts')) return { filename: entry.href };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { filename: entry.href, execArgv: ['--import', tsx] };
}
