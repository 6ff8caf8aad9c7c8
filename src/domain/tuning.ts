// Tuning jobs: random search over a seeded search space with asynchronous successive halving
// (ASHA). Every trial run is an ordinary training job on the training queue, so every worker takes
// them and a crashed worker's trial resumes from its checkpoint elsewhere. The search state is one
// record; `advance` moves it on (record finished trial runs, promote or start the next, finish)
// and is idempotent, so it may be called after any trial ends, by any process, and again by a
// periodic sweep if a process died between a trial's end and its call.
//
// ASHA (asynchronous successive halving): rung k trains `minEpochs · η^k` epochs. A trial that
// completed rung k is promoted to rung k+1 when it is in the top 1/η of every trial completed at
// rung k so far; otherwise a new trial starts at rung 0. A promoted trial trains again from scratch
// with the larger budget (same seed and split), so its rungs are comparable runs.
//
// The baseline: when the search space holds the default job's parameters (the default space always
// does), they are trial 0, drawn before the random ones, and that trial is promoted at every rung
// whatever its rank. So the top rung always holds the default's run, and the search picks other
// parameters only when they validated better there than the default's did.
//
// The refit: trials are single networks (cheap to rank), while the default job is the quality
// recipe's cross-validated ensemble with its piecewise-linear encoding. Once every trial is done,
// the best trial's parameters are trained once more the way the default job trains (its folds of the
// non-test rows, its embedding where it would use one, its epochs and early stopping): that refit,
// an ordinary training run on the queue, is the search's model; when the baseline is the best
// trial, the refit is the default job itself (the same resolved spec and seed). Its test rows
// are the trials' test rows (splitRows keeps them apart from the validation fraction), so the test
// metrics are of rows no trial trained or validated on.
import { z } from 'zod';
import { newId } from './ids.js';
import { ConflictError, NotFoundError, UnprocessableError } from './errors.js';
import { isTerminal, newTrainingJob, requestCancel } from './lifecycle.js';
import { checkScalable, datasetForSpec, resolveSpec, type JobLimits } from './jobs.js';
import type { DatasetStore, JobEventBus, JobQueue, JobStore, TenantId } from './ports.js';
import type { Dataset, Job, ListQuery, Model, Page, TrainingSpec, TrainingSpecParsed } from './schemas.js';
import type { WebhookEmitter } from './webhooks.js';
import { IsoDateSchema, JobStatusSchema, TrainingSpecInputSchema } from './schemas.js';
import { createRng } from '../engine/index.js';
import { QUALITY } from './recipes.js';
import { TRAINING_DEFAULTS } from './training-defaults.js';

const range = (lo: number, hi: number) =>
  z
    .object({ min: z.number().min(lo).max(hi), max: z.number().min(lo).max(hi) })
    .strict()
    .refine((r) => r.min <= r.max, 'min must not exceed max');
// Bounds of a count (layers, units): integers, so every draw stays inside the range asked for. The
// range is checked before the integer, so that 1e300 is refused naming the range's bound first.
const intRange = (lo: number, hi: number) =>
  z
    .object({ min: z.number().min(lo).max(hi).int(), max: z.number().min(lo).max(hi).int() })
    .strict()
    .refine((r) => r.min <= r.max, 'min must not exceed max');

export const SearchSpaceSchema = z
  .object({
    depth: intRange(1, 8).optional().describe('Hidden layers, integers'),
    width: intRange(1, 1024)
      .optional()
      .describe('Units of the first hidden layer (log-uniform), integers; later layers halve'),
    learningRate: range(1e-6, 1).optional().describe('Adam learning rate, log-uniform'),
    weightDecay: range(0, 0.1).optional().describe('Weight decay, log-uniform above 1e-7 (0 allowed as min)'),
    dropout: range(0, 0.9)
      .optional()
      .describe(
        'Inverted dropout rate after every hidden layer, uniform; a third of the draws get none when min is 0',
      ),
    batchSize: z.array(z.number().int().min(1).max(4096)).min(1).max(16).optional(),
    scaling: z
      .array(z.enum(['standardize', 'minmax', 'none']))
      .min(1)
      .max(3)
      .optional(),
  })
  .strict()
  .meta({ id: 'SearchSpace' });
export type SearchSpace = z.infer<typeof SearchSpaceSchema>;

/** What matters for our dense networks on tabular data, wide enough to contain the default job. */
export const DEFAULT_SEARCH_SPACE: Required<SearchSpace> = {
  depth: { min: 1, max: 3 },
  width: { min: 8, max: 128 },
  learningRate: { min: 1e-4, max: 3e-2 },
  weightDecay: { min: 0, max: 1e-2 },
  dropout: { min: 0, max: 0.3 },
  batchSize: [16, 32, 64],
  scaling: ['standardize', 'minmax'],
};

export const TuningMetricSchema = z.enum(['valLoss', 'valAccuracy', 'valR2']);
export type TuningMetric = z.infer<typeof TuningMetricSchema>;

