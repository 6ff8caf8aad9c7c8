// The training procedure, pure: a parsed table and a resolved spec → encoder, splits, model, fit,
// metrics and the artifact. No I/O; the worker's thread feeds it the table and persists the rest.
import {
  Encoder,
  EncoderError,
  fitEncoder,
  kFolds,
  splitRows,
  targetStrata,
  type Encoded,
  type EncoderOptions,
  type Table,
} from '../data/index.js';
import {
  Ensemble,
  Sequential,
  createRng,
  fitEnsemble,
  lossFunctions,
  metricsOfOutputs,
  regressionMetrics,
  outputActivationFor,
  piecewiseLinearBins,
  type EmbeddingSpec,
  type Batchable,
  type EpochReport,
  type LossName,
  type OptimizerConfig,
  type TrainingState,
} from '../engine/index.js';
import { classificationBaselines, permutationImportance, regressionBaselines } from './model-insight.js';
import type { ModelArtifact } from './ports.js';
import type { Model, TrainingSpec } from './schemas.js';

/** The data cannot train this spec (no rows left, a column of the wrong type): no retry helps. */
export class InvalidTrainingDataError extends Error {
  override name = 'InvalidTrainingDataError';
}

type SplitMetrics = Model['metrics']['test'];

export interface TrainingHooks {
  onEpoch?: (report: EpochReport, snapshot: () => TrainingState) => void | Promise<void>;
  signal?: AbortSignal;
  resume?: TrainingState;
  /**
   * False: the test split stays unscored (metrics.test, baselines and featureImportance null), as
   * for a search's trial runs: only the search's result is scored on the rows no trial saw.
   */
  scoreTest?: boolean;
}

export interface TrainingOutcome {
  artifact: ModelArtifact;
  metrics: Model['metrics'];
  /** Test metrics of the no-feature baselines; null without a test split. */
  baselines: Model['baselines'];
  /** Permutation importance on the test split; null without one. */
  featureImportance: Model['featureImportance'];
  classes: string[] | null;
  features: Model['features'];
  parameterCount: number;
  /** Epochs run in total (early stopping may end before spec.training.epochs). */
  epochsTrained: number;
  history: EpochReport[];
}

/** One network to train: its rows, its validation rows and seed; `fold` is its fold (0 without CV). */
interface PreparedMember {
  model: Sequential;
  train: Encoded;
  validation: Encoded | undefined;
  seed: number;
  fold: number;
}

/** Everything prepareData reads from the spec: equal settings on the same table give equal data. */
export interface DataSettings {
  encoder: EncoderOptions;
  task: TrainingSpec['task'];
  target: string;
  validationSplit: number;
  testSplit: number;
  seed: number;
  /** Folds of cross-validation, or null without it. */
  folds: number | null;
}

/** The part of a spec that decides the split and the encoding (a cache key for prepareData's result). */
export function dataSettings(spec: TrainingSpec): DataSettings {
  const { training } = spec;
  return {
    encoder: encoderOptions(spec),
    task: spec.task,
    target: spec.target,
    validationSplit: training.validationSplit,
    testSplit: training.testSplit,
    seed: training.seed,
    folds: training.crossValidation ? training.crossValidation.folds : null,
  };
}

/** The rows one group of networks trains and validates on; `fold` is its fold (0 without CV). */
interface RowPlan {
  train: Encoded;
  validation: Encoded | undefined;
  fold: number;
}

/**
 * A table split and encoded for training: read-only once made (training copies its batches), so a
 * worker may keep it for the next job with the same dataset and DataSettings.
 */
export interface PreparedData {
  encoder: Encoder;
  /** The rows every network may train on (the non-test rows with cross-validation). */
  train: Encoded;
  /** The validation split without cross-validation; null with it (each fold validates its networks). */
  validation: Encoded | null;
  test: Encoded | null;
  /** One plan per fold with cross-validation, else the one training split. */
  plans: RowPlan[];
  /** Cross-validation: each fold's rows, which its networks never train on. */
  folds: Encoded[] | null;
}

