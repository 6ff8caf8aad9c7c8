// Recipes: where the training fields a client leaves unset take their defaults. "quality" (the
// default) is a k-fold cross-validated ensemble of regularized networks, chosen by measurement on
// public tables (README "Training defaults", `npm run bench:quality`); "fast" is one network with
// early stopping, the service's first default.
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

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

/** The quality recipe's settings, in one place (the values `npm run bench:quality` measured). */
export const QUALITY = {
  folds: 5,
  units: 128,
  hiddenLayers: 2,
  dropout: 0.15,
  /** Optimizer steps each network takes, spread over the epochs (bounded below). */
  steps: 800,
  minEpochs: 20,
  maxEpochs: 200,
  learningRate: { classification: 0.003, regression: 0.003 },
  beta2: 0.95,
  decoupledWeightDecay: 0.02,
  labelSmoothing: 0.1,
} as const;

/** Batch size by table size: 32 up to 1,000 rows, 64 up to 4,000, 128 up to 16,000, then 256. */
export function qualityBatchSize(rows: number): number {
  return rows <= 1000 ? 32 : rows <= 4000 ? 64 : rows <= 16_000 ? 128 : 256;
}

/**
 * k-fold cross-validated networks of 2 × 128 units (SELU for classification, Mish for regression)
 * with dropout, decoupled weight decay and label smoothing, Adam β₂ 0.95 on a multi-cycle
 * learning-rate schedule, a fixed epoch budget and the best epoch on the validation metric, robust
 * scaling with a smooth clip. The ingredients and their published effects: LEARNING-QUALITY.md in
 * the project's notes; the measured table: README "Training defaults".
 */
function quality(ctx: RecipeContext): RecipeDefaults {
  const q = QUALITY;
  const batchSize = qualityBatchSize(ctx.rows);
  const trainRows = Math.max(1, Math.round(ctx.rows * 0.85 * (1 - 1 / q.folds)));
  const epochs = clamp(Math.round(q.steps / Math.ceil(trainRows / batchSize)), q.minEpochs, q.maxEpochs);
  const activation = ctx.task === 'classification' ? 'selu' : 'mish';
  return {
    layers: Array.from({ length: q.hiddenLayers }, () => ({
      units: q.units,
      activation,
      dropout: q.dropout,
    })),
    embedding: false,
    training: {
      epochs,
      batchSize,
      optimizer: {
        type: 'adam',
        learningRate: q.learningRate[ctx.task],
        beta1: 0.9,
        beta2: q.beta2,
        epsilon: 1e-8,
        decoupledWeightDecay: q.decoupledWeightDecay,
      },
      validationSplit: 0,
      earlyStopping: false,
      crossValidation: { folds: q.folds },
      ensemble: 1,
      bestEpoch: 'metric',
      labelSmoothing: ctx.task === 'classification' ? q.labelSmoothing : 0,
      learningRateSchedule: 'cosLog4',
      warmupFraction: 0,
      regularizationSchedule: 'flatCosine',
    },
    preprocessing: { scaling: 'robust', missingIndicators: true, binaryAsOneInput: true },
  };
}

export const recipes: Record<RecipeName, (ctx: RecipeContext) => RecipeDefaults> = { quality, fast };