export const TuningRequestSchema = z
  .object({
    datasetId: z.string().min(1).max(100),
    target: z.string().min(1).max(1000),
    features: TrainingSpecInputSchema.shape.features,
    searchSpace: SearchSpaceSchema.optional(),
    maxTrials: z.number().int().min(1).max(500).default(20),
    maxRuntimeSeconds: z.number().int().min(1).optional(),
    metric: TuningMetricSchema.default('valLoss'),
    /** Epochs of the top rung; rung k below it trains maxEpochs / η^(rungs-1-k). */
    maxEpochs: z.number().int().min(1).max(10_000).default(243),
    reductionFactor: z.number().int().min(2).max(6).default(3),
    /** Trial runs queued at once; ASHA decides on the results that are in. */
    parallelTrials: z.number().int().min(1).max(64).default(4),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(42),
    refit: z
      .boolean()
      .default(true)
      .describe(
        "Train the best trial's parameters again as the default recipe does (its folds and embedding) to be the search's model; false: the best trial's own model",
      ),
  })
  .strict()
  .meta({ id: 'TuningJobRequest' });
export type TuningRequest = z.output<typeof TuningRequestSchema>;

export const TrialParamsSchema = z.object({
  layers: z.array(z.number().int()),
  learningRate: z.number(),
  weightDecay: z.number(),
  /** Absent in searches recorded before dropout was searched (read as 0). */
  dropout: z.number().optional(),
  batchSize: z.number().int(),
  scaling: z.enum(['standardize', 'minmax', 'none']),
});
export type TrialParams = z.infer<typeof TrialParamsSchema>;

export const TrialSchema = z.object({
  index: z.number().int(),
  params: TrialParamsSchema,
  /** Highest rung started (0-based); its run is jobId. */
  rung: z.number().int(),
  state: z.enum(['running', 'completed', 'stopped', 'failed', 'cancelled']),
  jobId: z.string(),
  /** Best validation metric of each completed rung, in order. */
  rungMetrics: z.array(z.number()),
  modelId: z.string().nullable(),
  baseline: z
    .boolean()
    .optional()
    .describe("True for the default job's parameters (trial 0), promoted at every rung whatever its rank"),
});
export type Trial = z.infer<typeof TrialSchema>;

export const RefitSchema = z
  .object({
    trial: z.number().int().describe('The trial whose parameters it trains (the best one)'),
    jobId: z
      .string()
      .nullable()
      .describe('Its training run, an ordinary job on the queue; null when its spec could not be resolved'),
    state: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
    folds: z.number().int().describe('Cross-validation folds of the non-test rows, one network each'),
    modelId: z.string().nullable(),
    error: z.string().nullable().describe('Why it failed; the best trial’s own model is then the result'),
  })
  .meta({ id: 'TuningRefit' });
export type Refit = z.infer<typeof RefitSchema>;

export const TuningStopReasonSchema = z
  .enum(['completed', 'maxRuntime', 'cancelled', 'datasetDeleted'])
  .meta({ id: 'TuningStopReason' });
export type TuningStopReason = z.infer<typeof TuningStopReasonSchema>;

/** Why no refit ran: the search's own stop reasons, or refit false, or no trial with a model. */
export const RefitSkippedSchema = z
  .enum(['disabled', 'noTrialModel', 'maxRuntime', 'cancelled', 'datasetDeleted'])
  .meta({ id: 'TuningRefitSkipped' });
export type RefitSkipped = z.infer<typeof RefitSkippedSchema>;

export const TuningJobSchema = z
  .object({
    id: z.string(),
    status: JobStatusSchema,
    request: TuningRequestSchema,
    rungEpochs: z.array(z.number().int()),
    createdAt: IsoDateSchema,
    finishedAt: IsoDateSchema.nullable(),
    cancelRequested: z.boolean(),
    /** Trials, best first by their highest completed rung and then its metric. */
    leaderboard: z.array(TrialSchema),
    trialsStarted: z.number().int(),
    bestTrial: z.number().int().nullable(),
    /** The result of the search: the refit's model, or the best trial's without a refit. */
    modelId: z.string().nullable(),
    /** The result model's metrics on the test split, which no trial decision used. */
    test: z.record(z.string(), z.unknown()).nullable(),
    error: z.string().nullable(),
    /** Absent on searches recorded before the refit existed. */
    stage: z
      .enum(['trials', 'refit', 'done'])
      .optional()
      .describe('trials while trial runs go on, refit while the best trial is refit, done once final'),
    refit: RefitSchema.nullable()
      .optional()
      .describe(
        'The refit of the best trial, once started; null without one (refit false, cancelled, out of time)',
      ),
    stopReason: TuningStopReasonSchema.nullable()
      .optional()
      .describe(
        'Why the search ended: completed (every trial ran, then the refit if any), maxRuntime (maxRuntimeSeconds ran out: trials left unstarted or stopped, the refit skipped or cut short), cancelled, datasetDeleted; null while it runs',
      ),
    refitSkipped: RefitSkippedSchema.nullable()
      .optional()
      .describe(
        'Once done, why no refit ran: disabled (refit false), noTrialModel, maxRuntime (under a second of the budget left), cancelled, datasetDeleted; null when a refit ran',
      ),
  })
  .meta({ id: 'TuningJob' });
export type TuningJob = z.infer<typeof TuningJobSchema>;

