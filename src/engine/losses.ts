// Losses as means over the batch (and over the outputs for mse, mae and binaryCrossEntropy).
// Generic losses work on the activated output a; the fused pairs (softmax + crossEntropy,
// sigmoid + binaryCrossEntropy) work from the logits z, which is both stable and cheaper.
import type { ActivationName, LossName } from './types.js';

export interface LossFunction {
  /** The loss of outputs a (rows × cols) against targets y. */
  value(a: Float32Array, y: Float32Array, rows: number, cols: number): number;
  /** Writes dL/da into da and returns the loss. */
  gradient(a: Float32Array, y: Float32Array, da: Float32Array, rows: number, cols: number): number;
}

export interface FusedLoss {
  value(z: Float32Array, a: Float32Array, y: Float32Array, rows: number, cols: number): number;
  /** Writes dL/dz (through the output activation) into dz and returns the loss. */
  gradient(
    z: Float32Array,
    a: Float32Array,
    y: Float32Array,
    dz: Float32Array,
    rows: number,
    cols: number,
  ): number;
}

// Probabilities are clamped before a log so a saturated output gives a large finite loss.
const PROB_EPS = 1e-7;

function ceValue(a: Float32Array, y: Float32Array, rows: number, cols: number): number {
  let s = 0;
  const n = rows * cols;
  for (let i = 0; i < n; i++) if (y[i] !== 0) s -= y[i] * Math.log(a[i] > PROB_EPS ? a[i] : PROB_EPS);
  return s / rows;
}

function bceValue(a: Float32Array, y: Float32Array, rows: number, cols: number): number {
  let s = 0;
  const n = rows * cols;
  for (let i = 0; i < n; i++) {
    const p = a[i] < PROB_EPS ? PROB_EPS : a[i] > 1 - PROB_EPS ? 1 - PROB_EPS : a[i];
    s -= y[i] * Math.log(p) + (1 - y[i]) * Math.log(1 - p);
  }
  return s / n;
}

export const lossFunctions: Record<LossName, LossFunction> = {
  // L = Σ (a − y)² / n, dL/da = 2 (a − y) / n.
  mse: {
    value(a, y, rows, cols) {
      const n = rows * cols;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const d = a[i] - y[i];
        s += d * d;
      }
      return s / n;
    },
    gradient(a, y, da, rows, cols) {
      const n = rows * cols;
      const k = 2 / n;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const d = a[i] - y[i];
        s += d * d;
        da[i] = k * d;
      }
      return s / n;
    },
  },
  // L = Σ |a − y| / n, dL/da = sign(a − y) / n (0 at a tie).
  mae: {
    value(a, y, rows, cols) {
      const n = rows * cols;
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.abs(a[i] - y[i]);
      return s / n;
    },
    gradient(a, y, da, rows, cols) {
      const n = rows * cols;
      const k = 1 / n;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const d = a[i] - y[i];
        s += Math.abs(d);
        da[i] = d > 0 ? k : d < 0 ? -k : 0;
      }
      return s / n;
    },
  },
  // L = −Σ y log a / rows, dL/da = −y / (a rows), a clamped at PROB_EPS.
  crossEntropy: {
    value: ceValue,
    gradient(a, y, da, rows, cols) {
      const n = rows * cols;
      for (let i = 0; i < n; i++) da[i] = -y[i] / ((a[i] > PROB_EPS ? a[i] : PROB_EPS) * rows);
      return ceValue(a, y, rows, cols);
    },
  },
  // L = −Σ [y log a + (1 − y) log(1 − a)] / n, dL/da = (a − y) / (a (1 − a) n).
  binaryCrossEntropy: {
    value: bceValue,
    gradient(a, y, da, rows, cols) {
      const n = rows * cols;
      for (let i = 0; i < n; i++) {
        const p = a[i] < PROB_EPS ? PROB_EPS : a[i] > 1 - PROB_EPS ? 1 - PROB_EPS : a[i];
        da[i] = (p - y[i]) / (p * (1 - p) * n);
      }
      return bceValue(a, y, rows, cols);
    },
  },
};

// Softmax cross-entropy from logits: per row Σ_j y_j (lse(z) − z_j) with lse(z) = m + log Σ e^(z_j − m);
// dL/dz_j = (a_j Σ_k y_k − y_j) / rows, which is (softmax − onehot) / rows for one-hot y.
function softmaxCe(z: Float32Array, y: Float32Array, rows: number, cols: number): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) if (z[o + j] > max) max = z[o + j];
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(z[o + j] - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < cols; j++) if (y[o + j] !== 0) total += y[o + j] * (lse - z[o + j]);
  }
  return total / rows;
}

// Sigmoid cross-entropy from logits: max(z, 0) − z y + log(1 + e^−|z|) per value; dL/dz = (a − y) / n.
function sigmoidBce(z: Float32Array, y: Float32Array, rows: number, cols: number): number {
  const n = rows * cols;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const v = z[i];
    s += (v > 0 ? v : 0) - v * y[i] + Math.log1p(Math.exp(-Math.abs(v)));
  }
  return s / n;
}

/** The fused output gradients, looked up by output activation then loss. */
export const fusedLosses: Partial<Record<ActivationName, Partial<Record<LossName, FusedLoss>>>> = {
  softmax: {
    crossEntropy: {
      value: (z, _a, y, rows, cols) => softmaxCe(z, y, rows, cols),
      gradient(z, a, y, dz, rows, cols) {
        const inv = 1 / rows;
        for (let r = 0; r < rows; r++) {
          const o = r * cols;
          let sy = 0;
          for (let j = 0; j < cols; j++) sy += y[o + j];
          for (let j = 0; j < cols; j++) dz[o + j] = (a[o + j] * sy - y[o + j]) * inv;
        }
        return softmaxCe(z, y, rows, cols);
      },
    },
  },
  sigmoid: {
    binaryCrossEntropy: {
      value: (z, _a, y, rows, cols) => sigmoidBce(z, y, rows, cols),
      gradient(z, a, y, dz, rows, cols) {
        const n = rows * cols;
        const inv = 1 / n;
        for (let i = 0; i < n; i++) dz[i] = (a[i] - y[i]) * inv;
        return sigmoidBce(z, y, rows, cols);
      },
    },
  },
};

/** The output activation a model gets for a loss: the one its fused gradient pairs with. */
export function outputActivationFor(loss: LossName): ActivationName {
  return outputActivations[loss];
}
const outputActivations: Record<LossName, ActivationName> = {
  crossEntropy: 'softmax',
  binaryCrossEntropy: 'sigmoid',
  mse: 'linear',
  mae: 'linear',
};
