// Recipes: where the training fields a client leaves unset take their defaults. "quality" (the
// default) is a 5-fold cross-validated ensemble of networks with a piecewise-linear encoding of the
// numeric inputs, each kept at its epoch of best validation accuracy (or r²), chosen by measurement
// on public tables (README "Training defaults", `npm run bench:quality`); "fast" is one network
// with early stopping, the service's first default.
import { OPTIMIZER_DEFAULTS } from '../engine/index.js';
import type { TrainingSpec } from './schemas.js';
import { DEFAULT_LEARNING_RATE, TRAINING_DEFAULTS, defaultHiddenLayers } from './training-defaults.js';

type Resolved = TrainingSpec;
export type RecipeName = Resolved['recipe'];

/** What a recipe's data-dependent defaults look at. */
export interface RecipeContext {
  task: Resolved['task'];
  /** Rows in the dataset. */
  rows: number;
  /** Inputs of the encoded table (numeric columns, one-hot categories…). */
  inputSize: number;
}

/** The defaults a recipe gives, before the client's own values override them. */
export interface RecipeDefaults {
  layers: Resolved['model']['layers'];
  embedding: Resolved['model']['embedding'];
  training: Omit<Resolved['training'], 'loss' | 'seed' | 'maxRuntimeSeconds' | 'testSplit'>;
  preprocessing: Omit<Resolved['preprocessing'], 'unknownCategory'>;
}

/** The fast recipe's hidden layers (training-defaults.ts). */
export const fastHiddenLayers = defaultHiddenLayers;

/** One network, the table of training-defaults.ts: batch 32, Adam 1e-3, up to 500 epochs with patience 30. */
function fast(ctx: RecipeContext): RecipeDefaults {
  const D = TRAINING_DEFAULTS;
  return {
    layers: fastHiddenLayers(ctx.inputSize),
    embedding: false,
    training: {
      epochs: D.epochs,
      batchSize: D.batchSize,
      optimizer: { type: D.optimizer, learningRate: DEFAULT_LEARNING_RATE.adam, ...OPTIMIZER_DEFAULTS.adam },
      validationSplit: D.validationSplit,
      earlyStopping: { ...D.earlyStopping },
      crossValidation: false,
      ensemble: 1,
      bestEpoch: false,
      labelSmoothing: 0,
      learningRateSchedule: 'constant',
      warmupFraction: 0,
      regularizationSchedule: 'constant',
    },
    preprocessing: { scaling: D.scaling, missingIndicators: false, binaryAsOneInput: false },
  };
}

/**
 * The quality recipe's settings, in one place: what `npm run bench:quality` measured best among the
 * candidates tried (README "Training defaults").
 */
export const QUALITY = {
  /** Stratified folds of the non-test rows, one network each, predictions averaged. */
  folds: 5,
  /** Quantile bins of the piecewise-linear encoding of each numeric input. */
  bins: 8,
  /**
   * Tables of more encoded inputs than this train without the encoding: it multiplies the first
   * layer's inputs by up to bins + 1, which on wide tables (pixels, spectra) costs more than the
   * tables it was measured on (at most 60 inputs) justify.
   */
  maxEmbeddedInputs: 128,
  /**
   * Each network is kept at its epoch of best validation accuracy (r² for a regression), and its
   * early stopping watches the same metric: on the loss, runs stopped while the accuracy was still
   * rising (README "Training defaults": geometric mean of error ratios 0.994 → 0.970).
   */
  bestEpoch: 'metric',
} as const;

/**
 * The default: the fast recipe's network (same layers, Adam, batch and patience), with each
 * numeric input also encoded piecewise-linearly over 8 quantile bins of its network's training
 * rows (tables of at most 128 encoded inputs), trained as a 5-fold cross-validated ensemble (each
 * fold's network early-stopped on its own fold's accuracy or r² and kept at its best epoch on it,
 * every non-test row training four of the five). About 5–8× the fast recipe's time.
 * Measured against the old default and other candidates (RealMLP-style regularized networks on a
 * fixed budget, periodic embeddings, more bins, label smoothing): README "Training defaults".
 */
function quality(ctx: RecipeContext): RecipeDefaults {
  const base = fast(ctx);
  return {
    ...base,
    embedding:
      ctx.inputSize <= QUALITY.maxEmbeddedInputs ? { type: 'piecewiseLinear', bins: QUALITY.bins } : false,
    training: {
      ...base.training,
      validationSplit: 0,
      crossValidation: { folds: QUALITY.folds },
      bestEpoch: QUALITY.bestEpoch,
    },
  };
}

export const recipes: Record<RecipeName, (ctx: RecipeContext) => RecipeDefaults> = { quality, fast };