/**
 * Epochs of each rung, smallest first: maxEpochs / η^k down to at least 1, at most 4 rungs, and no
 * more rungs than `maxTrials` can fill: ASHA lets the top 1/η of a rung up, so rung k is reached by
 * about maxTrials / η^k trials and the top rung needs η^(rungs−1) ≤ maxTrials (20 trials with η = 3
 * get 3 rungs; 6 get 2), or no trial would train the full budget.
 */
export function rungEpochs(maxEpochs: number, eta: number, maxTrials = Infinity): number[] {
  const rungs = [maxEpochs];
  while (
    rungs.length < 4 &&
    Math.floor(rungs[0] / eta) >= 1 &&
    rungs[0] / eta >= 2 &&
    eta ** rungs.length <= maxTrials
  ) {
    rungs.unshift(Math.floor(rungs[0] / eta));
  }
  return rungs;
}

const logUniform = (u: number, lo: number, hi: number) =>
  Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo)));

/** Trial i's parameters: the i-th draw of a generator seeded with the tuning seed (reproducible). */
export function sampleTrials(space: SearchSpace, seed: number, count: number): TrialParams[] {
  const s = { ...DEFAULT_SEARCH_SPACE, ...space };
  const rng = createRng(seed);
  const out: TrialParams[] = [];
  for (let i = 0; i < count; i++) {
    const depth = s.depth.min + rng.int(s.depth.max - s.depth.min + 1);
    const width = Math.max(1, Math.round(logUniform(rng.next(), s.width.min, s.width.max)));
    const layers = Array.from({ length: depth }, (_, k) => Math.max(2, Math.round(width / 2 ** k)));
    const learningRate = logUniform(rng.next(), s.learningRate.min, s.learningRate.max);
    // 0 as the lower bound: a quarter of the draws get none, the rest are log-uniform from 1e-7.
    const u = rng.next();
    const wdLow = Math.max(s.weightDecay.min, 1e-7);
    const weightDecay =
      s.weightDecay.max === 0 || (s.weightDecay.min === 0 && u < 0.25)
        ? 0
        : logUniform(rng.next(), wdLow, Math.max(wdLow, s.weightDecay.max));
    const batchSize = s.batchSize[rng.int(s.batchSize.length)];
    const scaling = s.scaling[rng.int(s.scaling.length)];
    const v = rng.next();
    const dropout =
      s.dropout.min === 0 && v < 1 / 3 ? 0 : s.dropout.min + rng.next() * (s.dropout.max - s.dropout.min);
    out.push({ layers, learningRate, weightDecay, dropout, batchSize, scaling });
  }
  return out;
}

/**
 * The parameters a job without them resolves to on this dataset (the default recipe's network,
 * Adam's learning rate and weight decay, no dropout, batch size, scaling): the search's baseline;
 * null when no search space can hold them (a scaling the search does not offer). Throws
 * resolveSpec's UnprocessableError when the request does not resolve on the dataset.
 */
export function defaultTrialParams(
  request: TuningRequest,
  dataset: Dataset,
  limits: JobLimits,
): TrialParams | null {
  const input = TrainingSpecInputSchema.parse({
    datasetId: request.datasetId,
    target: request.target,
    features: request.features,
  });
  const spec = resolveSpec(input, dataset, limits);
  const optimizer = spec.training.optimizer as { learningRate: number; weightDecay?: number };
  const scaling = TrialParamsSchema.shape.scaling.safeParse(spec.preprocessing.scaling);
  if (!scaling.success) return null;
  return {
    layers: spec.model.layers.map((l) => l.units),
    learningRate: optimizer.learningRate,
    weightDecay: optimizer.weightDecay ?? 0,
    dropout: 0,
    batchSize: spec.training.batchSize,
    scaling: scaling.data,
  };
}

/** Whether sampleTrials could draw `p` from the space: every range and list holds its value. */
export function inSearchSpace(p: TrialParams, space: SearchSpace): boolean {
  const s = { ...DEFAULT_SEARCH_SPACE, ...space };
  const within = (v: number, r: { min: number; max: number }) => v >= r.min && v <= r.max;
  const width = p.layers[0];
  return (
    within(p.layers.length, s.depth) &&
    within(width, s.width) &&
    p.layers.every((units, k) => units === Math.max(2, Math.round(width / 2 ** k))) &&
    within(p.learningRate, s.learningRate) &&
    within(p.weightDecay, s.weightDecay) &&
    within(p.dropout ?? 0, s.dropout) &&
    s.batchSize.includes(p.batchSize) &&
    s.scaling.includes(p.scaling)
  );
}

/**
 * Every trial's parameters in the order they start: the baseline (the default job's parameters)
 * first when the search space holds them, then the seeded random draws; `baseline` says whether
 * trial 0 is it.
 */
export function searchTrials(
  request: TuningRequest,
  dataset: Dataset,
  limits: JobLimits,
): { params: TrialParams[]; baseline: boolean } {
  const space = request.searchSpace ?? {};
  const dflt = defaultTrialParams(request, dataset, limits);
  if (!dflt || !inSearchSpace(dflt, space)) {
    return { params: sampleTrials(space, request.seed, request.maxTrials), baseline: false };
  }
  return { params: [dflt, ...sampleTrials(space, request.seed, request.maxTrials - 1)], baseline: true };
}

