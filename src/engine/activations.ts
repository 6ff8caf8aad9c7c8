// Activations as forward/backward pairs over whole row-major buffers, so each is one tight loop.
// backward gets the pre-activation z, the output a and dL/da, and writes dL/dz.
import type { ActivationName } from './types.js';

export interface Activation {
  /** a = f(z) for n = rows × cols values. */
  forward(z: Float32Array, a: Float32Array, rows: number, cols: number): void;
  /** dz = f'(z) ⊙ da (softmax: the Jacobian-vector product of each row). */
  backward(
    z: Float32Array,
    a: Float32Array,
    da: Float32Array,
    dz: Float32Array,
    rows: number,
    cols: number,
  ): void;
}

/** Slope of leakyRelu for negative inputs (the common default, as in PyTorch). */
export const LEAKY_SLOPE = 0.01;

export const activations: Record<ActivationName, Activation> = {
  linear: {
    forward(z, a, rows, cols) {
      a.set(z.subarray(0, rows * cols));
    },
    backward(_z, _a, da, dz, rows, cols) {
      dz.set(da.subarray(0, rows * cols));
    },
  },
  sigmoid: {
    forward(z, a, rows, cols) {
      const n = rows * cols;
      for (let i = 0; i < n; i++) {
        const v = z[i];
        // Split by sign so exp never overflows: σ(v) = 1/(1+e^-v) = e^v/(1+e^v).
        if (v >= 0) a[i] = 1 / (1 + Math.exp(-v));
        else {
          const e = Math.exp(v);
          a[i] = e / (1 + e);
        }
      }
    },
    backward(_z, a, da, dz, rows, cols) {
      const n = rows * cols;
      for (let i = 0; i < n; i++) dz[i] = da[i] * a[i] * (1 - a[i]);
    },
  },
  tanh: {
    forward(z, a, rows, cols) {
      const n = rows * cols;
      for (let i = 0; i < n; i++) a[i] = Math.tanh(z[i]);
    },
    backward(_z, a, da, dz, rows, cols) {
      const n = rows * cols;
      for (let i = 0; i < n; i++) dz[i] = da[i] * (1 - a[i] * a[i]);
    },
  },
  // Branch-free: on random-sign data a branch per value mispredicts about half the time (the
  // multiply by 0/1 ran 2–4× faster on a 64×128 layer). A NaN stays NaN so divergence is seen;
  // negatives give -0. x·0 is NaN for x = -∞, so that rare case takes the (predictable) fallback.
  relu: {
    forward(z, a, rows, cols) {
      const n = rows * cols;
      for (let i = 0; i < n; i++) {
        const v = z[i];
        const r = v * +(v > 0);
        a[i] = r === r ? r : v === -Infinity ? 0 : v;
      }
    },
    backward(z, _a, da, dz, rows, cols) {
      const n = rows * cols;
      for (let i = 0; i < n; i++) dz[i] = da[i] * +(z[i] > 0);
    },
  },
  // v·(s + (1 − s)·[v > 0]): the factor is exactly 1 or s (0.99 + 0.01 = 1 in float64), so this
  // is the branching form bit for bit, ±∞ and NaN included.
  leakyRelu: {
    forward(z, a, rows, cols) {
      const n = rows * cols;
      const s = LEAKY_SLOPE;
      const k = 1 - LEAKY_SLOPE;
      for (let i = 0; i < n; i++) {
        const v = z[i];
        a[i] = v * (s + k * +(v > 0));
      }
    },
    backward(z, _a, da, dz, rows, cols) {
      const n = rows * cols;
      const s = LEAKY_SLOPE;
      const k = 1 - LEAKY_SLOPE;
      for (let i = 0; i < n; i++) dz[i] = da[i] * (s + k * +(z[i] > 0));
    },
  },
  softmax: {
    forward(z, a, rows, cols) {
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let max = -Infinity;
        for (let j = 0; j < cols; j++) if (z[o + j] > max) max = z[o + j];
        let sum = 0;
        for (let j = 0; j < cols; j++) {
          const e = Math.exp(z[o + j] - max);
          a[o + j] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let j = 0; j < cols; j++) a[o + j] *= inv;
      }
    },
    backward(_z, a, da, dz, rows, cols) {
      // dz_j = a_j (da_j − Σ_k da_k a_k), the softmax Jacobian applied to da.
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += da[o + j] * a[o + j];
        for (let j = 0; j < cols; j++) dz[o + j] = a[o + j] * (da[o + j] - dot);
      }
    },
  },
};
