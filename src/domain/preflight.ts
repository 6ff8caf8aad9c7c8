// Pre-flight of a training spec (`?dryRun=true`): what a submit would train, how big it is, how long
// it should take and how much memory it needs, and what looks wrong, without queueing or storing.
// Training time comes from a short measured probe: the spec's network trained for a few batches on
// seeded synthetic rows of the encoded width (the speed of a dense network does not depend on the
// values it sees), scaled to the rows and epochs of the real run.
import { z } from 'zod';
import {
  Sequential,
  createRng,
  fit,
  outputActivationFor,
  type LossName,
  type OptimizerConfig,
} from '../engine/index.js';
import { EXCLUDING_WARNINGS, MAX_INTEGER_CODES, RARE_CLASS_ROWS, type DecimalMark } from '../data/index.js';
import { classCounts, classesAs, inputsOf, targetClassCount, valuesAs } from './column-roles.js';
import { encodedInputSize, parameterCount } from './jobs.js';
import {
  TrainingSpecSchema,
  type ColumnSummary,
  type ColumnType,
  type ColumnWarning,
  type Dataset,
  type TrainingSpec,
} from './schemas.js';

/** Rows a probe trains on at most, and the wall-clock time it aims to stay under. */
const PROBE_MAX_BATCHES = 16;
const PROBE_TARGET_MS = 150;
/** A forward pass of a validation row costs about a third of a training step (forward + backward). */
const FORWARD_SHARE = 1 / 3;
const FLOAT_BYTES = 4;

export const SplitSizesSchema = z.object({
  train: z.number().int(),
  validation: z.number().int(),
  test: z.number().int(),
});
export type SplitSizes = z.infer<typeof SplitSizesSchema>;

export const TrainingEstimateSchema = z.object({
  secondsPerEpoch: z
    .number()
    .describe('Seconds one epoch takes here (training rows plus the validation pass)'),
  maxTrainingSeconds: z
    .number()
    .describe('Seconds for every epoch of the spec; early stopping usually ends sooner'),
  peakMemoryBytes: z
    .number()
    .int()
    .describe('Bytes at the peak: encoded splits, the parsed table, weights with optimizer state, a batch'),
  probe: z
    .object({ rows: z.number().int(), batches: z.number().int(), seconds: z.number() })
    .describe('What was measured: synthetic rows of the encoded width trained with the spec'),
});

export const PreflightSchema = z
  .object({
    dryRun: z.literal(true),
    spec: TrainingSpecSchema,
    parameterCount: z
      .number()
      .int()
      .describe(
        'Parameters of the model it trains, as the model reports them: every network (folds × ensemble), each with its embedding, widened first layer and output layer; a piecewise-linear encoding counted at its full bins per numeric input (an input whose quantiles repeat gets fewer)',
      ),
    inputWidth: z.number().int().describe('Encoded input width: numeric features plus one-hot categories'),
    outputWidth: z.number().int(),
    rows: SplitSizesSchema,
    estimate: TrainingEstimateSchema,
    warnings: z.array(z.string()),
  })
  .meta({ id: 'TrainingPreflight' });
export type Preflight = z.infer<typeof PreflightSchema>;

/**
 * Output units: one for regression or a sigmoid output, else one per class as training counts them
 * (the target read with the job's column type; the same count resolveSpec checks the limits with).
 */
export function outputWidth(dataset: Dataset, spec: TrainingSpec): number {
  if (spec.task === 'regression' || spec.model.binaryOutput === 'sigmoid') return 1;
  const col = dataset.columns.find((c) => c.name === spec.target);
  if (!col) return 1;
  return targetClassCount(col, targetType(spec, col), dataset.format.decimal) ?? MAX_INTEGER_CODES;
}

/** The target's type in this job: the spec's columnTypes entry, else the dataset's. */
function targetType(spec: TrainingSpec, col: ColumnSummary): ColumnType {
  const types = spec.csv?.columnTypes;
  // Own keys only: a target named `constructor` or `toString` is not an inherited property.
  return types && Object.hasOwn(types, spec.target) ? types[spec.target] : col.type;
}