/**
 * The spec input of a trial's parameters: as a trial run, the fast recipe's one network validated
 * on a split, trained for `epochs` with patience a third of them; as the refit, the default
 * (quality) recipe's treatment: its folds, its epochs (`epochs` when more) and early stopping, and,
 * by leaving `model.embedding` unset, its embedding wherever a default job would use one. A weight
 * decay of 0 is left unset, as the default job leaves it, so the baseline's refit resolves to the
 * default job's spec.
 */
function searchSpecInput(
  request: TuningRequest,
  params: TrialParams,
  epochs: number,
  as: 'trial' | 'refit',
  maxRuntimeSeconds?: number,
): TrainingSpecParsed {
  return TrainingSpecInputSchema.parse({
    datasetId: request.datasetId,
    target: request.target,
    features: request.features,
    recipe: as === 'trial' ? 'fast' : 'quality',
    model: {
      layers: params.layers.map((units) => ({
        units,
        activation: 'relu',
        ...(params.dropout ? { dropout: params.dropout } : {}),
      })),
    },
    training: {
      ...(as === 'trial'
        ? { epochs, earlyStopping: { patience: Math.max(5, Math.ceil(epochs / 3)) } }
        : { crossValidation: { folds: QUALITY.folds } }),
      ...(as === 'refit' && epochs > TRAINING_DEFAULTS.epochs ? { epochs } : {}),
      batchSize: params.batchSize,
      optimizer: {
        type: 'adam',
        learningRate: params.learningRate,
        ...(params.weightDecay ? { weightDecay: params.weightDecay } : {}),
      },
      seed: request.seed,
      ...(maxRuntimeSeconds ? { maxRuntimeSeconds } : {}),
    },
    preprocessing: { scaling: params.scaling },
  });
}

/**
 * The training spec input of one trial run: the search's data, the trial's parameters, the rung's
 * epochs, as one network of the fast recipe (no folds, no embedding). Measured on iris (seeds 1–6)
 * and loans: single networks with the piecewise-linear encoding often reach a validation loss near 0
 * on small validation splits, which ranks trials by noise; without it they rank better, and the
 * refit adds the encoding back.
 */
export function trialSpecInput(
  request: TuningRequest,
  params: TrialParams,
  epochs: number,
): TrainingSpecParsed {
  return searchSpecInput(request, params, epochs, 'trial');
}

/**
 * The training spec input of the refit: the trial's parameters trained as the default recipe trains
 * (its 5 folds, the default's epochs and early stopping, each fold's network stopped on its own
 * fold; `epochs`, the top rung's, when that is more).
 */
export function refitSpecInput(
  request: TuningRequest,
  params: TrialParams,
  epochs: number,
  maxRuntimeSeconds?: number,
): TrainingSpecParsed {
  return searchSpecInput(request, params, epochs, 'refit', maxRuntimeSeconds);
}

/** Larger is better for accuracy and r²; smaller for loss. */
const higherIsBetter = (metric: TuningMetric) => metric !== 'valLoss';

/** The best value of the metric over a run's epochs (the weights restored at its end are those). */
export function runMetric(job: Job, metric: TuningMetric): number | null {
  const values = job.history
    .map((e) => e[metric])
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (values.length === 0) return null;
  return higherIsBetter(metric) ? Math.max(...values) : Math.min(...values);
}

/** Orders trials best first: higher completed rung, then better metric at it. */
export function rankTrials(trials: Trial[], metric: TuningMetric): Trial[] {
  const sign = higherIsBetter(metric) ? -1 : 1;
  const key = (t: Trial) => t.rungMetrics.length;
  return [...trials].sort((a, b) => {
    if (key(a) !== key(b)) return key(b) - key(a);
    if (key(a) === 0) return a.index - b.index;
    const d = sign * (a.rungMetrics[key(a) - 1] - b.rungMetrics[key(b) - 1]);
    return d !== 0 && Number.isFinite(d) ? d : a.index - b.index;
  });
}

/**
 * ASHA's promotion rule: the trials completed at `rung` (not yet promoted beyond it) that rank in
 * the top ⌊n/η⌋ of all n trials that completed that rung; the baseline trial whatever its rank
 * (after those), so the default's parameters always reach the top rung.
 */
export function promotable(trials: Trial[], rung: number, eta: number, metric: TuningMetric): Trial[] {
  const waiting = (t: Trial) => t.rung === rung && t.state === 'completed' && t.rungMetrics.length > rung;
  const done = trials.filter((t) => t.rungMetrics.length > rung);
  const k = Math.floor(done.length / eta);
  const sign = higherIsBetter(metric) ? -1 : 1;
  const top = [...done]
    .sort((a, b) => sign * (a.rungMetrics[rung] - b.rungMetrics[rung]) || a.index - b.index)
    .slice(0, k)
    .filter(waiting);
  const baseline = trials.find((t) => t.baseline === true && waiting(t) && !top.includes(t));
  return baseline ? [...top, baseline] : top;
}

