// The public types of the engine. src/engine/index.ts re-exports these with the implementations;
// the rest of src/ imports from index.ts only.
import type { CalibrationBin } from './ranking.js';

export type { CalibrationBin };
import type { Sequential } from './model.js';

/** Every activation of activations.ts, by name: the one list the API's schemas are built from. */
export const ACTIVATIONS = [
  'sigmoid',
  'tanh',
  'relu',
  'leakyRelu',
  'selu',
  'gelu',
  'mish',
  'linear',
  'softmax',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];
/** Schedules of a setting over a run (see schedules.ts). */
export type ScheduleName = 'constant' | 'cosine' | 'flatCosine' | 'cosLog4';
/** Every loss of losses.ts, by name. */
export const LOSSES = ['crossEntropy', 'binaryCrossEntropy', 'mse', 'mae'] as const;
export type LossName = (typeof LOSSES)[number];
/** Every initializer of random.ts: `he` and `xavier` are the uniform forms, `…Normal` the normal ones. */
export const INITIALIZERS = ['he', 'heNormal', 'xavier', 'xavierNormal', 'uniform', 'normal'] as const;
export type InitializerName = (typeof INITIALIZERS)[number];

interface OptimizerCommon {
  learningRate: number;
  /** L2 weight decay added to each weight's gradient (not to biases): grad += weightDecay * w. */
  weightDecay?: number;
  /** Clip the global gradient norm to at most this value before the update. */
  clipNorm?: number;
  /**
   * Decoupled weight decay (Loshchilov & Hutter 2019, AdamW), on weights only: before each update
   * w ← w·(1 − lr·decoupledWeightDecay), lr being the step's scheduled learning rate.
   */
  decoupledWeightDecay?: number;
}
export type OptimizerConfig =
  | ({ type: 'sgd' } & OptimizerCommon)
  | ({ type: 'momentum'; momentum?: number; nesterov?: boolean } & OptimizerCommon)
  | ({ type: 'adagrad'; epsilon?: number } & OptimizerCommon)
  | ({ type: 'rmsprop'; rho?: number; epsilon?: number } & OptimizerCommon)
  | ({ type: 'adam'; beta1?: number; beta2?: number; epsilon?: number } & OptimizerCommon);
export type OptimizerType = OptimizerConfig['type'];
/** Every optimizer of optimizers.ts, by name. */
export const OPTIMIZER_TYPES = ['sgd', 'momentum', 'adagrad', 'rmsprop', 'adam'] as const;
// The list and the config union name the same optimizers: each side must cover the other.
const optimizerTypesMatch: [OptimizerType, (typeof OPTIMIZER_TYPES)[number]] extends [
  (typeof OPTIMIZER_TYPES)[number],
  OptimizerType,
]
  ? true
  : never = true;
void optimizerTypesMatch;

export interface LayerSpec {
  units: number;
  activation: ActivationName;
  /**
   * Inverted dropout after this layer's activation while training: each output is zeroed with
   * this probability and the others scaled by 1/(1 − p); nothing is dropped at prediction. 0 or absent: none.
   */
  dropout?: number;
}

/**
 * Per-feature periodic embeddings in front of the first dense layer (see embedding.ts): each
 * listed input column x also enters as `size` values W₂·cos(2π·w₁·x + b₁) + b₂ with `frequencies`
 * learned frequencies w₁, initially N(0, sigma²).
 */
export interface PeriodicEmbeddingSpec {
  type: 'periodic';
  /** The 0-based input columns embedded, strictly ascending (the numeric ones). */
  features: number[];
  /** Frequencies per feature (RealMLP-TD: 16). */
  frequencies: number;
  /** Embedding outputs per feature (RealMLP-TD: 3, beside the raw value). */
  size: number;
  /** Standard deviation of the initial frequencies, in cycles per unit of the scaled input (RealMLP-TD: 0.1). */
  sigma: number;
}

/**
 * Piecewise-linear encoding (Gorishniy et al. 2022, arXiv 2203.05556 §3.2): input column x with
 * bin edges b₀ < b₁ < … < b_T also enters as T values clamp((x − b_{t−1})/(b_t − b_{t−1}), 0, 1),
 * so the next layer can give each bin its own slope. No trainable parameters; the edges are fixed
 * when the network is made (quantiles of the training rows, see piecewiseLinearBins).
 */
export interface PiecewiseLinearEmbeddingSpec {
  type: 'piecewiseLinear';
  /** The 0-based input columns embedded, strictly ascending. */
  features: number[];
  /** Per embedded column, its strictly ascending edges (at least two). */
  bins: number[][];
}

/** A per-feature numeric embedding in front of the first dense layer. */
export type EmbeddingSpec = PeriodicEmbeddingSpec | PiecewiseLinearEmbeddingSpec;

/** A sequential dense network: `layers` includes the output layer as its last entry. */
export interface ModelSpec {
  inputSize: number;
  /** Optional first stage: the first dense layer then sees inputSize + features·size inputs. */
  embedding?: EmbeddingSpec;
  layers: LayerSpec[];
  initializer: InitializerName;
}

/** Rows of features and targets, row-major. `y` is rows × targetSize (one-hot for crossEntropy). */
export interface Batchable {
  x: Float32Array;
  y: Float32Array;
  rows: number;
}

export type MetricsKind = 'classification' | 'regression';

