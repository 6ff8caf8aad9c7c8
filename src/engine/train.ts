// fit() and fitEnsemble(): the loop only iterates — epochs of seeded, shuffled mini-batches per
// network, a validation pass, then the epoch-end parts (fit-parts.ts: best-epoch selection, early
// stopping, the divergence guard) and the awaited onEpoch hook with a snapshot for checkpoints.
// Settings that vary over the run (learning rate, dropout, decoupled weight decay) follow
// schedules of the step count. A run resumed from a snapshot ends with exactly the weights of the
// uninterrupted run: every source of change (weights, optimizer state, generator state, the parts'
// bookkeeping) is in the snapshot.
import {
  BestEpoch,
  DivergenceGuard,
  EarlyStopping,
  monitorLoss,
  monitorMetric,
  partsState,
} from './fit-parts.js';
import { checkBatchable, evaluate } from './metrics.js';
import { ModelFormatError, Sequential } from './model.js';
import { lossFunctions } from './losses.js';
import { createOptimizer, type Optimizer, type OptimizerState } from './optimizers.js';
import { createRng, rngFromState, type Rng } from './random.js';
import { scheduleFactor } from './schedules.js';
import type {
  Batchable,
  EnsembleFitResult,
  EnsembleMember,
  EpochReport,
  FitOptions,
  FitResult,
  LossName,
  MemberState,
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

/** fitEnsemble's options: fit's, without the per-network validation set and seed. */
export type EnsembleFitOptions = Omit<FitOptions, 'validation' | 'seed'>;

function checkOptions(opts: EnsembleFitOptions): void {
  if (!Number.isInteger(opts.epochs) || opts.epochs < 0)
    throw new RangeError(`fit: epochs must be an integer ≥ 0, got ${opts.epochs}`);
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new RangeError(`fit: batchSize must be an integer ≥ 1, got ${opts.batchSize}`);
  }
  if (!Object.hasOwn(lossFunctions, opts.loss))
    throw new RangeError(`fit: unknown loss "${String(opts.loss)}"`);
  const es = opts.earlyStopping;
  if (es) {
    if (!Number.isInteger(es.patience) || es.patience < 0)
      throw new RangeError('fit: earlyStopping.patience must be an integer ≥ 0');
    if (es.minDelta !== undefined && !(es.minDelta >= 0))
      throw new RangeError('fit: earlyStopping.minDelta must be ≥ 0');
  }
  const ls = opts.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls < 1)) throw new RangeError('fit: labelSmoothing must be in [0, 1)');
  const wu = opts.warmupFraction ?? 0;
  if (!(wu >= 0 && wu <= 1)) throw new RangeError('fit: warmupFraction must be in [0, 1]');
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

/** Label smoothing in place: y ← y·(1 − ε) + ε/K (K = 2 for a single sigmoid output). */
function smoothLabels(y: Float32Array, eps: number, outSize: number): void {
  const k = eps / (outSize === 1 ? 2 : outSize);
  const s = 1 - eps;
  for (let i = 0; i < y.length; i++) y[i] = y[i] * s + k;
}

/** One network's training: its data, optimizer, generator and epoch-end parts. */
class MemberRun {
  readonly optimizer: Optimizer;
  rng: Rng;
  readonly best: BestEpoch | null;
  readonly es: EarlyStopping | null;
  readonly guard: DivergenceGuard;
  readonly weightsNow: Float32Array[];
  stopped = false;
  epochs = 0;
  private readonly idx: Int32Array;
  private readonly xb: Float32Array;
  private readonly yb: Float32Array;
  private readonly bs: number;
  private readonly copyBatch: boolean;

