// The active kernel backend. Layers and optimizers call getKernels() at run time, so a backend can
// be swapped (benchmarks, tests) without touching them. The default is the fastest backend this
// runtime supports: the native addon where it was built, else WebAssembly SIMD where it compiles,
// else register-blocked plain JS.
import { jsBlockedKernels } from './js-blocked.js';
import { jsKernels } from './js.js';
import { nativeKernels, nativeLoad } from './native.js';
import type { Kernels } from './types.js';
import { wasmKernels } from './wasm.js';

export type { Kernels, PreparedMatrix } from './types.js';
export { jsKernels } from './js.js';
export { wasmKernels, wasmSimdAvailable } from './wasm.js';
export { nativeKernels, nativeLoad, loadNativeKernels } from './native.js';

/**
 * Every backend from the given optional ones (default: this process's) that can run, fastest first;
 * the naive reference comes last.
 */
export function availableKernels(
  native: Kernels | null = nativeKernels,
  wasm: Kernels | null = wasmKernels,
): Kernels[] {
  return [native, wasm, jsBlockedKernels, jsKernels].filter((k): k is Kernels => k !== null);
}

let current: Kernels = availableKernels()[0];

export function getKernels(): Kernels {
  return current;
}

export function setKernels(k: Kernels): void {
  current = k;
}

/**
 * Makes the named backend the active one and returns it; without a name, the fastest available.
 * Throws naming the available backends when the name is unknown or unsupported here.
 */
export function selectKernels(name?: string): Kernels {
  const all = availableKernels();
  const chosen = name === undefined ? all[0] : all.find((k) => k.name === name);
  if (!chosen) {
    throw new RangeError(
      `unknown or unavailable kernel backend "${name}" (available: ${all.map((k) => k.name).join(', ')})`,
    );
  }
  current = chosen;
  return chosen;
}

/** What the engine runs on, for logs and readiness details. */
export interface EngineInfo {
  /** The active backend's name. */
  backend: string;
  /** The native addon's instruction set ("avx512", "avx2", "generic"), or null without the addon. */
  isa: string | null;
  /** Threads a large product may use (1, or 2 with the native helper thread). */
  threads: number;
  /** Why the native addon is not in use, or null when it is available. */
  nativeUnavailable: string | null;
}

let threads = 1;

/**
 * Lets large products use `n` threads (1 or 2; the native backend's helper thread). Returns the
 * setting in force: always 1 without the addon, whose absence the WebAssembly path does not mind.
 */
export function setEngineThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`engine threads must be 1 or 2, got ${n}`);
  threads = nativeLoad.addon ? nativeLoad.addon.setThreads(Math.min(n, 2)) : 1;
  return threads;
}

/** The active backend, the native instruction set and threads, or why there is no native addon. */
export function engineInfo(): EngineInfo {
  return {
    backend: current.name,
    isa: nativeLoad.addon ? nativeLoad.addon.isa() : null,
    threads,
    nativeUnavailable: nativeLoad.error ?? null,
  };
}

/** One line for logs: "native (avx512, 2 threads)" or "wasm-simd (native addon not built: …)". */
export function describeEngine(info: EngineInfo = engineInfo()): string {
  if (info.backend === 'native')
    return `native (${info.isa}, ${info.threads} thread${info.threads > 1 ? 's' : ''})`;
  return info.nativeUnavailable ? `${info.backend} (native addon ${info.nativeUnavailable})` : info.backend;
}