export interface PreparedTraining extends PreparedData {
  members: PreparedMember[];
}

/**
 * Splits (seeded, stratified by class), fits the encoder on the training rows only and encodes
 * every split; with cross-validation, the non-test rows in `folds` folds.
 * Throws InvalidTrainingDataError when the data cannot train (no rows, a column the encoder refuses).
 */
export function prepareData(table: Table, settings: DataSettings): PreparedData {
  try {
    const strata =
      settings.task === 'classification' ? targetStrata(table, settings.target, 'classification') : undefined;
    const cv = settings.folds;
    const split = splitRows(table.rowCount, {
      validation: cv ? 0 : settings.validationSplit,
      test: settings.testSplit,
      seed: settings.seed,
      strata,
    });
    const encoder = fitEncoder(table, settings.encoder, split.train);
    const train = encoder.transform(table, split.train);
    if (train.rows === 0)
      throw new InvalidTrainingDataError(`no training rows have a value for the target "${settings.target}"`);
    const nonEmpty = (e: Encoded | null) => (e && e.rows > 0 ? e : null);
    const validation = nonEmpty(
      split.validation.length > 0 ? encoder.transform(table, split.validation) : null,
    );
    const test = nonEmpty(split.test.length > 0 ? encoder.transform(table, split.test) : null);
    // Rows per network: each fold against the others, or the one training split.
    const foldRows = cv ? foldsOf(train.kept, cv, settings.seed, strata) : null;
    const plans: RowPlan[] = foldRows
      ? foldRows.map((rows, f) => ({
          train: encoder.transform(table, without(train.kept, rows)),
          validation: encoder.transform(table, rows),
          fold: f,
        }))
      : [{ train, validation: validation ?? undefined, fold: 0 }];
    return {
      encoder,
      train,
      validation,
      test,
      plans,
      folds: foldRows ? plans.map((p) => p.validation as Encoded) : null,
    };
  } catch (err) {
    if (err instanceof EncoderError) throw new InvalidTrainingDataError(err.message);
    throw err;
  }
}

/**
 * The networks to train on prepared data: one per plan (fold) times `ensemble` seeds; network i
 * gets seed training.seed + i.
 */
export function withMembers(data: PreparedData, spec: TrainingSpec): PreparedTraining {
  const members: PreparedMember[] = [];
  for (const plan of data.plans) {
    for (let e = 0; e < spec.training.ensemble; e++) {
      const seed = spec.training.seed + members.length;
      const model = createNetwork(spec, data.encoder, plan.train, seed, members.length);
      members.push({ ...plan, seed, model });
    }
  }
  return { ...data, members };
}

/** prepareData and withMembers in one: the split, the encoding and fresh networks. */
export function prepareTraining(table: Table, spec: TrainingSpec): PreparedTraining {
  return withMembers(prepareData(table, dataSettings(spec)), spec);
}

function encoderOptions(spec: TrainingSpec): EncoderOptions {
  return {
    features: spec.features,
    target: spec.target,
    task: spec.task,
    scaling: spec.preprocessing.scaling,
    binaryOutput: spec.task === 'classification' && spec.model.binaryOutput === 'sigmoid',
    unknownCategory: spec.preprocessing.unknownCategory,
    missingIndicators: spec.preprocessing.missingIndicators,
    binaryAsOneInput: spec.preprocessing.binaryAsOneInput,
    cells: { missingValues: spec.csv?.missingValues ?? null, decimal: spec.csv?.decimal ?? '.' },
  };
}

/** Network `index` (0-based, in training order) of the spec, initialized from `seed`. */
function createNetwork(
  spec: TrainingSpec,
  encoder: Encoder,
  train: Encoded,
  seed: number,
  index: number,
): Sequential {
  return Sequential.create(
    {
      inputSize: encoder.inputSize,
      ...embeddingOf(spec, encoder, train, index),
      layers: [
        ...spec.model.layers,
        { units: encoder.outputSize, activation: outputActivationFor(spec.training.loss as LossName) },
      ],
      initializer: spec.model.initializer,
    },
    createRng(seed),
  );
}