  constructor(
    readonly model: Sequential,
    readonly train: Batchable,
    readonly validation: Batchable | undefined,
    seed: number,
    private readonly opts: EnsembleFitOptions,
  ) {
    this.optimizer = createOptimizer(model.params(), opts.optimizer);
    this.rng = createRng(seed);
    const es = opts.earlyStopping;
    // Early stopping watches what the best epoch is chosen on: stopping on the loss while keeping
    // the epoch of best accuracy would end runs whose accuracy was still improving.
    const monitor = opts.bestEpoch?.monitor === 'metric' ? monitorMetric : monitorLoss;
    const restore = opts.bestEpoch !== undefined || (es !== undefined && es.restoreBest !== false);
    const ties = opts.bestEpoch ? 'last' : 'first';
    this.best = restore ? new BestEpoch(monitor, opts.bestEpoch ? 0 : (es?.minDelta ?? 0), ties) : null;
    this.es = es ? new EarlyStopping(monitor, es.patience, es.minDelta ?? 0) : null;
    this.guard = new DivergenceGuard(model);
    this.weightsNow = model.getWeights();
    const rows = train.rows;
    this.bs = Math.min(opts.batchSize, rows);
    this.idx = new Int32Array(rows);
    // Shuffled or label-smoothed batches are copies; plain unshuffled ones are views of the data.
    this.copyBatch = opts.shuffle !== false || (opts.labelSmoothing ?? 0) > 0;
    this.xb = new Float32Array(this.copyBatch ? this.bs * model.inputSize : 0);
    this.yb = new Float32Array(this.copyBatch ? this.bs * model.outputSize : 0);
    model.zeroGrad();
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.train.rows / this.bs);
  }

  /** Draws the epoch's row order (a permutation from the member's generator when shuffling). */
  startEpoch(): void {
    for (let i = 0; i < this.idx.length; i++) this.idx[i] = i;
    if (this.opts.shuffle !== false) this.rng.shuffle(this.idx);
  }

  /** The rows [start, start+n) of the epoch as x and y arrays. */
  batch(start: number, n: number): { x: Float32Array; y: Float32Array } {
    const { model, train } = this;
    const inSize = model.inputSize;
    const outSize = model.outputSize;
    if (!this.copyBatch) {
      // Unshuffled batches are consecutive rows: used in place (the model never writes its input).
      return {
        x: train.x.subarray(start * inSize, (start + n) * inSize),
        y: train.y.subarray(start * outSize, (start + n) * outSize),
      };
    }
    const x = n === this.bs ? this.xb : this.xb.subarray(0, n * inSize);
    const y = n === this.bs ? this.yb : this.yb.subarray(0, n * outSize);
    if (this.opts.shuffle !== false) {
      gatherRows(train.x, inSize, this.idx, start, n, x);
      gatherRows(train.y, outSize, this.idx, start, n, y);
    } else {
      x.set(train.x.subarray(start * inSize, (start + n) * inSize));
      y.set(train.y.subarray(start * outSize, (start + n) * outSize));
    }
    const ls = this.opts.labelSmoothing ?? 0;
    if (ls > 0) smoothLabels(y, ls, outSize);
    return { x, y };
  }

  get batchSize(): number {
    return this.bs;
  }

  private lossSum = 0;
  private lastYield = 0;

  /**
   * Runs the epoch's batches from row `from` until the epoch ends or YIELD_EVERY_MS has passed;
   * returns where it stopped. Kept synchronous and out of the async loop, which V8 would not
   * optimize while it runs (no on-stack replacement into a resumable function).
   */
  runBatches(from: number, epoch: number, signal: AbortSignal | undefined): number {
    const { model, opts, optimizer } = this;
    const rows = this.train.rows;
    const perEpoch = this.batchesPerEpoch;
    const totalSteps = Math.max(1, opts.epochs * perEpoch);
    const lrSchedule = opts.learningRateSchedule ?? 'constant';
    const regSchedule = opts.regularizationSchedule ?? 'constant';
    const warmup = opts.warmupFraction ?? 0;
    if (from === 0) {
      this.lossSum = 0;
      this.lastYield = performance.now();
    }
    let start = from;
    while (start < rows) {
      if (signal?.aborted) throw new TrainingAbortedError(epoch + 1);
      const n = Math.min(this.bs, rows - start);
      const t = (epoch * perEpoch + start / this.bs) / totalSteps;
      const regFactor = scheduleFactor(regSchedule, t);
      const { x, y } = this.batch(start, n);
      model.forwardTrain(x, n, this.rng, regFactor);
      const l = model.backward(opts.loss, y, n);
      if (!Number.isFinite(l)) throw this.diverged(epoch, `the batch loss is ${l}`);
      optimizer.step(scheduleFactor(lrSchedule, t, warmup), regFactor);
      this.lossSum += l * n;
      start += n;
      if (performance.now() - this.lastYield > YIELD_EVERY_MS) break;
    }
    return start;
  }

  /** After a yield to the event loop: the next time slice starts now. */
  resumed(): void {
    this.lastYield = performance.now();
  }

  /** The rollback to the last finite weights and the error to throw. */
  diverged(epoch: number, detail: string): TrainingDivergedError {
    this.guard.rollback();
    return new TrainingDivergedError(epoch + 1, detail);
  }

  /**
   * The end of epoch `epoch` (0-based): the report with validation metrics, then the parts
   * (divergence guard, best epoch, early stopping). Throws TrainingDivergedError.
   */
  endEpoch(epoch: number, kind: MetricsKind): EpochReport {
    const { model } = this;
    const epochLoss = this.lossSum / this.train.rows;
    const params = model.params();
    for (let i = 0; i < params.length; i++) this.weightsNow[i].set(params[i].value);
    if (!Number.isFinite(epochLoss) || !DivergenceGuard.allFinite(this.weightsNow))
      throw this.diverged(epoch, `the epoch loss is ${epochLoss}`);
    const report: EpochReport = { epoch: epoch + 1, loss: epochLoss };
    if (this.validation) {
      const m = evaluate(model, this.validation, { loss: this.opts.loss, kind });
      if (!Number.isFinite(m.loss)) throw this.diverged(epoch, `the validation loss is ${m.loss}`);
      report.valLoss = m.loss;
      if ('accuracy' in m) report.valAccuracy = m.accuracy;
      else report.valR2 = m.r2;
    }
    this.guard.accept(this.weightsNow);
    this.epochs = epoch + 1;
    this.best?.onEpochEnd(epoch + 1, report, this.weightsNow);
    if (this.es?.onEpochEnd(report)) this.stopped = true;
    return report;
  }

  /** The member's state for a snapshot. */
  state(): MemberState {
    return {
      model: this.model.toJSON(),
      optimizer: this.optimizer.state(),
      rng: this.rng.state(),
      earlyStopping: partsState(this.model, this.best, this.es, this.stopped),
    };
  }

  /** Continues from a member state taken by state() on the same model shape. */
  load(s: MemberState): void {
    const saved = Sequential.fromJSON(s.model);
    if (JSON.stringify(saved.spec) !== JSON.stringify(this.model.spec))
      throw new ModelFormatError('training state is for a different model shape');
    this.model.setWeights(saved.getWeights());
    this.guard.accept(this.model.getWeights());
    this.optimizer.load(s.optimizer as OptimizerState);
    this.rng = rngFromState(s.rng);
    const e = s.earlyStopping;
    if (this.es) {
      this.es.best = e.bestLoss;
      this.es.wait = e.wait;
    }
    if (this.best) {
      this.best.best = e.bestValue ?? e.bestLoss;
      this.best.epoch = e.bestEpoch;
      this.best.weights = e.bestWeights ? Sequential.fromJSON(e.bestWeights).getWeights() : null;
    }
    this.stopped = e.stopped === true || (this.es?.stopped ?? false);
  }
}