/** Split sizes as splitRows (src/data/split.ts) makes them, up to its per-class rounding. */
export function splitSizes(rowCount: number, spec: TrainingSpec): SplitSizes {
  const validation = Math.round(rowCount * spec.training.validationSplit);
  const test = Math.round(rowCount * spec.training.testSplit);
  return { train: Math.max(0, rowCount - validation - test), validation, test };
}

/**
 * Trains the spec's network for a few batches on seeded synthetic rows of the given width and
 * returns the measured seconds per training row. Blocks the caller for about PROBE_TARGET_MS
 * (longer only when a single batch of a very large network takes longer).
 */
export async function probeSecondsPerRow(
  spec: TrainingSpec,
  inputWidth: number,
  outWidth: number,
): Promise<{ secondsPerRow: number; rows: number; batches: number; seconds: number }> {
  const loss = spec.training.loss as LossName;
  const rng = createRng(spec.training.seed);
  const model = Sequential.create(
    {
      inputSize: inputWidth,
      layers: [...spec.model.layers, { units: outWidth, activation: outputActivationFor(loss) }],
      initializer: spec.model.initializer,
    },
    rng,
  );
  const run = async (batches: number) => {
    const rows = batches * spec.training.batchSize;
    const x = new Float32Array(rows * inputWidth);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const y = new Float32Array(rows * outWidth);
    for (let r = 0; r < rows; r++) y[r * outWidth + (outWidth > 1 ? r % outWidth : 0)] = 1;
    const started = performance.now();
    await fit(
      model,
      { x, y, rows },
      {
        epochs: 1,
        batchSize: spec.training.batchSize,
        optimizer: spec.training.optimizer as OptimizerConfig,
        loss,
        seed: spec.training.seed,
      },
    );
    return { rows, batches, seconds: (performance.now() - started) / 1000 };
  };
  // A first small run warms the kernels up; the second, sized from it, is the measurement.
  const warm = await run(1);
  const fitting = Math.floor(PROBE_TARGET_MS / 1000 / Math.max(warm.seconds, 1e-6));
  const measured = await run(Math.max(1, Math.min(PROBE_MAX_BATCHES, fitting)));
  return { ...measured, secondsPerRow: measured.seconds / measured.rows };
}

/**
 * Peak bytes of one training run, from its shapes: the encoded splits (float32), the parsed table
 * (about three times the CSV's size as JavaScript strings and numbers), weights with gradients and
 * two optimizer moments (4 × parameters × 4 bytes), and one batch's pre-activations, activations
 * and their gradients (3 × batch × units × 4 bytes).
 */
export function peakMemoryBytes(
  dataset: Dataset,
  spec: TrainingSpec,
  inputWidth: number,
  outWidth: number,
  params: number,
): number {
  const encoded = dataset.rowCount * (inputWidth + outWidth) * FLOAT_BYTES;
  const table = dataset.sizeBytes * 3;
  const weights = 4 * params * FLOAT_BYTES;
  const units = inputWidth + outWidth + spec.model.layers.reduce((s, l) => s + l.units, 0);
  const activations = 3 * spec.training.batchSize * units * FLOAT_BYTES;
  return encoded + table + weights + activations;
}

/** The classes of a classification target too rare to appear in every split (named when the summary lists them). */
function rareClassWarning(target: ColumnSummary, type: ColumnType, decimal: DecimalMark): string | null {
  const values = valuesAs(target, type, decimal);
  if (values) {
    const rare = [...values].filter(([, n]) => n < RARE_CLASS_ROWS).map(([c]) => c);
    if (rare.length === 0) return null;
    const shown =
      rare.length > 10 ? `${rare.slice(0, 10).join(', ')} and ${rare.length - 10} more` : rare.join(', ');
    return `classes with fewer than ${RARE_CLASS_ROWS} rows cannot appear in every split: ${shown}`;
  }
  const classes = classesAs(target, type, decimal);
  if (!classes || classes.rare === 0) return null;
  return `${classes.rare} of the ${classes.count} classes of "${target.name}" have fewer than ${RARE_CLASS_ROWS} rows and cannot appear in every split`;
}

/**
 * The listed features the dataset flags as ID-like, constant or very-high-cardinality (its
 * EXCLUDING_WARNINGS, which keep such columns out of the default features), and those that look
 * constant or nearly unique per row under the job's types.
 */