/**
 * Network `index`'s embedding of the numeric inputs, if the spec asks for one, gives it to this
 * network (`members: "alternate"`: the even indices only) and the table has any; piecewise-linear
 * bins are quantiles of this network's own training rows.
 */
function embeddingOf(
  spec: TrainingSpec,
  encoder: Encoder,
  train: Encoded,
  index: number,
): { embedding?: EmbeddingSpec } {
  const e = spec.model.embedding;
  const features = e && !(e.members === 'alternate' && index % 2 === 1) ? encoder.continuousInputs() : [];
  if (!e || features.length === 0) return {};
  if (e.type === 'periodic') {
    const { frequencies, size, sigma } = e;
    return { embedding: { type: 'periodic', frequencies, size, sigma, features } };
  }
  const bins = piecewiseLinearBins(train.x, train.rows, encoder.inputSize, features, e.bins);
  return { embedding: { type: 'piecewiseLinear', features, bins } };
}

/** The k folds of the training rows (fewer when there are fewer rows than folds). */
function foldsOf(rows: Int32Array, k: number, seed: number, strata: Int32Array | undefined): Int32Array[] {
  if (rows.length < 2)
    throw new InvalidTrainingDataError(
      `cross-validation needs at least 2 training rows, there are ${rows.length}`,
    );
  return kFolds(rows, Math.min(k, rows.length), seed, strata);
}

/** The rows of `all` that are not in `fold` (both ascending). */
function without(all: Int32Array, fold: Int32Array): Int32Array {
  const out = new Int32Array(all.length - fold.length);
  let j = 0;
  let o = 0;
  for (const r of all) {
    while (j < fold.length && fold[j] < r) j++;
    if (j < fold.length && fold[j] === r) continue;
    out[o++] = r;
  }
  return out.subarray(0, o);
}

/** Trains the spec on the table. Throws the engine's TrainingDivergedError / TrainingAbortedError as they come. */
export function runTraining(
  table: Table,
  spec: TrainingSpec,
  hooks: TrainingHooks = {},
): Promise<TrainingOutcome> {
  return trainPrepared(prepareData(table, dataSettings(spec)), spec, hooks);
}

/**
 * Trains the spec on data prepared with dataSettings(spec) (perhaps kept from an earlier job):
 * fresh networks, then fit, metrics, baselines and feature importance (those two and the test
 * metrics only when hooks.scoreTest is not false). The data is only read.
 */
export async function trainPrepared(
  data: PreparedData,
  spec: TrainingSpec,
  hooks: TrainingHooks = {},
): Promise<TrainingOutcome> {
  const prepared = withMembers(data, spec);
  const { encoder, train, validation, members } = prepared;
  const test = hooks.scoreTest === false ? null : prepared.test;
  const { training } = spec;
  const loss = training.loss as LossName;
  const kind = spec.task;
  const result = await fitEnsemble(members, {
    epochs: training.epochs,
    batchSize: training.batchSize,
    optimizer: training.optimizer as OptimizerConfig,
    loss,
    metrics: kind,
    earlyStopping: training.earlyStopping === false ? undefined : training.earlyStopping,
    bestEpoch: training.bestEpoch === false ? undefined : { monitor: training.bestEpoch },
    labelSmoothing: training.labelSmoothing,
    learningRateSchedule: training.learningRateSchedule,
    warmupFraction: training.warmupFraction,
    regularizationSchedule: training.regularizationSchedule,
    onEpoch: hooks.onEpoch,
    signal: hooks.signal,
    resume: hooks.resume,
  });
  const models = members.map((m) => m.model);
  const predictor: Sequential | Ensemble = models.length === 1 ? models[0] : new Ensemble(models);
  const metricsOf = (data: Encoded | null): SplitMetrics =>
    data ? splitMetrics(predictor.predict(data.x, data.rows), encoder, data, loss, kind) : null;
  const cv = prepared.folds ? foldMetrics(prepared, result.members, encoder, loss, kind) : null;
  return {
    artifact: { network: predictor.toJSON(), encoder: encoder.toJSON() },
    metrics: {
      train: metricsOf(train),
      validation: cv ? cv.pooled : metricsOf(validation),
      test: metricsOf(test),
      ...(cv ? { folds: cv.folds, foldMean: cv.mean } : {}),
    },
    baselines: test
      ? kind === 'classification'
        ? classificationBaselines(train, test, encoder.classes!.length, training.seed)
        : regressionBaselines(train, test, encoder, loss)
      : null,
    featureImportance: test
      ? permutationImportance(predictor, encoder, test, training.seed, hooks.signal)
      : null,
    classes: encoder.classes,
    features: encoder.features,
    parameterCount: models.reduce((n, m) => n + m.paramCount(), 0),
    epochsTrained: result.history.length,
    history: result.history,
  };
}

