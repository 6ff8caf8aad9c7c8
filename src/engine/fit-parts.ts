// The parts fit() calls at each epoch end, kept out of its loop (as tfjs-layers keeps callbacks out
// of its fit loop): best-epoch selection, early stopping and the divergence guard. Each part owns
// its bookkeeping and can hand it out and take it back, so a resumed run continues where it stopped.
import type { Sequential } from './model.js';
import { float32ToBase64 } from './tensor.js';
import type { EpochReport, MemberState } from './types.js';

/** What the monitored value of an epoch is; lower is better (metrics are negated). */
export type Monitor = (report: EpochReport) => number;

/** The validation loss (the training loss without validation). */
export const monitorLoss: Monitor = (r) => r.valLoss ?? r.loss;

/**
 * The validation task metric, negated so lower is better: accuracy, or r² (the same order as RMSE
 * on one validation set); the loss when the report has neither.
 */
export const monitorMetric: Monitor = (r) =>
  r.valAccuracy !== undefined ? -r.valAccuracy : r.valR2 !== undefined ? -r.valR2 : monitorLoss(r);

function copyInto(dst: Float32Array[], src: Float32Array[]): void {
  for (let i = 0; i < dst.length; i++) dst[i].set(src[i]);
}

/**
 * Keeps a copy of the weights of the best epoch so far. An epoch is better when its monitored
 * value is below the best by more than minDelta; with `ties: 'last'` an equal value also counts,
 * so the latest of equally good epochs wins.
 */
export class BestEpoch {
  best = Infinity;
  epoch = 0;
  weights: Float32Array[] | null = null;

  constructor(
    private readonly monitor: Monitor,
    private readonly minDelta: number,
    private readonly ties: 'first' | 'last',
  ) {}

  /** Records epoch `epoch` (1-based) with its report and weights; true when it is the new best. */
  onEpochEnd(epoch: number, report: EpochReport, weights: Float32Array[]): boolean {
    const v = this.monitor(report);
    const better = this.ties === 'last' ? v <= this.best - this.minDelta : v < this.best - this.minDelta;
    if (!better) return false;
    this.best = v;
    this.epoch = epoch;
    if (this.weights) copyInto(this.weights, weights);
    else this.weights = weights.map((w) => w.slice());
    return true;
  }

  /** Puts the best weights into the model; returns the epoch the model now holds. */
  restore(model: Sequential, lastEpoch: number): number {
    if (!this.weights || this.epoch === lastEpoch) return lastEpoch;
    model.setWeights(this.weights);
    return this.epoch;
  }
}

/** Stops after `patience` epochs in a row without an improvement of more than minDelta. */
export class EarlyStopping {
  best = Infinity;
  wait = 0;

  constructor(
    private readonly monitor: Monitor,
    private readonly patience: number,
    private readonly minDelta: number,
  ) {}

  /** Records an epoch; true when training should stop. */
  onEpochEnd(report: EpochReport): boolean {
    const v = this.monitor(report);
    if (v < this.best - this.minDelta) {
      this.best = v;
      this.wait = 0;
      return false;
    }
    this.wait++;
    return this.wait >= this.patience;
  }

  /** A resumed state may already be past its stopping point (wait > 0 tells patience 0 apart from a fresh improvement). */
  get stopped(): boolean {
    return this.wait > 0 && this.wait >= this.patience;
  }
}

/**
 * The weights at the end of the last epoch whose loss was finite. When a loss or a weight stops
 * being finite, rollback() puts them back before the typed error goes out.
 */
export class DivergenceGuard {
  private readonly good: Float32Array[];

  constructor(private readonly model: Sequential) {
    this.good = model.getWeights();
  }

  /** True when every value is finite. */
  static allFinite(ws: Float32Array[]): boolean {
    for (const w of ws) for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i])) return false;
    return true;
  }

  /** Marks `weights` (the model's current ones) as the last good weights. */
  accept(weights: Float32Array[]): void {
    copyInto(this.good, weights);
  }

  rollback(): void {
    this.model.setWeights(this.good);
    this.model.zeroGrad();
  }
}

/** The bookkeeping of a member's parts in the TrainingState form (weights as a SerializedModel). */
export function partsState(
  model: Sequential,
  best: BestEpoch | null,
  es: EarlyStopping | null,
  stopped: boolean,
): MemberState['earlyStopping'] {
  const current = model.toJSON();
  const bestWeights = best?.weights ? { ...current, params: best.weights.map(float32ToBase64) } : null;
  return {
    bestLoss: es ? es.best : Infinity,
    bestEpoch: best ? best.epoch : 0,
    wait: es ? es.wait : 0,
    bestWeights,
    bestValue: best ? best.best : Infinity,
    stopped,
  };
}
