// The public surface of the engine: the rest of src/ imports from here only.
export type * from './types.js';
export { ACTIVATIONS, INITIALIZERS, LOSSES, OPTIMIZER_TYPES } from './types.js';
export { createRng, rngFromState, initializers, type Rng, type Initializer } from './random.js';
export { activations, type Activation } from './activations.js';
export {
  lossFunctions,
  fusedLosses,
  outputActivationFor,
  type LossFunction,
  type FusedLoss,
} from './losses.js';
export {
  optimizers,
  createOptimizer,
  OPTIMIZER_DEFAULTS,
  type Optimizer,
  type OptimizerState,
} from './optimizers.js';
export { Dense } from './layers.js';
export {
  PeriodicEmbedding,
  PiecewiseLinearEmbedding,
  piecewiseLinearBins,
  EMBEDDING_LR_FACTOR,
  type Embedding,
} from './embedding.js';
export { Sequential, ModelFormatError } from './model.js';
export {
  fit,
  fitEnsemble,
  TrainingDivergedError,
  TrainingAbortedError,
  type EnsembleFitOptions,
} from './train.js';
export { schedules, scheduleFactor } from './schedules.js';
export {
  evaluate,
  evaluatePredictor,
  metricsOfOutputs,
  classificationMetrics,
  regressionMetrics,
} from './metrics.js';
export { encodeTrainingState, decodeTrainingState, StateFormatError } from './state.js';
export { createParam, type Param } from './tensor.js';
export {
  getKernels,
  setKernels,
  jsKernels,
  availableKernels,
  selectKernels,
  setEngineThreads,
  engineInfo,
  describeEngine,
  type Kernels,
  type EngineInfo,
} from './kernels/index.js';
export { Ensemble, networkFromJSON, type Predictor, type SerializedEnsemble } from './ensemble.js';
