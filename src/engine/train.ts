// fit(): epochs of seeded, shuffled mini-batches; validation each epoch; early stopping; an
// awaited onEpoch with a snapshot of the full training state; AbortSignal between batches; a
// typed error when the loss stops being finite. A run resumed from a snapshot ends with exactly
// the weights of the uninterrupted run: every source of change (weights, optimizer state,
// generator state, early-stopping bookkeeping) is in the snapshot.
import { checkBatchable, evaluate } from './metrics.js';
import { ModelFormatError, Sequential } from './model.js';
import { lossFunctions } from './losses.js';
import { createOptimizer } from './optimizers.js';
import { createRng, rngFromState } from './random.js';
import { float32ToBase64 } from './tensor.js';
import type { OptimizerState } from './optimizers.js';
import type {
  Batchable,
  EpochReport,
  FitOptions,
  FitResult,
  LossName,
  MetricsKind,
  TrainingState,
} from './types.js';

export class TrainingDivergedError extends Error {
  readonly code = 'diverged';
  constructor(
    readonly epoch: number,
    detail: string,
  ) {
    super(`training diverged in epoch ${epoch}: ${detail}; the weights of the last finite epoch were kept`);
    this.name = 'TrainingDivergedError';
  }
}

export class TrainingAbortedError extends Error {
  readonly code = 'aborted';
  constructor(readonly epoch: number) {
    super(`training was cancelled during epoch ${epoch}`);
    this.name = 'TrainingAbortedError';
  }
}

// Without an onEpoch the loop still gives the event loop a turn this often (ms) so an abort can land.
const YIELD_EVERY_MS = 200;
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const classificationLosses: ReadonlySet<LossName> = new Set(['crossEntropy', 'binaryCrossEntropy']);

function defaultMetrics(loss: LossName): MetricsKind {
  return classificationLosses.has(loss) ? 'classification' : 'regression';
}

function checkOptions(opts: FitOptions): void {
  if (!Number.isInteger(opts.epochs) || opts.epochs < 0)
    throw new RangeError(`fit: epochs must be an integer ≥ 0, got ${opts.epochs}`);
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new RangeError(`fit: batchSize must be an integer ≥ 1, got ${opts.batchSize}`);
  }
  if (!Object.hasOwn(lossFunctions, opts.loss))
    throw new RangeError(`fit: unknown loss "${String(opts.loss)}"`);
  if (!Number.isFinite(opts.seed)) throw new RangeError(`fit: seed must be a finite number`);
  const es = opts.earlyStopping;
  if (es) {
    if (!Number.isInteger(es.patience) || es.patience < 0)
      throw new RangeError('fit: earlyStopping.patience must be an integer ≥ 0');
    if (es.minDelta !== undefined && !(es.minDelta >= 0))
      throw new RangeError('fit: earlyStopping.minDelta must be ≥ 0');
  }
}

// From this row width up, one memcpy per row (set of a subarray view) beats a per-value loop:
// 7x on 784-value rows, even with a view allocated per row; narrow rows keep the plain loop.
const SET_MIN_WIDTH = 64;

/** Copies rows idx[start … start+n) of a rows × width matrix into the first n rows of dst. */
function gatherRows(
  src: Float32Array,
  width: number,
  idx: Int32Array,
  start: number,
  n: number,
  dst: Float32Array,
): void {
  if (width >= SET_MIN_WIDTH) {
    for (let b = 0; b < n; b++) {
      const so = idx[start + b] * width;
      dst.set(src.subarray(so, so + width), b * width);
    }
    return;
  }
  for (let b = 0; b < n; b++) {
    let so = idx[start + b] * width;
    let o = b * width;
    for (let j = 0; j < width; j++) dst[o++] = src[so++];
  }
}

function allFinite(ws: Float32Array[]): boolean {
  for (const w of ws) for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i])) return false;
  return true;
}

function copyInto(dst: Float32Array[], src: Float32Array[]): void {
  for (let i = 0; i < dst.length; i++) dst[i].set(src[i]);
}

