// A register-blocked plain-JS backend: the fallback where WebAssembly SIMD is unavailable.
// Same GotoBLAS scheme as the WASM backend (pack op(B) into 4-wide and op(A) into 3-tall k-major
// panels, one micro-kernel for every transpose case), with a 3x4 tile whose 12 accumulators stay
// in registers. V8 computes in f64 scalars, so the panels are Float64Array: no conversion in the
// inner loop. Measured with bench/kernels.ts: ~6 GFLOP/s for this shape against ~1.7 for the naive loop.
import { checkGemm, checkPrepared } from './check.js';
import { jsKernels } from './js.js';
import type { Kernels, PreparedMatrix } from './types.js';

const MR = 3;
const NR = 4;
const MC = 96; // rows of op(A) per packed block (a multiple of MR)
const KC_MAX = 256;
// Below this many multiply-adds (or for one row) packing costs more than it saves.
const SMALL = 4096;

let packA: Float64Array = new Float64Array(0);
let packB: Float64Array = new Float64Array(0);

function ensure(buf: Float64Array, len: number): Float64Array {
  return buf.length >= len ? buf : new Float64Array(len);
}

// dst[panel][p][q] = op(X)[x0 + panel*w + q][p0 + p], zero past xn; element (x, p) is at x*sx + p*sp.
function pack(
  dst: Float64Array,
  src: Float32Array,
  off: number,
  sx: number,
  sp: number,
  xn: number,
  kc: number,
  w: number,
) {
  let d = 0;
  for (let x0 = 0; x0 < xn; x0 += w) {
    const xw = Math.min(w, xn - x0);
    for (let p = 0; p < kc; p++) {
      const base = off + x0 * sx + p * sp;
      let q = 0;
      for (; q < xw; q++) dst[d++] = src[base + q * sx];
      for (; q < w; q++) dst[d++] = 0;
    }
  }
}

// C[mc x n] += packedA · packedB for one K block; C rows start at cOff with row stride n.
function kernel(
  mc: number,
  n: number,
  kc: number,
  pa: Float64Array,
  pb: Float64Array,
  c: Float32Array,
  cOff: number,
) {
  for (let j0 = 0, bPanel = 0; j0 < n; j0 += NR, bPanel += kc * NR) {
    const nr = Math.min(NR, n - j0);
    for (let i0 = 0, aPanel = 0; i0 < mc; i0 += MR, aPanel += kc * MR) {
      const mr = Math.min(MR, mc - i0);
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let ai = aPanel;
      let bi = bPanel;
      for (let p = 0; p < kc; p++) {
        const a0 = pa[ai],
          a1 = pa[ai + 1],
          a2 = pa[ai + 2];
        const b0 = pb[bi],
          b1 = pb[bi + 1],
          b2 = pb[bi + 2],
          b3 = pb[bi + 3];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c22 += a2 * b2;
        c23 += a2 * b3;
        ai += MR;
        bi += NR;
      }
      const r0 = cOff + i0 * n + j0;
      if (mr === MR && nr === NR) {
        c[r0] += c00;
        c[r0 + 1] += c01;
        c[r0 + 2] += c02;
        c[r0 + 3] += c03;
        const r1 = r0 + n;
        c[r1] += c10;
        c[r1 + 1] += c11;
        c[r1 + 2] += c12;
        c[r1 + 3] += c13;
        const r2 = r1 + n;
        c[r2] += c20;
        c[r2 + 1] += c21;
        c[r2 + 2] += c22;
        c[r2 + 3] += c23;
      } else {
        const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23];
        for (let r = 0; r < mr; r++) for (let q = 0; q < nr; q++) c[r0 + r * n + q] += tile[r * NR + q];
      }
    }
  }
}

function gemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  accumulate: boolean,
): void {
  checkGemm(m, n, k, a, b, c);
  if (m === 1 || m * n * k < SMALL) return jsKernels.gemm(transA, transB, m, n, k, a, b, c, accumulate);
  if (!accumulate) c.fill(0, 0, m * n);
  const kcMax = Math.ceil(k / Math.ceil(k / KC_MAX));
  packA = ensure(packA, kcMax * (Math.ceil(Math.min(m, MC) / MR) * MR));
  packB = ensure(packB, kcMax * (Math.ceil(n / NR) * NR));
  // Element strides of op(A)[i][p] and op(B)[p][j] along the packed (x) and depth (p) axes.
  const sxA = transA ? 1 : k,
    spA = transA ? m : 1;
  const sxB = transB ? k : 1,
    spB = transB ? 1 : n;
  for (let p0 = 0; p0 < k; p0 += kcMax) {
    const kc = Math.min(kcMax, k - p0);
    pack(packB, b, p0 * spB, sxB, spB, n, kc, NR);
    for (let i0 = 0; i0 < m; i0 += MC) {
      const mc = Math.min(MC, m - i0);
      pack(packA, a, i0 * sxA + p0 * spA, sxA, spA, mc, kc, MR);
      kernel(mc, n, kc, packA, packB, c, i0 * n);
    }
  }
}

interface BlockedPrepared extends PreparedMatrix {
  readonly transB: boolean;
  readonly data: Float32Array;
}

export const jsBlockedKernels: Kernels = {
  name: 'js-blocked',
  gemm,
  activations: jsKernels.activations,
  sumRows: jsKernels.sumRows,
  prepare(transB, k, n, b): BlockedPrepared {
    checkGemm(0, n, k, null, b, null);
    return { backend: 'js-blocked', k, n, transB, data: b.slice(0, k * n) };
  },
  gemmPrepared(transA, m, a, b, c, accumulate) {
    checkPrepared('js-blocked', b);
    const p = b as BlockedPrepared;
    gemm(transA, p.transB, m, p.n, p.k, a, p.data, c, accumulate);
  },
};
