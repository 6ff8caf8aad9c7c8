// The training procedure, pure: a parsed table and a resolved spec → encoder, splits, model, fit,
// metrics and the artifact. No I/O; the worker's thread feeds it the table and persists the rest.
import {
  Encoder,
  EncoderError,
  fitEncoder,
  splitRows,
  targetStrata,
  type Encoded,
  type Table,
} from '../data/index.js';
import {
  Sequential,
  createRng,
  evaluate,
  fit,
  regressionMetrics,
  outputActivationFor,
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
const EVAL_CHUNK = 1024;

export interface TrainingHooks {
  onEpoch?: (report: EpochReport, snapshot: () => TrainingState) => void | Promise<void>;
  signal?: AbortSignal;
  resume?: TrainingState;
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

export interface PreparedTraining {
  encoder: Encoder;
  train: Encoded;
  validation: Encoded | null;
  test: Encoded | null;
  model: Sequential;
}

/** Splits (seeded, stratified by class), fits the encoder on the training split only, builds the network. */
export function prepareTraining(table: Table, spec: TrainingSpec): PreparedTraining {
  const { training } = spec;
  try {
    const strata =
      spec.task === 'classification' ? targetStrata(table, spec.target, 'classification') : undefined;
    const split = splitRows(table.rowCount, {
      validation: training.validationSplit,
      test: training.testSplit,
      seed: training.seed,
      strata,
    });
    const encoder = fitEncoder(
      table,
      {
        features: spec.features,
        target: spec.target,
        task: spec.task,
        scaling: spec.preprocessing.scaling,
        binaryOutput: spec.task === 'classification' && spec.model.binaryOutput === 'sigmoid',
        unknownCategory: spec.preprocessing.unknownCategory,
        cells: { missingValues: spec.csv?.missingValues ?? null, decimal: spec.csv?.decimal ?? '.' },
      },
      split.train,
    );
    const train = encoder.transform(table, split.train);
    if (train.rows === 0)
      throw new InvalidTrainingDataError(`no training rows have a value for the target "${spec.target}"`);
    const validation = split.validation.length > 0 ? encoder.transform(table, split.validation) : null;
    const test = split.test.length > 0 ? encoder.transform(table, split.test) : null;
    const model = Sequential.create(
      {
        inputSize: encoder.inputSize,
        layers: [
          ...spec.model.layers,
          { units: encoder.outputSize, activation: outputActivationFor(training.loss as LossName) },
        ],
        initializer: spec.model.initializer,
      },
      createRng(training.seed),
    );
    return {
      encoder,
      train,
      validation: validation && validation.rows > 0 ? validation : null,
      test: test && test.rows > 0 ? test : null,
      model,
    };
  } catch (err) {
    if (err instanceof EncoderError) throw new InvalidTrainingDataError(err.message);
    throw err;
  }
}

/** Trains the spec on the table. Throws the engine's TrainingDivergedError / TrainingAbortedError as they come. */
export async function runTraining(
  table: Table,
  spec: TrainingSpec,
  hooks: TrainingHooks = {},
): Promise<TrainingOutcome> {
  const prepared = prepareTraining(table, spec);
  const { encoder, train, validation, test, model } = prepared;
  const { training } = spec;
  const loss = training.loss as LossName;
  const kind = spec.task;
  const result = await fit(model, train, {
    epochs: training.epochs,
    batchSize: training.batchSize,
    optimizer: training.optimizer as OptimizerConfig,
    loss,
    seed: training.seed,
    validation: validation ?? undefined,
    metrics: kind,
    earlyStopping: training.earlyStopping === false ? undefined : training.earlyStopping,
    onEpoch: hooks.onEpoch,
    signal: hooks.signal,
    resume: hooks.resume,
  });
  const metricsOf = (data: Encoded | null): SplitMetrics =>
    data ? splitMetrics(model, encoder, data, loss, kind) : null;
  return {
    artifact: { network: model.toJSON(), encoder: encoder.toJSON() },
    metrics: { train: metricsOf(train), validation: metricsOf(validation), test: metricsOf(test) },
    baselines: test
      ? kind === 'classification'
        ? classificationBaselines(train, test, encoder.classes!.length, training.seed)
        : regressionBaselines(train, test, encoder, loss)
      : null,
    featureImportance: test ? permutationImportance(model, encoder, test, training.seed, hooks.signal) : null,
    classes: encoder.classes,
    features: encoder.features,
    parameterCount: model.paramCount(),
    epochsTrained: result.history.length,
    history: result.history,
  };
}

/** Classification metrics as the engine computes them; regression metrics in the target's own units. */
export function splitMetrics(
  model: Sequential,
  encoder: Encoder,
  data: Batchable,
  loss: LossName,
  kind: 'classification' | 'regression',
): SplitMetrics {
  const m = evaluate(model, data, { loss, kind });
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
  const pred = new Float32Array(data.rows);
  const truth = new Float32Array(data.rows);
  const inSize = model.inputSize;
  for (let r = 0; r < data.rows; r += EVAL_CHUNK) {
    const n = Math.min(EVAL_CHUNK, data.rows - r);
    const out = model.forward(data.x.subarray(r * inSize, (r + n) * inSize), n);
    for (let i = 0; i < n; i++) pred[r + i] = encoder.decodeValue(out[i]);
  }
  for (let i = 0; i < data.rows; i++) truth[i] = encoder.decodeValue(data.y[i]);
  return { loss: m.loss, ...regressionMetrics(pred, truth, 1) };
}