function featureWarnings(dataset: Dataset, features: string[]): string[] {
  const flagged = new Map<string, ColumnWarning>();
  for (const w of dataset.warnings) {
    if (w.column !== null && EXCLUDING_WARNINGS.has(w.code as never)) flagged.set(w.column, w);
  }
  const out: string[] = [];
  for (const name of features) {
    const col = dataset.columns.find((c) => c.name === name);
    if (!col) continue;
    const present = dataset.rowCount - col.missing;
    const code = flagged.get(name)?.code;
    const constant =
      code === 'constantColumn' ||
      present === 0 ||
      (classCounts(col)?.size ?? 2) <= 1 ||
      ('std' in col && col.std === 0);
    if (constant) out.push(`feature "${name}" has a single value (or none) and carries no information`);
    else if (code === 'idLike')
      out.push(
        `feature "${name}" looks like an ID or row number (unique per row): the model would learn the rows, not a pattern; leave it out of features`,
      );
    else if (
      code === 'highCardinality' ||
      (col.type === 'categorical' && Object.keys(col.categories).length > 0.5 * present && present > 20)
    ) {
      out.push(
        `feature "${name}" is nearly unique per row (an id?): its one-hot columns will not generalize`,
      );
    }
  }
  return out;
}

/** Rows whose target has a value that does not read as the type the job forces on it (0 when unknown). */
function unreadTargetRows(dataset: Dataset, spec: TrainingSpec, target: ColumnSummary): number {
  const type = targetType(spec, target);
  if (type === target.type) return 0;
  const values = valuesAs(target, type, dataset.format.decimal);
  if (!values) return 0;
  const read = [...values.values()].reduce((a, b) => a + b, 0);
  return Math.max(0, dataset.rowCount - target.missing - read);
}

/** What a client should know before training this spec on this dataset (the submit would run it as is). */
export function specWarnings(dataset: Dataset, spec: TrainingSpec, rows: SplitSizes): string[] {
  const warnings: string[] = [];
  const target = dataset.columns.find((c) => c.name === spec.target);
  if (target && spec.task === 'classification') {
    const rare = rareClassWarning(target, targetType(spec, target), dataset.format.decimal);
    if (rare) warnings.push(rare);
  }
  if (target && target.missing > 0) {
    warnings.push(`${target.missing} rows have no value for the target "${spec.target}" and are left out`);
  }
  const unread = target && unreadTargetRows(dataset, spec, target);
  if (unread) {
    warnings.push(
      `${unread} rows of the target "${spec.target}" do not read as ${targetType(spec, target)} (columnTypes) and are left out`,
    );
  }
  warnings.push(...featureWarnings(dataset, spec.features));
  if (spec.training.earlyStopping !== false && rows.validation === 0 && !spec.training.crossValidation) {
    warnings.push(
      'early stopping watches the validation loss, but validationSplit leaves no validation rows',
    );
  }
  if (rows.test === 0) warnings.push('testSplit leaves no test rows: the model will have no test metrics');
  return warnings;
}

/**
 * Rows trained (plus validation rows at their forward-only share) per epoch over all the job's
 * networks: with k folds each of k·ensemble networks trains on (k − 1)/k of the non-test rows and
 * validates on the rest.
 */
function rowsPerEpoch(spec: TrainingSpec, rows: { train: number; validation: number }): number {
  const cv = spec.training.crossValidation;
  const perNetwork = cv
    ? (rows.train * (cv.folds - 1)) / cv.folds + (FORWARD_SHARE * rows.train) / cv.folds
    : rows.train + FORWARD_SHARE * rows.validation;
  return perNetwork * (cv ? cv.folds : 1) * spec.training.ensemble;
}

/**
 * Inputs an embedding encodes (the encoder's continuousInputs): one per numeric feature, each
 * calendar part of a datetime one, under the job's column types.
 */
function continuousInputCount(dataset: Dataset, spec: TrainingSpec): number {
  const types = spec.csv?.columnTypes ?? {};
  let n = 0;
  for (const name of spec.features) {
    const col = dataset.columns.find((c) => c.name === name);
    if (!col) continue;
    const type = Object.hasOwn(types, name) ? types[name] : col.type;
    if (type === 'numeric') n += 1;
    else if (type === 'datetime') n += inputsOf(col, type);
  }
  return n;
}

