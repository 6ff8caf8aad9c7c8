// Optimizers see only (value, grad) pairs and keep their own per-parameter state. Each step is
// one fused loop per parameter: weight decay, the clip scale, the update, and zeroing the grad
// (so the next backward accumulates from zero). Only clipNorm costs an extra pass (the norm).
import { getKernels } from './kernels/index.js';
import type { Param } from './tensor.js';
import type { OptimizerConfig, OptimizerType } from './types.js';

export interface OptimizerState {
  type: OptimizerType;
  /** Steps taken so far. */
  t: number;
  /** Per-parameter state buffers, in the order of the parameter list (e.g. adam: m0, v0, m1, v1…). */
  slots: Float32Array[];
}

export interface Optimizer {
  readonly config: OptimizerConfig;
  /**
   * Applies one update from the accumulated gradients, then zeroes them. `lrFactor` scales the
   * learning rate (a schedule's factor) and `decayFactor` the decoupled weight decay; both default to 1.
   */
  step(lrFactor?: number, decayFactor?: number): void;
  /** A copy of the optimizer state. */
  state(): OptimizerState;
  /** Restores a state taken from an optimizer of the same type over the same parameter shapes. */
  load(s: OptimizerState): void;
}

type Update = (
  p: Param,
  slots: Float32Array[],
  base: number,
  lr: number,
  wd: number,
  scale: number,
  t: number,
) => void;

interface OptimizerKind {
  /** State buffers per parameter. */
  slotsPerParam: number;
  update(cfg: OptimizerConfig): Update;
}

/**
 * Defaults of each optimizer's own settings, the one definition the API's schemas fill in too.
 * Momentum, ρ and the βs as in Keras and PyTorch; ε 1e-8 for Adam (Kingma & Ba, Algorithm 1) and
 * 1e-7 for adagrad and rmsprop (Keras).
 */
export const OPTIMIZER_DEFAULTS = {
  momentum: { momentum: 0.9, nesterov: false },
  adagrad: { epsilon: 1e-7 },
  rmsprop: { rho: 0.9, epsilon: 1e-7 },
  adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
} as const;