/** A new tuning job record: trial parameters are drawn now, so the search is reproducible from its seed. */
export function newTuningJob(request: TuningRequest, createdAt: string): TuningJob {
  return {
    id: newId('tun'),
    status: 'queued',
    request,
    rungEpochs: rungEpochs(request.maxEpochs, request.reductionFactor, request.maxTrials),
    createdAt,
    finishedAt: null,
    cancelRequested: false,
    leaderboard: [],
    trialsStarted: 0,
    bestTrial: null,
    modelId: null,
    test: null,
    error: null,
    stage: 'trials',
    refit: null,
    stopReason: null,
    refitSkipped: null,
  };
}

/** resolveSpec for a search's run; a scaling it refuses is named as the search space's field. */
function resolveSearchSpec(input: TrainingSpecParsed, dataset: Dataset, limits: JobLimits): TrainingSpec {
  try {
    return resolveSpec(input, dataset, limits);
  } catch (err) {
    const [first] = err instanceof UnprocessableError ? (err.errors ?? []) : [];
    if (first?.path !== 'preprocessing.scaling') throw err;
    throw new UnprocessableError((err as Error).message, [{ ...first, path: 'searchSpace.scaling' }]);
  }
}

/**
 * Checks the request against the dataset the way a trial submit would (same 422s), with the largest
 * trial, and its refit (the embedding widens the first layer); their resolved specs.
 */
export function validateTuningRequest(
  request: TuningRequest,
  dataset: Dataset,
  limits: JobLimits,
): { largest: TrainingSpec; refit: TrainingSpec | null } {
  const space = { ...DEFAULT_SEARCH_SPACE, ...request.searchSpace };
  const widest: TrialParams = {
    layers: Array.from({ length: space.depth.max }, (_, k) =>
      Math.max(2, Math.round(space.width.max / 2 ** k)),
    ),
    learningRate: space.learningRate.max,
    weightDecay: space.weightDecay.max,
    dropout: space.dropout.max,
    batchSize: Math.max(...space.batchSize),
    scaling: space.scaling[0],
  };
  if (request.maxRuntimeSeconds !== undefined && request.maxRuntimeSeconds > limits.MAX_RUNTIME_SECONDS) {
    throw new UnprocessableError(
      `maxRuntimeSeconds ${request.maxRuntimeSeconds} exceeds the limit of ${limits.MAX_RUNTIME_SECONDS}`,
      [{ path: 'maxRuntimeSeconds', message: `at most ${limits.MAX_RUNTIME_SECONDS}` }],
    );
  }
  const spec = resolveSearchSpec(trialSpecInput(request, widest, request.maxEpochs), dataset, limits);
  for (const scaling of space.scaling) checkScalable(dataset, spec.features, scaling, 'searchSpace.scaling');
  const fits = request.metric === 'valLoss' || (request.metric === 'valR2') === (spec.task === 'regression');
  if (!fits) {
    throw new UnprocessableError(
      `metric ${request.metric} does not fit a ${spec.task} of "${spec.target}": use valLoss or ${spec.task === 'regression' ? 'valR2' : 'valAccuracy'}`,
      [{ path: 'metric', message: `not measured for ${spec.task}` }],
    );
  }
  const refit = request.refit
    ? resolveSearchSpec(refitSpecInput(request, widest, request.maxEpochs), dataset, limits)
    : null;
  return { largest: spec, refit };
}

// ---------- the search, run over the stores ----------

export interface TuningStore {
  put(tenant: TenantId, job: TuningJob): Promise<void>;
  get(tenant: TenantId, id: string): Promise<TuningJob | null>;
  read(id: string): Promise<{ tenant: TenantId; job: TuningJob } | null>;
  list(tenant: TenantId, query: ListQuery): Promise<Page<TuningJob>>;
  /** Remembers which tuning job a trial run belongs to. */
  linkTrial(jobId: string, tuningId: string): Promise<void>;
  trialOf(jobId: string): Promise<string | null>;
  /** Ids of tuning jobs not yet final (for the periodic sweep). */
  activeIds(): Promise<string[]>;
  setActive(id: string, active: boolean): Promise<void>;
  /** SET NX PX: true for the one caller that may advance this search now. */
  lock(id: string, ttlMs: number): Promise<boolean>;
  unlock(id: string): Promise<void>;
  /** Someone wanted to advance while the lock was held: the holder runs another step. */
  markDirty(id: string): Promise<void>;
  takeDirty(id: string): Promise<boolean>;
  requestCancel(id: string): Promise<void>;
  cancelRequested(id: string): Promise<boolean>;
}

/** The tenant's unfinished tuning searches with the dataset each reads (for DatasetUsers). */
export function unfinishedSearches(store: Pick<TuningStore, 'activeIds' | 'read'>) {
  return async (tenant: TenantId): Promise<{ id: string; datasetId: string }[]> => {
    const found = await Promise.all((await store.activeIds()).map((id) => store.read(id)));
    return found
      .filter((f) => f !== null && f.tenant === tenant && !isTerminal(f.job))
      .map((f) => ({ id: f!.job.id, datasetId: f!.job.request.datasetId }));
  };
}

export interface TuningDeps {
  tuning: TuningStore;
  jobs: JobStore;
  queue: JobQueue;
  events: JobEventBus;
  datasets: Pick<DatasetStore, 'get'>;
  models: { get(tenant: TenantId, id: string): Promise<Model | null> };
  limits: JobLimits;
  emit?: WebhookEmitter;
  now?: () => Date;
}

