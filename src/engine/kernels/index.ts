// The active kernel backend. Layers and optimizers call getKernels() at run time, so a backend can
// be swapped (benchmarks, tests) without touching them. The default is the fastest backend this
// runtime supports: WebAssembly SIMD where it compiles, else register-blocked plain JS.
import { jsBlockedKernels } from './js-blocked.js';
import { jsKernels } from './js.js';
import type { Kernels } from './types.js';
import { wasmKernels } from './wasm.js';

export type { Kernels, PreparedMatrix } from './types.js';
export { jsKernels } from './js.js';
export { jsBlockedKernels } from './js-blocked.js';
export { wasmKernels, wasmSimdAvailable } from './wasm.js';

/** Every backend this runtime can run, fastest first; the naive reference comes last. */
export function availableKernels(): Kernels[] {
  return wasmKernels ? [wasmKernels, jsBlockedKernels, jsKernels] : [jsBlockedKernels, jsKernels];
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
