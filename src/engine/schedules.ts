// Schedules: a factor in [0, 1] for a setting (learning rate, dropout rate, decoupled weight decay)
// as a function of training progress t ∈ [0, 1] (optimizer steps taken / steps in the whole run).
// The factor depends only on the step count, so a resumed run follows the same curve.
import type { ScheduleName } from './types.js';

/** The names fit accepts, each a pure function of progress t ∈ [0, 1]. */
export const schedules: Record<ScheduleName, (t: number) => number> = {
  /** Always 1. */
  constant: () => 1,
  /** Cosine from 1 to 0 over the run: ½(1 + cos(πt)) (Loshchilov & Hutter 2017, SGDR, one cycle). */
  cosine: (t) => 0.5 * (1 + Math.cos(Math.PI * t)),
  /** 1 for the first half of the run, then cosine down to 0: ½(1 + cos(π(2t − 1))) for t ≥ ½. */
  flatCosine: (t) => (t < 0.5 ? 1 : 0.5 * (1 + Math.cos(Math.PI * (2 * t - 1)))),
  /**
   * Four cosine cycles of growing length, ½(1 − cos(2π·log₂(1 + 15t))): starts at 0 (an implicit
   * warm-up) and returns to 0 at t = 1/15, 3/15, 7/15 and 1, so the run passes several low-rate
   * valleys where a best epoch can be picked (the multi-cycle schedule of RealMLP, Holzmüller et al. 2024).
   */
  cosLog4: (t) => 0.5 * (1 - Math.cos(2 * Math.PI * Math.log2(1 + 15 * t))),
};

/**
 * The factor of `name` at progress t, times a linear warm-up from 0 to 1 over the first
 * `warmup` fraction of the run (0 = none).
 */
export function scheduleFactor(name: ScheduleName, t: number, warmup = 0): number {
  const f = schedules[name](Math.min(1, Math.max(0, t)));
  return warmup > 0 && t < warmup ? f * (t / warmup) : f;
}