function sameSpec(a: Sequential['spec'], b: Sequential['spec']): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export async function fit(model: Sequential, train: Batchable, opts: FitOptions): Promise<FitResult> {
  checkOptions(opts);
  const inSize = model.inputSize;
  const outSize = model.outputSize;
  checkBatchable('fit (training data)', train, inSize, outSize);
  if (train.rows < 1) throw new RangeError('fit: the training data has no rows');
  if (opts.validation) checkBatchable('fit (validation data)', opts.validation, inSize, outSize);
  // An empty validation set has no loss to monitor: train as if none was given.
  const validation = opts.validation && opts.validation.rows > 0 ? opts.validation : undefined;

  const params = model.params();
  const optimizer = createOptimizer(params, opts.optimizer);
  const esOpts = opts.earlyStopping;
  const minDelta = esOpts?.minDelta ?? 0;
  const restoreBest = esOpts ? esOpts.restoreBest !== false : false;
  const metricsKind = opts.metrics ?? defaultMetrics(opts.loss);

  let rng = createRng(opts.seed);
  let epoch = 0;
  let history: EpochReport[] = [];
  let bestLoss = Infinity;
  let bestEpoch = 0;
  let wait = 0;
  let bestWeights: Float32Array[] | null = null;

  const r = opts.resume;
  if (r) {
    if (r.version !== 1)
      throw new ModelFormatError(`training state version ${String(r.version)} is not supported`);
    const saved = Sequential.fromJSON(r.model);
    if (!sameSpec(saved.spec, model.spec))
      throw new ModelFormatError('training state is for a different model shape');
    model.setWeights(saved.getWeights());
    optimizer.load(r.optimizer as OptimizerState);
    rng = rngFromState(r.rng);
    epoch = r.epoch;
    history = r.history.map((h) => ({ ...h }));
    bestLoss = r.earlyStopping.bestLoss;
    bestEpoch = r.earlyStopping.bestEpoch;
    wait = r.earlyStopping.wait;
    bestWeights = r.earlyStopping.bestWeights
      ? Sequential.fromJSON(r.earlyStopping.bestWeights).getWeights()
      : null;
  }

  const snapshot = (): TrainingState => {
    const current = model.toJSON();
    const best = bestWeights ? { ...current, params: bestWeights.map(float32ToBase64) } : null;
    return {
      version: 1,
      epoch,
      model: current,
      optimizer: optimizer.state(),
      rng: rng.state(),
      history: history.map((h) => ({ ...h })),
      earlyStopping: { bestLoss, bestEpoch, wait, bestWeights: best },
    };
  };

  const rows = train.rows;
  const bs = Math.min(opts.batchSize, rows);
  const shuffle = opts.shuffle !== false;
  // Batch buffers for shuffled rows; unshuffled batches are views of the data.
  const xb = new Float32Array(shuffle ? bs * inSize : 0);
  const yb = new Float32Array(shuffle ? bs * outSize : 0);
  const lastRows = rows % bs;
  const xLast = lastRows ? xb.subarray(0, lastRows * inSize) : xb;
  const yLast = lastRows ? yb.subarray(0, lastRows * outSize) : yb;
  const idx = new Int32Array(rows);
  const tx = train.x;
  const ty = train.y;
  // The weights at the end of the last epoch whose loss was finite: restored on divergence.
  const good = model.getWeights();
  const weightsNow = model.getWeights();
  const signal = opts.signal;
  model.zeroGrad();

  const diverged = (detail: string): TrainingDivergedError => {
    model.setWeights(good);
    model.zeroGrad();
    return new TrainingDivergedError(epoch + 1, detail);
  };

  let lossSum = 0;
  let lastYield = performance.now();
  const loss = opts.loss;

  // The batches of an epoch from row `from` until the epoch ends or YIELD_EVERY_MS has passed;
  // returns where it stopped. Kept synchronous and out of the async loop, which V8 would not
  // optimize while it runs (no on-stack replacement into a resumable function).
  const runBatches = (from: number): number => {
    let start = from;
    while (start < rows) {
      if (signal?.aborted) throw new TrainingAbortedError(epoch + 1);
      const n = Math.min(bs, rows - start);
      let x: Float32Array;
      let y: Float32Array;
      if (shuffle) {
        gatherRows(tx, inSize, idx, start, n, xb);
        gatherRows(ty, outSize, idx, start, n, yb);
        x = n === bs ? xb : xLast;
        y = n === bs ? yb : yLast;
      } else {
        // Unshuffled batches are consecutive rows: used in place (the model never writes its input).
        x = tx.subarray(start * inSize, (start + n) * inSize);
        y = ty.subarray(start * outSize, (start + n) * outSize);
      }
      model.forward(x, n);
      const l = model.backward(loss, y, n);
      if (!Number.isFinite(l)) throw diverged(`the batch loss is ${l}`);
      optimizer.step();
      lossSum += l * n;
      start += n;
      if (performance.now() - lastYield > YIELD_EVERY_MS) break;
    }
    return start;
  };

  // A resumed state may already be past its stopping point (wait only grows on a non-improvement,
  // so wait > 0 tells a stop with patience 0 apart from a fresh improvement).
  let stoppedEarly = esOpts !== undefined && wait > 0 && wait >= esOpts.patience;

  while (!stoppedEarly && epoch < opts.epochs) {
    for (let i = 0; i < rows; i++) idx[i] = i;
    if (shuffle) rng.shuffle(idx);
    lossSum = 0;
    let start = 0;
    while (start < rows) {
      start = runBatches(start);
      if (start < rows) {
        await yieldToLoop();
        lastYield = performance.now();
      }
    }
    const epochLoss = lossSum / rows;
    for (let i = 0; i < params.length; i++) weightsNow[i].set(params[i].value);
    if (!Number.isFinite(epochLoss) || !allFinite(weightsNow))
      throw diverged(`the epoch loss is ${epochLoss}`);

    const report: EpochReport = { epoch: epoch + 1, loss: epochLoss };
    if (validation) {
      const m = evaluate(model, validation, { loss: opts.loss, kind: metricsKind });
      if (!Number.isFinite(m.loss)) throw diverged(`the validation loss is ${m.loss}`);
      report.valLoss = m.loss;
      if ('accuracy' in m) report.valAccuracy = m.accuracy;
      else report.valR2 = m.r2;
    }
    copyInto(good, weightsNow);
    epoch++;
    history.push(report);

    if (esOpts) {
      const monitored = report.valLoss ?? report.loss;
      if (monitored < bestLoss - minDelta) {
        bestLoss = monitored;
        bestEpoch = epoch;
        wait = 0;
        if (restoreBest) {
          if (bestWeights) copyInto(bestWeights, weightsNow);
          else bestWeights = weightsNow.map((w) => w.slice());
        }
      } else {
        wait++;
        if (wait >= esOpts.patience) stoppedEarly = true;
      }
    }

    if (opts.onEpoch) await opts.onEpoch({ ...report }, snapshot);
    // A turn of the event loop at every epoch boundary (a sync onEpoch only yields to microtasks),
    // so a cancel message can arrive even when epochs are short.
    await yieldToLoop();
    lastYield = performance.now();
  }

  let finalEpoch = epoch;
  if (restoreBest && bestWeights && bestEpoch !== epoch) {
    model.setWeights(bestWeights);
    finalEpoch = bestEpoch;
  }
  return { history: history.map((h) => ({ ...h })), bestEpoch: finalEpoch, stoppedEarly };
}