const LOCK_TTL_MS = 30_000;

/** A running trial once its run's record is read: still running, or completed, failed or cancelled. */
function trialAfter(trial: Trial, job: Job | null, metric: TuningMetric): Trial {
  if (!job) return { ...trial, state: 'failed' };
  if (!isTerminal(job)) return trial;
  if (job.status !== 'succeeded')
    return { ...trial, state: job.status === 'cancelled' ? 'cancelled' : 'failed' };
  // A run without a finite metric (no validation rows, a diverged loss) cannot be ranked.
  const value = runMetric(job, metric);
  if (value === null) return { ...trial, state: 'failed', modelId: job.modelId };
  return { ...trial, state: 'completed', rungMetrics: [...trial.rungMetrics, value], modelId: job.modelId };
}

/** What the search's steps work with: the stores and a clock. */
type SearchContext = TuningDeps & { now: () => Date };

/** Creates, links and enqueues the training job of one trial at one rung; the trial as it now runs. */
async function launchTrial(
  ctx: SearchContext,
  run: { tenant: TenantId; search: TuningJob; dataset: Dataset },
  trial: Trial,
  rung: number,
): Promise<Trial> {
  const { tenant, search, dataset } = run;
  const input = trialSpecInput(search.request, trial.params, search.rungEpochs[rung]);
  const job = newTrainingJob(newId('job'), resolveSpec(input, dataset, ctx.limits), ctx.now().toISOString(), {
    tuningJobId: search.id,
    tuningRole: 'trial',
  });
  await ctx.jobs.create(tenant, job);
  await ctx.tuning.linkTrial(job.id, search.id);
  await ctx.queue.enqueue(tenant, job.id);
  return { ...trial, rung, state: 'running' as const, jobId: job.id };
}

/** The trials with the outcome of every run that ended since the last step. */
async function collectTrials(
  ctx: SearchContext,
  tenant: TenantId,
  trials: Trial[],
  metric: TuningMetric,
): Promise<Trial[]> {
  return Promise.all(
    trials.map(async (trial) =>
      trial.state === 'running' ? trialAfter(trial, await ctx.jobs.get(tenant, trial.jobId), metric) : trial,
    ),
  );
}

/** Asks one run to cancel (its worker stops at the next epoch; a queued one is cancelled at once). */
async function stopRun(ctx: SearchContext, jobId: string): Promise<void> {
  const res = await ctx.jobs.update(jobId, (current) => requestCancel(current, ctx.now().toISOString()));
  if (res.written) await ctx.events.publish(jobId, { type: 'cancel' }).catch(() => {});
}

/** Asks every running trial's job to cancel. */
async function stopRunningTrials(ctx: SearchContext, trials: Trial[]): Promise<void> {
  for (const trial of trials.filter((x) => x.state === 'running')) await stopRun(ctx, trial.jobId);
}

/** The best trial that has a model, on a ranked leaderboard. */
const bestOf = (board: Trial[]): Trial | null =>
  board.find((x) => x.modelId !== null && x.rungMetrics.length > 0) ?? null;

/**
 * The final record: trials below the top rung are stopped; the result is the refit's model when it
 * succeeded, else the best trial's own.
 */
async function finishSearch(
  ctx: SearchContext,
  tenant: TenantId,
  t: TuningJob,
  cancelled: boolean,
): Promise<TuningJob> {
  const top = t.rungEpochs.length - 1;
  const board = rankTrials(t.leaderboard, t.request.metric).map((x) =>
    x.state === 'completed' && x.rung < top ? { ...x, state: 'stopped' as const } : x,
  );
  const best = bestOf(board);
  const resultId = t.refit?.state === 'succeeded' ? t.refit.modelId : (best?.modelId ?? null);
  const model = resultId ? await ctx.models.get(tenant, resultId) : null;
  const done: TuningJob = {
    ...t,
    status: cancelled ? 'cancelled' : model ? 'succeeded' : 'failed',
    stage: 'done',
    leaderboard: board,
    bestTrial: best?.index ?? null,
    modelId: model?.id ?? null,
    test: (model?.metrics.test as Record<string, unknown> | null) ?? null,
    error: cancelled || model ? null : 'no trial produced a model',
    finishedAt: ctx.now().toISOString(),
  };
  await ctx.tuning.setActive(t.id, false);
  await ctx.emit?.(tenant, 'tuning-job.finished', { ...done, leaderboard: undefined }).catch(() => 0);
  return done;
}

/**
 * Creates, links and enqueues the refit of the best trial (see the file's header), with the time
 * left of the search's budget as its own; why not when there is none to run (refit off, no trial
 * with a model, under a second left), a failed refit when its spec no longer resolves.
 */