/**
 * One network of the spec as training builds it (src/domain/training.ts createNetwork): its first
 * dense layer's input width (the encoded inputs plus what the embedding appends: `bins` values per
 * continuous input for the piecewise-linear encoding, `size` for the periodic one) and its
 * parameters (the periodic embedding's F·K frequencies, F·K phases, F·S·K weights and F·S biases
 * (src/engine/embedding.ts), then Σ (fanIn + 1)·units over the dense layers). The piecewise-linear
 * count is the most an input gets: training keeps only distinct quantile edges.
 */
export function networkSize(
  dataset: Dataset,
  spec: TrainingSpec,
  inputWidth: number,
  outWidth: number,
): { inputWidth: number; parameters: number } {
  const e = spec.model.embedding;
  const f = e ? continuousInputCount(dataset, spec) : 0;
  const appended = !e || f === 0 ? 0 : e.type === 'piecewiseLinear' ? f * e.bins : f * e.size;
  const own = e && e.type === 'periodic' ? f * e.frequencies * (2 + e.size) + f * e.size : 0;
  const width = inputWidth + appended;
  return {
    inputWidth: width,
    parameters: own + parameterCount(width, [...spec.model.layers.map((l) => l.units), outWidth]),
  };
}

/** Networks a job trains: one per fold (or one), times the ensemble. */
const networkCount = (spec: TrainingSpec) =>
  (spec.training.crossValidation ? spec.training.crossValidation.folds : 1) * spec.training.ensemble;

/**
 * Parameters of all the job's networks, `perNetwork` each (networkSize); with the embedding's
 * `members: "alternate"` the networks at odd 0-based indices (training.ts embeddingOf) have none.
 */
function totalParameters(
  dataset: Dataset,
  spec: TrainingSpec,
  inputWidth: number,
  outWidth: number,
  perNetwork: number,
): number {
  const n = networkCount(spec);
  const e = spec.model.embedding;
  if (!e || e.members !== 'alternate') return perNetwork * n;
  const plainSpec: TrainingSpec = { ...spec, model: { ...spec.model, embedding: false } };
  const plain = networkSize(dataset, plainSpec, inputWidth, outWidth).parameters;
  const embedded = Math.ceil(n / 2);
  return perNetwork * embedded + plain * (n - embedded);
}

/** The full pre-flight report of a resolved spec; nothing is stored or queued. */
export async function preflight(dataset: Dataset, spec: TrainingSpec): Promise<Preflight> {
  // The spec's preprocessing, and a category's missing slot only where cells are missing, as the
  // encoder fits them (src/data/encoder.ts fitCategorical).
  const inputWidth = encodedInputSize(
    dataset,
    spec.features,
    new Map(Object.entries(spec.csv?.columnTypes ?? {})),
    {
      ...spec.preprocessing,
      slotOnlyWhenMissing: true,
    },
  );
  const outWidth = outputWidth(dataset, spec);
  const network = networkSize(dataset, spec, inputWidth, outWidth);
  const rows = splitSizes(dataset.rowCount, spec);
  const probe = await probeSecondsPerRow(spec, network.inputWidth, outWidth);
  const secondsPerEpoch = probe.secondsPerRow * rowsPerEpoch(spec, rows);
  const maxTrainingSeconds = secondsPerEpoch * spec.training.epochs;
  const warnings = specWarnings(dataset, spec, rows);
  if (maxTrainingSeconds > spec.training.maxRuntimeSeconds) {
    warnings.push(
      `all ${spec.training.epochs} epochs would take about ${Math.round(maxTrainingSeconds)} s, beyond maxRuntimeSeconds (${spec.training.maxRuntimeSeconds} s): the job fails with "timeout" unless early stopping ends it sooner`,
    );
  }
  return {
    dryRun: true,
    spec,
    parameterCount: totalParameters(dataset, spec, inputWidth, outWidth, network.parameters),
    inputWidth,
    outputWidth: outWidth,
    rows,
    estimate: {
      secondsPerEpoch,
      maxTrainingSeconds,
      peakMemoryBytes: peakMemoryBytes(dataset, spec, inputWidth, outWidth, network.parameters),
      probe: { rows: probe.rows, batches: probe.batches, seconds: probe.seconds },
    },
    warnings,
  };
}