/** The mean of the members' reports of one epoch (one member: its report unchanged). */
function meanReport(epoch: number, reports: EpochReport[]): EpochReport {
  if (reports.length === 1) return reports[0];
  const mean = (key: 'loss' | 'valLoss' | 'valAccuracy' | 'valR2'): number | undefined => {
    let s = 0;
    for (const r of reports) {
      const v = r[key];
      if (v === undefined) return undefined;
      s += v;
    }
    return s / reports.length;
  };
  const out: EpochReport = { epoch, loss: mean('loss') as number };
  for (const key of ['valLoss', 'valAccuracy', 'valR2'] as const) {
    const v = mean(key);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** One epoch of one member, giving the event loop a turn whenever a time slice ends. */
async function runEpoch(run: MemberRun, epoch: number, opts: EnsembleFitOptions, kind: MetricsKind) {
  run.startEpoch();
  let start = 0;
  while (start < run.train.rows) {
    start = run.runBatches(start, epoch, opts.signal);
    if (start < run.train.rows) {
      await yieldToLoop();
      run.resumed();
    }
  }
  return run.endEpoch(epoch, kind);
}

function checkMember(m: EnsembleMember, i: number): void {
  const what = i === 0 ? 'fit' : `fit (member ${i})`;
  checkBatchable(`${what} (training data)`, m.train, m.model.inputSize, m.model.outputSize);
  if (m.train.rows < 1) throw new RangeError(`${what}: the training data has no rows`);
  if (m.validation)
    checkBatchable(`${what} (validation data)`, m.validation, m.model.inputSize, m.model.outputSize);
  if (!Number.isFinite(m.seed)) throw new RangeError(`${what}: seed must be a finite number`);
}

/**
 * Trains several networks side by side, epoch by epoch: each on its own rows with its own
 * validation rows, seed, optimizer and best epoch (the members of a k-fold or seed ensemble).
 * Each epoch's report is the mean of the members still training; onEpoch's snapshot holds all of
 * them, so a resumed run ends bit for bit as the straight one; an abort stops every member.
 */
export async function fitEnsemble(
  members: EnsembleMember[],
  opts: EnsembleFitOptions,
): Promise<EnsembleFitResult> {
  checkOptions(opts);
  if (members.length === 0) throw new RangeError('fit: no networks to train');
  members.forEach(checkMember);
  const kind = opts.metrics ?? (classificationLosses.has(opts.loss) ? 'classification' : 'regression');
  // An empty validation set has no loss to monitor: train as if none was given.
  const runs = members.map(
    (m) =>
      new MemberRun(
        m.model,
        m.train,
        m.validation && m.validation.rows > 0 ? m.validation : undefined,
        m.seed,
        opts,
      ),
  );
  let epoch = 0;
  let history: EpochReport[] = [];
  const r = opts.resume;
  if (r) {
    if (r.version !== 1)
      throw new ModelFormatError(`training state version ${String(r.version)} is not supported`);
    if ((r.members?.length ?? 0) !== runs.length - 1)
      throw new ModelFormatError(
        `training state has ${1 + (r.members?.length ?? 0)} networks, expected ${runs.length}`,
      );
    runs[0].load(r);
    r.members?.forEach((s, i) => runs[i + 1].load(s));
    epoch = r.epoch;
    history = r.history.map((h) => ({ ...h }));
  }
  const snapshot = (): TrainingState => {
    const state: TrainingState = {
      version: 1,
      epoch,
      ...runs[0].state(),
      history: history.map((h) => ({ ...h })),
    };
    if (runs.length > 1) state.members = runs.slice(1).map((run) => run.state());
    return state;
  };

  while (epoch < opts.epochs && runs.some((run) => !run.stopped)) {
    const reports: EpochReport[] = [];
    for (const run of runs) if (!run.stopped) reports.push(await runEpoch(run, epoch, opts, kind));
    epoch++;
    const report = meanReport(epoch, reports);
    history.push(report);
    if (opts.onEpoch) await opts.onEpoch({ ...report }, snapshot);
    // A turn of the event loop at every epoch boundary (a sync onEpoch only yields to microtasks),
    // so a cancel message can arrive even when epochs are short.
    await yieldToLoop();
  }
  return {
    history: history.map((h) => ({ ...h })),
    members: runs.map((run) => ({
      bestEpoch: run.best ? run.best.restore(run.model, run.epochs) : run.epochs,
      stoppedEarly: run.stopped,
      epochs: run.epochs,
    })),
  };
}

/** Trains one network (fitEnsemble with one member); see FitOptions for every setting. */
export async function fit(model: Sequential, train: Batchable, opts: FitOptions): Promise<FitResult> {
  const { validation, seed, ...rest } = opts;
  const res = await fitEnsemble([{ model, train, validation, seed }], rest);
  return {
    history: res.history,
    bestEpoch: res.members[0].bestEpoch,
    stoppedEarly: res.members[0].stoppedEarly,
  };
}