async function launchRefit(
  ctx: SearchContext,
  run: { tenant: TenantId; search: TuningJob; dataset: Dataset },
): Promise<Refit | RefitSkipped> {
  const { tenant, search, dataset } = run;
  const best = bestOf(rankTrials(search.leaderboard, search.request.metric));
  const leftMs = budgetMs(ctx, search) - (ctx.now().getTime() - Date.parse(search.createdAt));
  if (!search.request.refit) return 'disabled';
  if (!best) return 'noTrialModel';
  if (leftMs < 1000) return 'maxRuntime';
  const refit: Refit = {
    trial: best.index,
    jobId: null,
    state: 'running',
    folds: QUALITY.folds,
    modelId: null,
    error: null,
  };
  const seconds = Math.min(Math.floor(leftMs / 1000), ctx.limits.MAX_RUNTIME_SECONDS);
  const input = refitSpecInput(search.request, best.params, search.rungEpochs.at(-1)!, seconds);
  let spec: TrainingSpec;
  try {
    spec = resolveSpec(input, dataset, ctx.limits);
  } catch (err) {
    if (!(err instanceof UnprocessableError)) throw err;
    return { ...refit, state: 'failed', error: err.message };
  }
  const job = newTrainingJob(newId('job'), spec, ctx.now().toISOString(), {
    tuningJobId: search.id,
    tuningRole: 'refit',
  });
  await ctx.jobs.create(tenant, job);
  await ctx.tuning.linkTrial(job.id, search.id);
  await ctx.queue.enqueue(tenant, job.id);
  return {
    ...refit,
    jobId: job.id,
    folds: spec.training.crossValidation ? spec.training.crossValidation.folds : 1,
  };
}

/** The refit once its run's record is read: still running, or succeeded, failed or cancelled. */
async function collectRefit(ctx: SearchContext, tenant: TenantId, refit: Refit): Promise<Refit> {
  if (refit.state !== 'running' || refit.jobId === null) return refit;
  const job = await ctx.jobs.get(tenant, refit.jobId);
  if (!job) return { ...refit, state: 'failed', error: 'its training run is gone' };
  if (!isTerminal(job)) return refit;
  if (job.status === 'succeeded') return { ...refit, state: 'succeeded', modelId: job.modelId };
  if (job.status === 'cancelled') return { ...refit, state: 'cancelled' };
  const why = job.error ? `${job.error.code}: ${job.error.message}` : 'its training run failed';
  return { ...refit, state: 'failed', error: why };
}

/** The search's time budget in ms: its maxRuntimeSeconds, else the operator's job limit. */
const budgetMs = (ctx: SearchContext, t: TuningJob) =>
  (t.request.maxRuntimeSeconds ?? ctx.limits.MAX_RUNTIME_SECONDS) * 1000;

/**
 * What to launch next, if anything: a promotion (highest rung first), else a new trial while fewer
 * than maxTrials started. Pure: the caller launches it.
 */
function nextLaunch(
  t: TuningJob,
  board: Trial[],
  started: number,
  trials: { params: TrialParams[]; baseline: boolean },
): { trial: Trial; rung: number } | null {
  const { request } = t;
  if (board.filter((x) => x.state === 'running').length >= request.parallelTrials) return null;
  for (let k = t.rungEpochs.length - 2; k >= 0; k--) {
    const [first] = promotable(board, k, request.reductionFactor, request.metric);
    if (first) return { trial: first, rung: k + 1 };
  }
  if (started >= request.maxTrials) return null;
  const trial: Trial = {
    index: started,
    params: trials.params[started],
    rung: 0,
    state: 'running',
    jobId: '',
    rungMetrics: [],
    modelId: null,
    ...(started === 0 && trials.baseline ? { baseline: true } : {}),
  };
  return { trial, rung: 0 };
}

/** Launches promotions, then new trials, while fewer than parallelTrials run. */
async function scheduleTrials(
  ctx: SearchContext,
  tenant: TenantId,
  t: TuningJob,
  dataset: Dataset,
): Promise<TuningJob> {
  const { request } = t;
  let board = t.leaderboard;
  let started = t.trialsStarted;
  const trials = searchTrials(request, dataset, ctx.limits);
  for (let next = nextLaunch(t, board, started, trials); next; next = nextLaunch(t, board, started, trials)) {
    if (next.trial.index === started) {
      started += 1;
      board = [...board, next.trial];
    }
    const launched = await launchTrial(ctx, { tenant, search: t, dataset }, next.trial, next.rung);
    board = board.map((x) => (x.index === launched.index ? launched : x));
  }
  return { ...t, leaderboard: board, trialsStarted: started };
}

/**
 * The trials stage of a step: collect the runs that ended, then stop them (cancel, budget spent,
 * dataset gone) or schedule more; once none runs, start the refit, or finish.
 */