type FoldEntry = NonNullable<Model['metrics']['folds']>[number];

/**
 * Each fold scored by its own networks (which never trained on it), the folds pooled into one
 * out-of-fold validation score, and the mean over folds of every numeric metric.
 */
function foldMetrics(
  prepared: PreparedTraining,
  outcomes: { bestEpoch: number }[],
  encoder: Encoder,
  loss: LossName,
  kind: 'classification' | 'regression',
): { folds: FoldEntry[]; pooled: SplitMetrics; mean: Record<string, number> } {
  const folds = prepared.folds ?? [];
  const outSize = encoder.outputSize;
  const inSize = encoder.inputSize;
  const total = folds.reduce((n, f) => n + f.rows, 0);
  const pooled = { x: new Float32Array(total * inSize), y: new Float32Array(total * outSize), rows: total };
  const pooledPred = new Float32Array(total * outSize);
  const entries: FoldEntry[] = [];
  let at = 0;
  folds.forEach((data, f) => {
    const own = prepared.members.flatMap((m, i) => (m.fold === f ? [{ model: m.model, i }] : []));
    const net = own.length === 1 ? own[0].model : new Ensemble(own.map((o) => o.model));
    const pred = net.predict(data.x, data.rows);
    pooled.x.set(data.x, at * inSize);
    pooled.y.set(data.y, at * outSize);
    pooledPred.set(pred, at * outSize);
    at += data.rows;
    const bestEpochs = own.map((o) => outcomes[o.i].bestEpoch);
    entries.push({
      fold: f,
      rows: data.rows,
      bestEpochs,
      metrics: splitMetrics(pred, encoder, data, loss, kind),
    });
  });
  const mean: Record<string, number> = {};
  for (const e of entries) {
    for (const [key, v] of Object.entries(e.metrics ?? {}))
      if (typeof v === 'number') mean[key] = (mean[key] ?? 0) + v / entries.length;
  }
  return { folds: entries, pooled: splitMetrics(pooledPred, encoder, pooled, loss, kind), mean };
}

/**
 * Metrics of a predictor's outputs on `data`: classification metrics as the engine computes them;
 * regression metrics in the target's own units.
 */
export function splitMetrics(
  pred: Float32Array,
  encoder: Encoder,
  data: Batchable,
  loss: LossName,
  kind: 'classification' | 'regression',
): SplitMetrics {
  const outSize = encoder.outputSize;
  const lossValue = data.rows > 0 ? lossFunctions[loss].value(pred, data.y, data.rows, outSize) : 0;
  const m = metricsOfOutputs(pred, lossValue, outSize, data, kind);
  if ('accuracy' in m) {
    const classes = encoder.classes ?? [];
    const { perClass, ...rest } = m;
    return {
      ...rest,
      classes,
      perClass: perClass.map((c, k) => ({ class: classes[k] ?? String(k), ...c })),
    };
  }
  // The network predicts the standardized target; decode both sides before comparing.
  const decoded = new Float32Array(data.rows);
  const truth = new Float32Array(data.rows);
  for (let i = 0; i < data.rows; i++) {
    decoded[i] = encoder.decodeValue(pred[i]);
    truth[i] = encoder.decodeValue(data.y[i]);
  }
  return { loss: m.loss, ...regressionMetrics(decoded, truth, 1) };
}