/** One class's scores; support = rows whose true label is the class. */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** See classificationMetrics (src/engine/metrics.ts) for each definition. */
export interface ClassificationMetrics {
  accuracy: number;
  precisionMacro: number;
  recallMacro: number;
  f1Macro: number;
  logLoss: number;
  brierScore: number;
  rocAuc: number | null;
  prAuc: number | null;
  confusionMatrix: number[][];
  perClass: ClassScores[];
  calibration: CalibrationBin[];
}

/** Quantiles of the residuals (actual − predicted), numpy's linear interpolation. */
export interface ResidualQuantiles {
  q05: number;
  q25: number;
  q50: number;
  q75: number;
  q95: number;
}

/** See regressionMetrics (src/engine/metrics.ts) for each definition. */
export interface RegressionMetrics {
  mse: number;
  rmse: number;
  mae: number;
  r2: number;
  /** Mean of |actual − predicted| / max(|actual|, 2.2e-16), a fraction (0.1 = 10 %). */
  mape: number;
  residualQuantiles: ResidualQuantiles;
}

/** One entry of the training history; validation fields are present when a validation set was given. */
export interface EpochReport {
  epoch: number;
  loss: number;
  valLoss?: number;
  valAccuracy?: number;
  valR2?: number;
}

export interface EarlyStoppingOptions {
  /**
   * Epochs without an improvement of the validation loss (or training loss without validation)
   * before stopping; of the validation metric instead when bestEpoch monitors the metric.
   */
  patience: number;
  /** The smallest decrease that counts as an improvement. Default 0. */
  minDelta?: number;
  /** Restore the weights of the best epoch at the end. Default true. */
  restoreBest?: boolean;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerConfig;
  loss: LossName;
  seed: number;
  /** Shuffle the training rows before each epoch (seeded). Default true. */
  shuffle?: boolean;
  validation?: Batchable;
  /** Which validation metric to add to each epoch report (valAccuracy or valR2). */
  metrics?: MetricsKind;
  earlyStopping?: EarlyStoppingOptions;
  /**
   * Keep the weights of the best epoch on the validation set and restore them at the end: on the
   * loss, or on the task metric ('metric': accuracy for classification, r² — the same order as
   * RMSE — for regression). Ties go to the later epoch. Overrides earlyStopping.restoreBest. With
   * 'metric', early stopping watches the metric too (an improvement is a strictly higher value).
   */
  bestEpoch?: { monitor: 'loss' | 'metric' };
  /** Label smoothing for crossEntropy/binaryCrossEntropy: targets y·(1 − ε) + ε/K over K classes. Default 0. */
  labelSmoothing?: number;
  /** The learning rate's schedule over the run. Default 'constant'. */
  learningRateSchedule?: ScheduleName;
  /** A linear warm-up of the learning rate over this fraction of the run, on top of its schedule. Default 0. */
  warmupFraction?: number;
  /** The schedule of dropout rates and decoupled weight decay over the run. Default 'constant'. */
  regularizationSchedule?: ScheduleName;
  /**
   * Called after each epoch, awaited before the next one starts. `snapshot()` returns the full
   * training state at this epoch boundary (for checkpoints).
   */
  onEpoch?: (report: EpochReport, snapshot: () => TrainingState) => void | Promise<void>;
  /** Checked between batches; an aborted signal ends fit with a TrainingAbortedError. */
  signal?: AbortSignal;
  /** Continue a run from a state saved by onEpoch's snapshot; ends exactly as the uninterrupted run. */
  resume?: TrainingState;
}

export interface FitResult {
  history: EpochReport[];
  /** The epoch whose weights the model holds at the end (the best one when restoreBest). */
  bestEpoch: number;
  stoppedEarly: boolean;
}

/**
 * Everything needed to continue training bit for bit: weights, optimizer state, generator state,
 * epoch, history and early-stopping bookkeeping. Serialize with encodeTrainingState.
 */
export interface TrainingState extends MemberState {
  version: 1;
  epoch: number;
  history: EpochReport[];
  /** The second and later members of an ensemble (the first one's state is the top level). */
  members?: MemberState[];
}

/** One network's part of a TrainingState. */
export interface MemberState {
  model: SerializedModel;
  optimizer: unknown;
  rng: number[];
  /**
   * bestLoss and wait: early stopping's best monitored value and epochs without improvement;
   * bestEpoch, bestWeights and bestValue: the best epoch kept so far and its monitored value.
   */
  earlyStopping: {
    bestLoss: number;
    bestEpoch: number;
    wait: number;
    bestWeights: SerializedModel | null;
    bestValue?: number;
    /** The member stopped early (an ensemble goes on while other members train). */
    stopped?: boolean;
  };
}

/** One network of an ensemble trained by fitEnsemble: its own data, validation rows and seed. */
export interface EnsembleMember {
  model: Sequential;
  train: Batchable;
  validation?: Batchable;
  seed: number;
}

/** What fitEnsemble returns: the averaged history and each member's outcome, in member order. */
export interface EnsembleFitResult {
  history: EpochReport[];
  members: { bestEpoch: number; stoppedEarly: boolean; epochs: number }[];
}

/** The versioned, JSON-safe form of a model; weights are base64 of little-endian Float32. */
export interface SerializedModel {
  format: 'backprop.sequential';
  version: 1;
  spec: ModelSpec;
  params: string[];
}