async function trialsStep(ctx: SearchContext, tenant: TenantId, t: TuningJob, cancel: boolean) {
  t = { ...t, leaderboard: await collectTrials(ctx, tenant, t.leaderboard, t.request.metric) };
  const overTime = ctx.now().getTime() - Date.parse(t.createdAt) > budgetMs(ctx, t);
  const dataset = await ctx.datasets.get(tenant, t.request.datasetId);
  const stopped: TuningStopReason | null = cancel
    ? 'cancelled'
    : !dataset
      ? 'datasetDeleted'
      : overTime
        ? 'maxRuntime'
        : null;
  if (stopped || !dataset) {
    await stopRunningTrials(ctx, t.leaderboard);
    const leaderboard = await collectTrials(ctx, tenant, t.leaderboard, t.request.metric);
    t = { ...t, cancelRequested: cancel, leaderboard };
  } else {
    t = await scheduleTrials(ctx, tenant, t, dataset);
  }
  if (t.leaderboard.some((x) => x.state === 'running')) return t;
  const launched: Refit | RefitSkipped =
    stopped || !dataset
      ? t.request.refit
        ? (stopped ?? 'datasetDeleted')
        : 'disabled'
      : await launchRefit(ctx, { tenant, search: t, dataset });
  if (typeof launched !== 'string' && launched.state === 'running') {
    return { ...t, stage: 'refit' as const, refit: launched };
  }
  const refitSkipped = typeof launched === 'string' ? launched : null;
  const refit = typeof launched === 'string' ? null : launched;
  const stopReason = stopped ?? (refitSkipped === 'maxRuntime' ? 'maxRuntime' : 'completed');
  return finishSearch(ctx, tenant, { ...t, refit, refitSkipped, stopReason }, cancel);
}

/** The refit stage of a step: a cancel stops the refit's run; once it has ended, finish. */
async function refitStep(ctx: SearchContext, tenant: TenantId, t: TuningJob, refit: Refit, cancel: boolean) {
  if (cancel && refit.state === 'running' && refit.jobId) await stopRun(ctx, refit.jobId);
  const now = await collectRefit(ctx, tenant, refit);
  // A refit run that failed with code timeout ran out of the time left of maxRuntimeSeconds.
  const timedOut = now.state === 'failed' && (now.error ?? '').startsWith('timeout:');
  const stopReason: TuningStopReason = cancel ? 'cancelled' : timedOut ? 'maxRuntime' : 'completed';
  const next = { ...t, refit: now, cancelRequested: cancel, stopReason, refitSkipped: null };
  return now.state === 'running' ? next : finishSearch(ctx, tenant, next, cancel);
}

/** One step of a search (see the file's header): the stage it is in moves on; the record is stored. */
async function stepSearch(ctx: SearchContext, id: string): Promise<void> {
  const stored = await ctx.tuning.read(id);
  if (!stored || isTerminal(stored.job)) return;
  const { tenant } = stored;
  const cancel = await ctx.tuning.cancelRequested(id);
  const t: TuningJob = { ...stored.job, status: 'running' };
  const next = t.refit
    ? await refitStep(ctx, tenant, t, t.refit, cancel)
    : await trialsStep(ctx, tenant, { ...t, stage: 'trials' }, cancel);
  await ctx.tuning.put(tenant, { ...next, leaderboard: rankTrials(next.leaderboard, next.request.metric) });
}

/** Moves searches on (see the file's header): safe to call any time, from any process. */
export function createTuningCoordinator(deps: TuningDeps) {
  const ctx: SearchContext = { ...deps, now: deps.now ?? (() => new Date()) };
  return {
    /** One step under the search's lock; a caller that finds it held leaves a note for the holder. */
    async advance(id: string): Promise<void> {
      if (!(await deps.tuning.lock(id, LOCK_TTL_MS))) {
        await deps.tuning.markDirty(id);
        return;
      }
      try {
        do await stepSearch(ctx, id);
        while (await deps.tuning.takeDirty(id));
      } finally {
        await deps.tuning.unlock(id);
      }
    },
    /** After any training job ends: advances its search if it was a trial run; true when it was. */
    async onJobEnded(jobId: string): Promise<boolean> {
      const tuningId = await deps.tuning.trialOf(jobId);
      if (tuningId) await this.advance(tuningId);
      return tuningId !== null;
    },
  };
}
export type TuningCoordinator = ReturnType<typeof createTuningCoordinator>;

export interface TuningService {
  submit(tenant: TenantId, request: TuningRequest): Promise<TuningJob>;
  get(tenant: TenantId, id: string): Promise<TuningJob>;
  list(tenant: TenantId, query: ListQuery): Promise<Page<TuningJob>>;
  cancel(tenant: TenantId, id: string): Promise<TuningJob>;
}

export function createTuningService(deps: TuningDeps & { coordinator: TuningCoordinator }): TuningService {
  const now = deps.now ?? (() => new Date());
  async function owned(tenant: TenantId, id: string) {
    const t = await deps.tuning.get(tenant, id);
    if (!t) throw new NotFoundError('tuning job', id);
    return t;
  }
  return {
    async submit(tenant, request) {
      const dataset = await datasetForSpec(deps.datasets, tenant, request.datasetId);
      validateTuningRequest(request, dataset, deps.limits);
      const t = newTuningJob(request, now().toISOString());
      await deps.tuning.put(tenant, t);
      await deps.tuning.setActive(t.id, true);
      await deps.coordinator.advance(t.id);
      return owned(tenant, t.id);
    },
    get: owned,
    list: (tenant, query) => deps.tuning.list(tenant, query),
    async cancel(tenant, id) {
      const t = await owned(tenant, id);
      if (isTerminal(t)) throw new ConflictError(`tuning job ${id} has already finished (${t.status})`);
      await deps.tuning.requestCancel(id);
      await deps.coordinator.advance(id);
      return owned(tenant, id);
    },
  };
}