// Below, g = (grad + wd·w)·scale: L2 decay on weights (wd = 0 for biases), then global-norm clipping.
export const optimizers: Record<OptimizerType, OptimizerKind> = {
  // w ← w − lr·g
  sgd: {
    slotsPerParam: 0,
    update: () => (p, _s, _b, lr, wd, scale) => {
      const w = p.value;
      const gr = p.grad;
      for (let i = 0; i < w.length; i++) {
        const g = (gr[i] + wd * w[i]) * scale;
        w[i] -= lr * g;
        gr[i] = 0;
      }
    },
  },
  // PyTorch form: v ← μ·v + g; w ← w − lr·v, or with Nesterov w ← w − lr·(g + μ·v).
  momentum: {
    slotsPerParam: 1,
    update(cfg) {
      const c = cfg as Extract<OptimizerConfig, { type: 'momentum' }>;
      const mu = c.momentum ?? OPTIMIZER_DEFAULTS.momentum.momentum;
      const nesterov = c.nesterov === true;
      return (p, s, base, lr, wd, scale) => {
        const w = p.value;
        const gr = p.grad;
        const v = s[base];
        if (nesterov) {
          for (let i = 0; i < w.length; i++) {
            const g = (gr[i] + wd * w[i]) * scale;
            const vi = mu * v[i] + g;
            v[i] = vi;
            w[i] -= lr * (g + mu * vi);
            gr[i] = 0;
          }
        } else {
          for (let i = 0; i < w.length; i++) {
            const g = (gr[i] + wd * w[i]) * scale;
            const vi = mu * v[i] + g;
            v[i] = vi;
            w[i] -= lr * vi;
            gr[i] = 0;
          }
        }
      };
    },
  },
  // Duchi et al. 2011: s ← s + g²; w ← w − lr·g / (√s + ε)
  adagrad: {
    slotsPerParam: 1,
    update(cfg) {
      const eps = (cfg as { epsilon?: number }).epsilon ?? OPTIMIZER_DEFAULTS.adagrad.epsilon;
      return (p, s, base, lr, wd, scale) => {
        const w = p.value;
        const gr = p.grad;
        const acc = s[base];
        for (let i = 0; i < w.length; i++) {
          const g = (gr[i] + wd * w[i]) * scale;
          const si = acc[i] + g * g;
          acc[i] = si;
          w[i] -= (lr * g) / (Math.sqrt(si) + eps);
          gr[i] = 0;
        }
      };
    },
  },
  // Hinton's lecture 6e: s ← ρ·s + (1 − ρ)·g²; w ← w − lr·g / (√s + ε)
  rmsprop: {
    slotsPerParam: 1,
    update(cfg) {
      const c = cfg as Extract<OptimizerConfig, { type: 'rmsprop' }>;
      const rho = c.rho ?? OPTIMIZER_DEFAULTS.rmsprop.rho;
      const eps = c.epsilon ?? OPTIMIZER_DEFAULTS.rmsprop.epsilon;
      return (p, s, base, lr, wd, scale) => {
        const w = p.value;
        const gr = p.grad;
        const acc = s[base];
        for (let i = 0; i < w.length; i++) {
          const g = (gr[i] + wd * w[i]) * scale;
          const si = rho * acc[i] + (1 - rho) * g * g;
          acc[i] = si;
          w[i] -= (lr * g) / (Math.sqrt(si) + eps);
          gr[i] = 0;
        }
      };
    },
  },
  // Kingma & Ba 2015, Algorithm 1: m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
  // m̂ = m / (1 − β1^t); v̂ = v / (1 − β2^t); w ← w − lr·m̂ / (√v̂ + ε)
  adam: {
    slotsPerParam: 2,
    update(cfg) {
      const c = cfg as Extract<OptimizerConfig, { type: 'adam' }>;
      const b1 = c.beta1 ?? OPTIMIZER_DEFAULTS.adam.beta1;
      const b2 = c.beta2 ?? OPTIMIZER_DEFAULTS.adam.beta2;
      const eps = c.epsilon ?? OPTIMIZER_DEFAULTS.adam.epsilon;
      return (p, s, base, lr, wd, scale, t) => {
        const w = p.value;
        const gr = p.grad;
        const m = s[base];
        const v = s[base + 1];
        // Settings copied to locals so the optimized loop keeps them in registers.
        const beta1 = b1;
        const beta2 = b2;
        const e = eps;
        const ob1 = 1 - beta1;
        const ob2 = 1 - beta2;
        const step = lr / (1 - Math.pow(beta1, t));
        const c2 = 1 / (1 - Math.pow(beta2, t));
        // A backend with its own Adam pass (same arithmetic, same bits) runs it instead of this loop.
        const fast = getKernels().adam;
        if (fast) return fast(w, gr, m, v, beta1, beta2, step, c2, e, wd, scale);
        const n = w.length;
        if (wd === 0 && scale === 1) {
          // The common case (no decay, no clipping) without the two extra multiplies.
          for (let i = 0; i < n; i++) {
            const g = gr[i];
            const mi = beta1 * m[i] + ob1 * g;
            const vi = beta2 * v[i] + ob2 * g * g;
            m[i] = mi;
            v[i] = vi;
            w[i] -= (step * mi) / (Math.sqrt(vi * c2) + e);
            gr[i] = 0;
          }
          return;
        }
        for (let i = 0; i < n; i++) {
          const g = (gr[i] + wd * w[i]) * scale;
          const mi = beta1 * m[i] + ob1 * g;
          const vi = beta2 * v[i] + ob2 * g * g;
          m[i] = mi;
          v[i] = vi;
          w[i] -= (step * mi) / (Math.sqrt(vi * c2) + e);
          gr[i] = 0;
        }
      };
    },
  },
};

