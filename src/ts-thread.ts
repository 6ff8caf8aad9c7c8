// Starts a worker thread on a module of this codebase. Under tsx (and vitest) the module is a .ts
// file, and Node 20 applies no `--import tsx` hooks to a worker's entry module, so a small eval'd
// bootstrap registers tsx's loader first, then imports the entry. Built .js files start directly.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The URL of a thread entry next to the caller: `name.ts` when the caller itself runs as .ts
 * (under tsx), else `name.js`. `base` is the caller's import.meta.url.
 */
export function threadEntry(base: string, name: string): URL {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

function tsBootstrap(entry: URL): string {
  // tsx's ESM API (the .mjs build: the package's "import" export of tsx/esm/api).
  const api = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
}

/** A new worker thread running `entry` (a URL from threadEntry). */
export function spawnThread(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  return entry.pathname.endsWith('.ts')
    ? new Worker(tsBootstrap(entry), { ...options, eval: true })
    : new Worker(entry, options);
}
