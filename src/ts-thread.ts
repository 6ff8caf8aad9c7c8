// Where a thread pool finds a module of this codebase. Under tsx (and vitest) the module is a .ts
// file, and Node 20 applies no `--import tsx` hooks of the parent to a thread, so such a pool's
// threads start on ts-thread-bootstrap.mjs, which registers tsx's ESM loader in the thread before
// it imports the module. Built .js files load directly.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * The URL of a thread module next to the caller: `name.ts` when the caller itself runs as .ts
 * (under tsx), else `name.js`. `base` is the caller's import.meta.url.
 */
export function threadEntry(base: string, name: string): URL {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

/**
 * Piscina's `filename` and `workerData` for a thread module: a .js module as it is; a .ts module
 * through the bootstrap, with its URL and tsx's ESM API in the workerData (besides `data`).
 */
export function threadModule<D extends object>(
  entry: URL,
  data: D,
): { filename: string; workerData: D | (D & { tsEntry: string; tsxEsmApi: string }) } {
  if (!entry.pathname.endsWith('.ts')) return { filename: entry.href, workerData: data };
  // The .mjs build of tsx's ESM API (the package's "import" export of tsx/esm/api).
  const tsxEsmApi = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  return {
    filename: new URL('./ts-thread-bootstrap.mjs', import.meta.url).href,
    workerData: { ...data, tsEntry: entry.href, tsxEsmApi },
  };
}
