// Activations as forward/backward pairs over whole row-major buffers, so each is one tight loop.
// backward gets the pre-activation z, the output a and dL/da, and writes dL/dz.
import type { ActivationName } from './types.js';

export interface Activation {
  /**
   * a = f(z) for n = rows × cols values. With `bias`, first z[r, j] += bias[j] in the same pass
   * (kept in z, which backward needs): the layer's bias add costs no pass of its own.
   */
  forward(z: Float32Array, a: Float32Array, rows: number, cols: number, bias?: Float32Array): void;
  /**
   * dz = f'(z) ⊙ da (softmax: the Jacobian-vector product of each row). With `biasGrad`, also
   * biasGrad[j] += Σ_r dz[r, j] in the same pass, summed in row order as a separate pass would.
   */
  backward(
    z: Float32Array,
    a: Float32Array,
    da: Float32Array,
    dz: Float32Array,
    rows: number,
    cols: number,
    biasGrad?: Float32Array,
  ): void;
}

/** Slope of leakyRelu for negative inputs (the common default, as in PyTorch). */
export const LEAKY_SLOPE = 0.01;

// Each pass runs over rows and columns so the bias add (forward) and the bias gradient (backward)
// ride along. Without a bias, forward adds a row of zeros (v + 0 is v; only a -0 becomes 0) and
// backward sums into a scratch row nobody reads: one loop per activation, not two.
let zeros = new Float32Array(256);
let sink = new Float32Array(256);
const zerosFor = (cols: number): Float32Array => {
  if (zeros.length < cols) zeros = new Float32Array(cols);
  return zeros;
};
const sinkFor = (cols: number): Float32Array => {
  if (sink.length < cols) sink = new Float32Array(cols);
  return sink;
};
// z + b is rounded to float32 as the stored z is: the same bits as a separate `z[i] += b[j]`.
const f32 = Math.fround;

/**
 * An element-wise activation from f(z) and f'(z) (both of the pre-activation z), with the bias add
 * in forward and the bias gradient in backward like the hand-written ones above.
 */
function elementwise(f: (v: number) => number, df: (v: number) => number): Activation {
  return {
    forward(z, a, rows, cols, bias) {
      const b = bias ?? zerosFor(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const v = f32(z[o + j] + b[j]);
          z[o + j] = v;
          a[o + j] = f(v);
        }
      }
    },
    backward(z, _a, da, dz, rows, cols, biasGrad) {
      const g = biasGrad ?? sinkFor(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const d = f32(da[o + j] * df(z[o + j]));
          dz[o + j] = d;
          g[j] += d;
        }
      }
    },
  };
}

/** SELU's constants (Klambauer et al. 2017, eq. 14): λ and α that make unit variance a fixed point. */
export const SELU_LAMBDA = 1.0507009873554805;
export const SELU_ALPHA = 1.6732632423543772;
// GELU's tanh form (Hendrycks & Gimpel 2016): ½v(1 + tanh(√(2/π)(v + 0.044715v³))).
const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
// softplus(v) = log(1 + e^v), without overflow for large v.
const softplus = (v: number): number => (v > 20 ? v : Math.log1p(Math.exp(v)));

const selu = elementwise(
  (v) => (v > 0 ? SELU_LAMBDA * v : SELU_LAMBDA * SELU_ALPHA * Math.expm1(v)),
  (v) => (v > 0 ? SELU_LAMBDA : SELU_LAMBDA * SELU_ALPHA * Math.exp(v)),
);
const gelu = elementwise(
  (v) => 0.5 * v * (1 + Math.tanh(GELU_K * (v + GELU_C * v * v * v))),
  (v) => {
    const th = Math.tanh(GELU_K * (v + GELU_C * v * v * v));
    return 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * GELU_K * (1 + 3 * GELU_C * v * v);
  },
);
// Mish (Misra 2019): v·tanh(softplus(v)); f' = tanh(sp) + v·(1 − tanh²(sp))·σ(v).
const mish = elementwise(
  (v) => v * Math.tanh(softplus(v)),
  (v) => {
    const th = Math.tanh(softplus(v));
    const sig = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
    return th + v * (1 - th * th) * sig;
  },
);