function checkConfig(cfg: OptimizerConfig): void {
  const bad = (what: string): never => {
    throw new RangeError(`optimizer ${cfg.type}: ${what}`);
  };
  if (!Number.isFinite(cfg.learningRate) || cfg.learningRate <= 0)
    bad('learningRate must be a positive number');
  if (cfg.weightDecay !== undefined && !(cfg.weightDecay >= 0)) bad('weightDecay must be ≥ 0');
  if (cfg.clipNorm !== undefined && !(cfg.clipNorm > 0)) bad('clipNorm must be > 0');
  if (cfg.decoupledWeightDecay !== undefined && !(cfg.decoupledWeightDecay >= 0))
    bad('decoupledWeightDecay must be ≥ 0');
  const c = cfg as { momentum?: number; rho?: number; beta1?: number; beta2?: number; epsilon?: number };
  for (const key of ['momentum', 'rho', 'beta1', 'beta2'] as const) {
    const v = c[key];
    if (v !== undefined && !(v >= 0 && v < 1)) bad(`${key} must be in [0, 1)`);
  }
  if (c.epsilon !== undefined && !(c.epsilon > 0)) bad('epsilon must be > 0');
}

export function createOptimizer(params: Param[], cfg: OptimizerConfig): Optimizer {
  const kind = optimizers[cfg.type];
  if (!kind) throw new RangeError(`unknown optimizer "${String((cfg as { type: unknown }).type)}"`);
  checkConfig(cfg);
  const update = kind.update(cfg);
  const per = kind.slotsPerParam;
  const slots: Float32Array[] = [];
  for (const p of params) for (let k = 0; k < per; k++) slots.push(new Float32Array(p.value.length));
  const lr = cfg.learningRate;
  const wd = cfg.weightDecay ?? 0;
  const clip = cfg.clipNorm;
  const dwd = cfg.decoupledWeightDecay ?? 0;
  let t = 0;

  // AdamW's decoupled decay: w ← w·(1 − lr·wd) on weights, before the gradient update (lr with
  // the parameter's own learning-rate factor).
  const decayWeights = (lrNow: number, decayFactor: number): void => {
    for (const p of params) {
      const keep = 1 - lrNow * p.lrFactor * dwd * decayFactor;
      if (!p.decay || keep === 1) continue;
      const w = p.value;
      for (let i = 0; i < w.length; i++) w[i] *= keep;
    }
  };

  // Global norm of the decayed gradients; scale = min(1, clipNorm / ‖g‖).
  const clipScale = (): number => {
    if (clip === undefined) return 1;
    let sq = 0;
    for (const p of params) {
      const w = p.value;
      const gr = p.grad;
      const d = p.decay ? wd : 0;
      for (let i = 0; i < w.length; i++) {
        const g = gr[i] + d * w[i];
        sq += g * g;
      }
    }
    const norm = Math.sqrt(sq);
    return norm > clip ? clip / norm : 1;
  };

  return {
    config: cfg,
    step(lrFactor = 1, decayFactor = 1) {
      t++;
      const scale = clipScale();
      const lrNow = lr * lrFactor;
      if (dwd > 0) decayWeights(lrNow, decayFactor);
      for (let j = 0; j < params.length; j++) {
        const p = params[j];
        update(p, slots, j * per, lrNow * p.lrFactor, p.decay ? wd : 0, scale, t);
      }
    },
    state() {
      return { type: cfg.type, t, slots: slots.map((s) => s.slice()) };
    },
    load(s) {
      if (!s || s.type !== cfg.type) {
        throw new RangeError(`optimizer state is for "${s?.type}", expected "${cfg.type}"`);
      }
      if (!Number.isInteger(s.t) || s.t < 0 || !Array.isArray(s.slots) || s.slots.length !== slots.length) {
        throw new RangeError(`optimizer state does not match ${params.length} parameters of ${cfg.type}`);
      }
      for (let i = 0; i < slots.length; i++) {
        if (!(s.slots[i] instanceof Float32Array) || s.slots[i].length !== slots[i].length) {
          throw new RangeError(`optimizer state slot ${i} has the wrong size`);
        }
      }
      for (let i = 0; i < slots.length; i++) slots[i].set(s.slots[i]);
      t = s.t;
    },
  };
}
