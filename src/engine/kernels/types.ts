// The hot loops of the engine behind one small interface, so a faster backend (WASM SIMD, native,
// threads) can replace the reference one without touching layers or optimizers.
// All matrices are row-major Float32Array. Backends must accept any Float32Array (including
// subarrays); a backend that keeps its own memory copies in and out.
import type { Activation } from '../activations.js';
import type { ActivationName } from '../types.js';

export interface Kernels {
  /** A short name for logs and benchmarks: "js", "wasm-simd", … */
  readonly name: string;
  /**
   * C = op(A)·op(B), or C += op(A)·op(B) when accumulate is true.
   * op(A) is m×k (A is k×m when transA), op(B) is k×n (B is n×k when transB), C is m×n.
   */
  gemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    accumulate: boolean,
  ): void;
  /**
   * The element-wise passes, by activation: forward a = f(z) with the bias add fused, backward
   * dz = f'(z) ⊙ da with the bias gradient fused. Layers look them up here on every pass, so a
   * backend can bring faster ones; the backends so far share the JavaScript table (activations.ts).
   */
  readonly activations: Readonly<Record<ActivationName, Activation>>;
  /** out[j] (+)= Σ_i x[i, j] over an m×n matrix x: the bias gradient. */
  sumRows(m: number, n: number, x: Float32Array, out: Float32Array, accumulate: boolean): void;
  /**
   * Keeps a copy of op(B) (k×n; B is n×k when transB) in the backend's own memory for repeated
   * products with the same right operand, e.g. inference weights: no copy of B per call. The copy
   * does not follow later writes to `b`; prepare again after the weights change.
   */
  prepare(transB: boolean, k: number, n: number, b: Float32Array): PreparedMatrix;
  /**
   * One Adam step over a parameter, optional (optimizers.ts runs its own loop without it): with
   * g = (grad + wd·w)·scale, m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
   * w ← w − step·m / (√(v·c2) + ε); grad ← 0, where step = lr / (1 − β1ᵗ) and c2 = 1 / (1 − β2ᵗ).
   * All arrays have w's length. It must give the bits of optimizers.ts's loop (float64 arithmetic).
   */
  adam?(
    w: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    beta1: number,
    beta2: number,
    step: number,
    c2: number,
    epsilon: number,
    weightDecay: number,
    scale: number,
  ): void;
  /**
   * Optional, for inference: out = f(x·W + bias), one dense layer's forward in one pass, for x
   * rows × k (row-major), W (k × n) prepared by this same backend, bias of n and out rows × n. The
   * bias and the activation are applied as each tile of the product is stored, with the bits of
   * gemmPrepared followed by the activation's forward; the pre-activation is not kept. Returns
   * false, having done nothing, for an activation the backend does not fuse (the caller then runs
   * those two steps). Throws as gemmPrepared does for a foreign matrix or a short operand.
   */
  denseForward?(
    rows: number,
    x: Float32Array,
    w: PreparedMatrix,
    bias: Float32Array,
    activation: ActivationName,
    out: Float32Array,
  ): boolean;
  /** C (+)= op(A)·B for a matrix prepared by this same backend; op(A) is m×k. */
  gemmPrepared(
    transA: boolean,
    m: number,
    a: Float32Array,
    b: PreparedMatrix,
    c: Float32Array,
    accumulate: boolean,
  ): void;
}

/** A right-hand operand held by one backend; see Kernels.prepare. */
export interface PreparedMatrix {
  /** The name of the backend that made it. */
  readonly backend: string;
  readonly k: number;
  readonly n: number;
}
