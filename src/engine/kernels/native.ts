// The native backend: native/kernels.cc, an optional N-API addon that scripts/build-native.mjs builds
// at install where a C++ compiler and Node's headers are present. It multiplies in place in the
// callers' Float32Arrays (no copies) with AVX-512 or AVX2 micro-kernels chosen at run time, and can
// hand half of each large product to one helper thread. Where the addon was not built or does not
// load, `loadNativeKernels` says why and the engine runs on WebAssembly instead.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkGemm, checkPrepared } from './check.js';
import { jsKernels } from './js.js';
import type { ActivationName } from '../types.js';
import type { Kernels, PreparedMatrix } from './types.js';

/** The functions native/kernels.cc exports. */
export interface NativeAddon {
  /** As Kernels.gemm, without the argument checks. */
  gemm: Kernels['gemm'];
  /** op(B) (k×n) packed for gemmPacked on the instruction set in use. */
  packB(transB: boolean, k: number, n: number, b: Float32Array): Float32Array;
  gemmPacked(
    transA: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    packedB: Float32Array,
    c: Float32Array,
    accumulate: boolean,
  ): void;
  /**
   * out (m×n) = f(x·W + bias) for x m×k and W packed by packB; epilogue 0 is the identity, 1 is ReLU
   * (see Kernels.denseForward).
   */
  denseForward(
    m: number,
    n: number,
    k: number,
    x: Float32Array,
    packedW: Float32Array,
    bias: Float32Array,
    epilogue: number,
    out: Float32Array,
  ): void;
  /** The instruction set in use: "avx512", "avx2" or "generic". */
  isa(): string;
  /** Switches to another instruction set this CPU runs (tests); throws for one it cannot. */
  setIsa(name: string): string;
  /** 1, or 2 to split large products with one helper thread; returns the setting now in force. */
  setThreads(threads: number): number;
  adam: NonNullable<Kernels['adam']>;
  reluForward(z: Float32Array, a: Float32Array, rows: number, cols: number, bias: Float32Array | null): void;
  reluBackward(
    z: Float32Array,
    da: Float32Array,
    dz: Float32Array,
    rows: number,
    cols: number,
    biasGrad: Float32Array | null,
  ): void;
}

/** The outcome of loading the addon: the backend, or why there is none. */
export interface NativeLoad {
  kernels: Kernels | null;
  addon: NativeAddon | null;
  /** Where the addon was looked for. */
  path: string;
  /** Why it is not available (missing file, load error); undefined when it loaded. */
  error?: string;
}

/** The file scripts/build-native.mjs writes, relative to the package root. */
export const NATIVE_ADDON_RELATIVE_PATH = join('native', 'build', 'kernels.node');

/** The addon's path under the package root (the first folder upward holding package.json). */
export function defaultNativeAddonPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, NATIVE_ADDON_RELATIVE_PATH);
}

interface NativePrepared extends PreparedMatrix {
  readonly packed: Float32Array;
  /** The instruction set the packing was made for (its panel width depends on it). */
  readonly isa: string;
}

/** The activations the addon applies as it stores a dense layer's output, by its epilogue code. */
const EPILOGUES: Partial<Record<ActivationName, number>> = { linear: 0, relu: 1 };

/** The packed matrix of a prepared one, once it is known to be this addon's, for its instruction set. */
function packedFor(addon: NativeAddon, b: PreparedMatrix): NativePrepared {
  checkPrepared('native', b);
  const p = b as NativePrepared;
  if (p.isa !== addon.isa()) {
    throw new TypeError(
      `gemmPrepared: the matrix was packed for ${p.isa}, the addon now runs ${addon.isa()}`,
    );
  }
  return p;
}

function createNativeKernels(addon: NativeAddon): Kernels {
  return {
    name: 'native',
    gemm(transA, transB, m, n, k, a, b, c, accumulate) {
      checkGemm(m, n, k, a, b, c);
      addon.gemm(transA, transB, m, n, k, a, b, c, accumulate);
    },
    // ReLU (the default hidden activation) and Adam run natively, with the bits of the JavaScript
    // reference; the other passes are JavaScript's.
    activations: {
      ...jsKernels.activations,
      relu: {
        forward: (z, a, rows, cols, bias) => addon.reluForward(z, a, rows, cols, bias ?? null),
        backward: (z, _a, da, dz, rows, cols, biasGrad) =>
          addon.reluBackward(z, da, dz, rows, cols, biasGrad ?? null),
      },
    },
    adam: addon.adam,
    sumRows: jsKernels.sumRows,
    prepare(transB, k, n, b): NativePrepared {
      checkGemm(0, n, k, null, b, null);
      return { backend: 'native', k, n, packed: addon.packB(transB, k, n, b), isa: addon.isa() };
    },
    gemmPrepared(transA, m, a, b, c, accumulate) {
      const p = packedFor(addon, b);
      checkGemm(m, p.n, p.k, a, null, c);
      addon.gemmPacked(transA, m, p.n, p.k, a, p.packed, c, accumulate);
    },
    denseForward(rows, x, w, bias, activation, out) {
      const epilogue = EPILOGUES[activation];
      if (epilogue === undefined) return false;
      const p = packedFor(addon, w);
      checkGemm(rows, p.n, p.k, x, null, out);
      if (bias.length < p.n)
        throw new RangeError(`denseForward: bias has ${bias.length} elements, needs ${p.n}`);
      addon.denseForward(rows, p.n, p.k, x, p.packed, bias, epilogue, out);
      return true;
    },
  };
}

/** Every function the backend calls: an addon built from older sources lacks some and is not used. */
export const ADDON_FUNCTIONS = [
  'gemm',
  'packB',
  'gemmPacked',
  'denseForward',
  'isa',
  'setIsa',
  'setThreads',
  'adam',
  'reluForward',
  'reluBackward',
] as const satisfies ReadonlyArray<keyof NativeAddon>;

/**
 * Loads the addon at `path` (default: the one the install built) and wraps it as a Kernels backend.
 * Never throws: a missing or unloadable addon gives `kernels: null` and the reason in `error`.
 */
export function loadNativeKernels(path: string = defaultNativeAddonPath()): NativeLoad {
  if (!existsSync(path)) {
    return {
      kernels: null,
      addon: null,
      path,
      error: `not built (no ${path}; run npm run build:native with a C++ compiler present)`,
    };
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    const missing = ADDON_FUNCTIONS.filter((name) => typeof addon[name] !== 'function');
    if (missing.length > 0) {
      return {
        kernels: null,
        addon: null,
        path,
        error: `${path} was built from older sources (no ${missing.join(', ')}); run npm run build:native`,
      };
    }
    return { kernels: createNativeKernels(addon), addon, path };
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { kernels: null, addon: null, path, error: `cannot load ${path}: ${message}` };
  }
}

/** The addon as this process loaded it at start-up. */
export const nativeLoad: NativeLoad = loadNativeKernels();
/** The native backend, or null where the addon is absent (see nativeLoad.error). */
export const nativeKernels: Kernels | null = nativeLoad.kernels;