export const activations: Record<ActivationName, Activation> = {
  selu,
  gelu,
  mish,
  linear: {
    forward(z, a, rows, cols, bias) {
      const b = bias ?? zerosFor(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const v = f32(z[o + j] + b[j]);
          z[o + j] = v;
          a[o + j] = v;
        }
      }
    },
    backward(_z, _a, da, dz, rows, cols, biasGrad) {
      const g = biasGrad ?? sinkFor(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const d = da[o + j];
          dz[o + j] = d;
          g[j] += d;
        }
      }
    },
  },
  sigmoid: {
    forward(z, a, rows, cols, bias) {
      const b = bias ?? zerosFor(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const v = f32(z[o + j] + b[j]);
          z[o + j] = v;
          // Split by sign so exp never overflows: σ(v) = 1/(1+e^-v) = e^v/(1+e^v).
          if (v >= 0) a[o + j] = 1 / (1 + Math.exp(-v));
          else {
            const e = Math.exp(v);
            a[o + j] = e / (1 + e);
          }
        }
      }
    },
    backward(_z, a, da, dz, rows, cols, biasGrad) {
      const g = biasGrad ?? sinkFor(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const ai = a[o + j];
          const d = f32(da[o + j] * ai * (1 - ai));
          dz[o + j] = d;
          g[j] += d;
        }
      }
    },
  },
  tanh: {
    forward(z, a, rows, cols, bias) {
      const b = bias ?? zerosFor(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const v = f32(z[o + j] + b[j]);
          z[o + j] = v;
          a[o + j] = Math.tanh(v);
        }
      }
    },
    backward(_z, a, da, dz, rows, cols, biasGrad) {
      const g = biasGrad ?? sinkFor(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const ai = a[o + j];
          const d = f32(da[o + j] * (1 - ai * ai));
          dz[o + j] = d;
          g[j] += d;
        }
      }
    },
  },
  // Branch-free: on random-sign data a branch per value mispredicts about half the time (the
  // multiply by 0/1 ran 2–4× faster on a 64×128 layer). A NaN stays NaN so divergence is seen;
  // negatives give -0. v·0 is NaN for v = -∞, so that rare case takes the (predictable) fallback.
  relu: {
    forward(z, a, rows, cols, bias) {
      const b = bias ?? zerosFor(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const v = f32(z[o + j] + b[j]);
          z[o + j] = v;
          const y = v * +(v > 0);
          a[o + j] = y === y ? y : v === -Infinity ? 0 : v;
        }
      }
    },
    backward(z, _a, da, dz, rows, cols, biasGrad) {
      const g = biasGrad ?? sinkFor(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const d = f32(da[o + j] * +(z[o + j] > 0));
          dz[o + j] = d;
          g[j] += d;
        }
      }
    },
  },
  // v·(s + (1 − s)·[v > 0]): the factor is exactly 1 or s (0.99 + 0.01 = 1 in float64), so this
  // is the branching form bit for bit, ±∞ and NaN included.
  leakyRelu: {
    forward(z, a, rows, cols, bias) {
      const b = bias ?? zerosFor(cols);
      const s = LEAKY_SLOPE;
      const k = 1 - LEAKY_SLOPE;
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const v = f32(z[o + j] + b[j]);
          z[o + j] = v;
          a[o + j] = v * (s + k * +(v > 0));
        }
      }
    },
    backward(z, _a, da, dz, rows, cols, biasGrad) {
      const g = biasGrad ?? sinkFor(cols);
      const s = LEAKY_SLOPE;
      const k = 1 - LEAKY_SLOPE;
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) {
          const d = f32(da[o + j] * (s + k * +(z[o + j] > 0)));
          dz[o + j] = d;
          g[j] += d;
        }
      }
    },
  },
  softmax: {
    forward(z, a, rows, cols, bias) {
      const b = bias ?? zerosFor(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let max = -Infinity;
        for (let j = 0; j < cols; j++) {
          const v = f32(z[o + j] + b[j]);
          z[o + j] = v;
          if (v > max) max = v;
        }
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
    backward(_z, a, da, dz, rows, cols, biasGrad) {
      const g = biasGrad ?? sinkFor(cols);
      // dz_j = a_j (da_j − Σ_k da_k a_k), the softmax Jacobian applied to da.
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += da[o + j] * a[o + j];
        for (let j = 0; j < cols; j++) {
          const d = f32(a[o + j] * (da[o + j] - dot));
          dz[o + j] = d;
          g[j] += d;
        }
      }
    },
  },
};
