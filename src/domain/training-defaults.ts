// The training defaults, in one table: the zod schemas fill them in, the job service resolves the
// data-dependent ones with the rules below, and tests/domain/training-defaults.test.ts checks that
// README.md's "Training defaults" table states these same values.
import type { InitializerName, OptimizerType } from '../engine/index.js';
import type { Scaling, UnknownCategoryPolicy } from '../data/index.js';

/** Every default that does not depend on the data. */
export const TRAINING_DEFAULTS = {
  epochs: 500,
  batchSize: 32,
  optimizer: 'adam' satisfies OptimizerType,
  validationSplit: 0.15,
  testSplit: 0.15,
  earlyStopping: { patience: 30, minDelta: 0, restoreBest: true },
  seed: 42,
  binaryOutput: 'softmax',
  scaling: 'standardize' satisfies Scaling,
  unknownCategory: 'missing' satisfies UnknownCategoryPolicy,
} as const;

/** Learning rates that suit each optimizer on standardized tabular data. */
export const DEFAULT_LEARNING_RATE: Record<OptimizerType, number> = {
  sgd: 0.01,
  momentum: 0.01,
  adagrad: 0.05,
  rmsprop: 0.001,
  adam: 0.001,
};

/** Hidden activations whose default initializer is He's (the rest get Glorot/Xavier's). */
const HE_ACTIVATIONS: ReadonlySet<string> = new Set(['relu', 'leakyRelu']);

/** The default initializer: `he` when every hidden layer is relu or leakyRelu, else `xavier`. */
export function defaultInitializer(activations: readonly string[]): InitializerName {
  return activations.length > 0 && activations.every((a) => HE_ACTIVATIONS.has(a)) ? 'he' : 'xavier';
}

const nextPow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

/**
 * Default hidden layers for an encoded input of `inputSize` columns: two ReLU layers,
 * clamp(nextPow2(4·inputs), 16, 128) units and half of that.
 */
export function defaultHiddenLayers(inputSize: number): { units: number; activation: 'relu' }[] {
  const first = clamp(nextPow2(4 * inputSize), 16, 128);
  return [
    { units: first, activation: 'relu' },
    { units: first / 2, activation: 'relu' },
  ];
}
