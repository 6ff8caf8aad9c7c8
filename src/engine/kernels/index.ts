// The active kernel backend. Layers and optimizers call getKernels() at run time, so a backend can
// be swapped (benchmarks, tests) without touching them.
import { jsKernels } from './js.js';
import type { Kernels } from './types.js';

export type { Kernels } from './types.js';
export { jsKernels } from './js.js';

let current: Kernels = jsKernels;

export function getKernels(): Kernels {
  return current;
}

export function setKernels(k: Kernels): void {
  current = k;
}
