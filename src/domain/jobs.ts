// Training jobs: resolve a submitted spec against its dataset, check the limits, record, enqueue;
// read, list, cancel and stream a job's events. The worker side lives in src/worker.
import { MAX_COUNTED_VALUES, MAX_INTEGER_CODES } from '../data/index.js';
import {
  ConflictError,
  DependencyUnavailableError,
  NotFoundError,
  TooManyRequestsError,
  UnavailableError,
  UnprocessableError,
} from './errors.js';
import {
  checkForcedTypes,
  chooseTask,
  columnTypesFor,
  defaultFeatures,
  imbalanceWarning,
  inputsOf,
  targetClassCount,
} from './column-roles.js';
import { datasetWithDefaults } from './datasets.js';
import { newId } from './ids.js';
import type { Limits } from './limits.js';
import type { DatasetStore, JobEventBus, JobQueue, JobStore, TenantId } from './ports.js';
import { isTerminal, newTrainingJob, requestCancel } from './lifecycle.js';
import { defaultInitializer, TRAINING_DEFAULTS } from './training-defaults.js';
import { recipes } from './recipes.js';
import type { ColumnType, Dataset, Job, TrainingSpec, TrainingSpecParsed } from './schemas.js';
import type { JobEvent, JobService } from './services.js';
import type { WebhookEmitter } from './webhooks.js';

/** The limits a training spec is held to (src/domain/limits.ts). */
export type JobLimits = Pick<
  Limits,
  | 'MAX_EPOCHS'
  | 'MAX_LAYERS'
  | 'MAX_UNITS'
  | 'MAX_PARAMETERS'
  | 'MAX_RUNTIME_SECONDS'
  | 'MAX_ACTIVE_JOBS_PER_TENANT'
>;

export interface JobServiceDeps {
  datasets: Pick<DatasetStore, 'get'>;
  jobs: JobStore;
  queue: JobQueue;
  events: JobEventBus;
  limits: JobLimits;
  now?: () => Date;
  logger?: { warn(obj: object, msg: string): void };
  /** Tells the tenant's webhooks about a job that ended here (a queued job cancelled). */
  emit?: WebhookEmitter;
}

/**
 * Inputs to the network: 1 per numeric feature (2 with a missing-indicator when it has missing
 * cells) or boolean one, 4-5 calendar features per datetime one, categories + 1 (missing/unseen)
 * per categorical one (1 for two categories and no missing cell when binaryAsOneInput; no
 * missing slot when `slotOnlyWhenMissing` and the column has no missing cell, as the encoder fits
 * it); `types` are the job's column types. An upper bound of the encoder's width: the dataset summary counts
 * every row, the encoder only the training rows.
 */
export function encodedInputSize(
  dataset: Dataset,
  features: string[],
  types?: Map<string, ColumnType>,
  options: { missingIndicators?: boolean; binaryAsOneInput?: boolean; slotOnlyWhenMissing?: boolean } = {},
): number {
  let size = 0;
  for (const name of features) {
    const col = dataset.columns.find((c) => c.name === name);
    if (!col) continue;
    const type = types?.get(name) ?? col.type;
    if (type === 'numeric' && col.type === 'numeric') {
      size += options.missingIndicators && col.missing > 0 ? 2 : 1;
    } else if (type === 'categorical' && col.type === 'categorical') {
      const k = Object.keys(col.categories).length;
      const slot = options.slotOnlyWhenMissing && col.missing === 0 ? 0 : 1;
      size += options.binaryAsOneInput && k === 2 && col.missing === 0 ? 1 : k + slot;
    } else size += inputsOf(col, type);
  }
  return size;
}

/** Weights and biases of a dense network: Σ (fanIn + 1) · units over the layers. */
export function parameterCount(inputSize: number, layerUnits: number[]): number {
  let total = 0;
  let fanIn = inputSize;
  for (const units of layerUnits) {
    total += (fanIn + 1) * units;
    fanIn = units;
  }
  return total;
}

/**
 * Fills in the defaults that depend on the data (task, loss, layers, initializer, runtime) and
 * checks the spec against the dataset and the limits. Throws UnprocessableError naming what is wrong.
 */
/**
 * The spec a job runs with: the request's choices checked against the dataset and the limits, the
 * rest filled from the recipe (src/domain/recipes.ts) and the training defaults. 422 naming the
 * field for every choice the dataset or the limits rule out.
 */
export function resolveSpec(input: TrainingSpecParsed, stored: Dataset, limits: JobLimits): TrainingSpec {
  const dataset = datasetWithDefaults(stored);
  const targetColumn = targetOf(dataset, input.target);
  const types = columnTypesFor(dataset, input.columnTypes);
  const defaults = defaultFeatures(dataset, input.target);
  const features = checkedFeatures(dataset, input, defaults);
  checkForcedTypes(dataset, input.columnTypes, input.target, features);
  const { taskDecision, classCount } = resolveTask(
    dataset,
    targetColumn,
    types.get(input.target) ?? targetColumn.type,
    input,
  );
  const task = taskDecision.value;
  const { loss, binaryOutput } = resolveOutput(task, classCount, input);

  const given = input.preprocessing;
  const baseInputs = encodedInputSize(dataset, features, types);
  const recipe = recipes[input.recipe]({ task, rows: dataset.rowCount, inputSize: baseInputs });
  const preprocessing = {
    scaling: given.scaling ?? recipe.preprocessing.scaling,
    unknownCategory: given.unknownCategory,
    missingIndicators: given.missingIndicators ?? recipe.preprocessing.missingIndicators,
    binaryAsOneInput: given.binaryAsOneInput ?? recipe.preprocessing.binaryAsOneInput,
  };
  checkScalable(dataset, features, preprocessing.scaling, 'preprocessing.scaling');
  const inputSize = encodedInputSize(dataset, features, types, preprocessing);
  const layers = input.model.layers ?? recipe.layers;
  const embedding = input.model.embedding ?? recipe.embedding;
  const initializer = input.model.initializer ?? defaultInitializer(layers.map((l) => l.activation));
  const training = trainingOver(input.training, recipe.training, task);
  const outputUnits =
    task === 'regression' || binaryOutput === 'sigmoid' ? 1 : (classCount ?? MAX_INTEGER_CODES);
  const t = input.training;
  const maxRuntimeSeconds = t.maxRuntimeSeconds ?? limits.MAX_RUNTIME_SECONDS;
  checkLimits(limits, {
    training,
    testSplit: t.testSplit,
    maxRuntimeSeconds,
    layers,
    inputSize,
    outputUnits,
  });

  return {
    datasetId: input.datasetId,
    target: input.target,
    features,
    task,
    csv: {
      ...dataset.format,
      columnTypes: { ...dataset.format.columnTypes, ...input.columnTypes },
    },
    recipe: input.recipe,
    model: { layers, initializer, binaryOutput, embedding },
    training: { ...training, loss, testSplit: t.testSplit, seed: t.seed, maxRuntimeSeconds },
    preprocessing,
    decisions: {
      task: taskDecision,
      excludedFeatures: input.features ? [] : defaults.excluded,
      warnings: imbalanceWarning(targetColumn, task),
    },
  };
}

/**
 * 422 naming `path` when `scaling` is minmax or standardize and a numeric feature's range, max − min
 * over the whole dataset, overflows float64 (values of both signs near ±1.8e308): minmax divides by
 * that range, so no finite scale exists, and standardize's x − mean overflows for the values of the
 * sign away from the mean (the job would diverge in its first epoch). The training rows' range is at
 * most the dataset's, so every other column scales. Robust scaling subtracts the median and clips.
 */
export function checkScalable(dataset: Dataset, features: string[], scaling: string, path: string): void {
  if (scaling !== 'minmax' && scaling !== 'standardize') return;
  for (const name of features) {
    const c = dataset.columns.find((col) => col.name === name);
    if (c?.type !== 'numeric' || c.min === null || c.max === null) continue;
    if (Number.isFinite(c.max - c.min)) continue;
    throw new UnprocessableError(
      `${scaling} scaling cannot scale column "${name}": its values span ${c.min} to ${c.max}, a range beyond the largest float64; use robust scaling, or leave "${name}" out of features`,
      [{ path, message: `${scaling} cannot scale "${name}" (range overflows float64)` }],
    );
  }
}

/** The target's column; 422 naming `target` when the dataset has none of that name. */
/**
 * The target's column summary. 422 naming `target` when it does not exist, or when it has no value
 * in any row of the dataset's summary (every cell missing, e.g. after a PATCH set a text column to
 * numeric): the summary then holds no values a job-level columnTypes could count classes from.
 */
function targetOf(dataset: Dataset, target: string) {
  const column = dataset.columns.find((c) => c.name === target);
  if (!column) {
    throw new UnprocessableError(`target column "${target}" does not exist in dataset ${dataset.id}`, [
      { path: 'target', message: `no column "${target}"` },
    ]);
  }
  if (column.missing >= dataset.rowCount) {
    throw new UnprocessableError(
      `the target "${target}" has no value in any of the ${dataset.rowCount} rows (read as ${column.type}): there is nothing to learn; set its type back with PATCH /v1/datasets/{id} columnTypes, or check missingValues`,
      [{ path: 'target', message: `"${target}" has no value in any row` }],
    );
  }
  return column;
}

/** The features asked for (or the default ones): existing columns, each once, not the target. */
function checkedFeatures(
  dataset: Dataset,
  input: TrainingSpecParsed,
  defaults: ReturnType<typeof defaultFeatures>,
): string[] {
  const columns = new Set(dataset.columns.map((c) => c.name));
  const features = input.features ?? defaults.features;
  const missing = features.filter((f) => !columns.has(f));
  if (missing.length > 0) {
    throw new UnprocessableError(
      `feature columns do not exist in dataset ${dataset.id}: ${missing.join(', ')}`,
      [{ path: 'features', message: `unknown columns: ${missing.join(', ')}` }],
    );
  }
  if (features.includes(input.target)) {
    throw new UnprocessableError(`the target "${input.target}" cannot also be a feature`, [
      { path: 'features', message: 'contains the target' },
    ]);
  }
  const duplicates = features.filter((f, i) => features.indexOf(f) !== i);
  if (duplicates.length > 0) {
    throw new UnprocessableError(
      `features are listed more than once: ${[...new Set(duplicates)].join(', ')}`,
      [{ path: 'features', message: `listed more than once: ${[...new Set(duplicates)].join(', ')}` }],
    );
  }
  if (features.length === 0) {
    const left = defaults.excluded.map((e) => `"${e.column}" (${e.code})`).join(', ');
    throw new UnprocessableError(
      `dataset ${dataset.id} has no column to use as a feature besides the target${left ? `; left out by default: ${left} (list them in features to use them)` : ''}`,
      [{ path: 'features', message: 'no feature column' }],
    );
  }
  return features;
}

/**
 * The task (asked for, or decided from the target) and, for a classification, its class count as
 * training will see it (targetClassCount); 422 when fewer than 2, or when a numeric target has more
 * distinct values than its summary counts (MAX_COUNTED_VALUES).
 */
function resolveTask(
  dataset: Dataset,
  targetColumn: ReturnType<typeof targetOf>,
  targetType: ColumnType,
  input: TrainingSpecParsed,
) {
  const taskDecision = chooseTask(targetColumn, targetType, input.task);
  const task = taskDecision.value;
  if (task === 'regression' && targetType !== 'numeric') {
    throw new UnprocessableError(`regression needs a numeric target; "${input.target}" is ${targetType}`, [
      { path: 'task', message: `regression on a ${targetType} target` },
    ]);
  }
  const classCount = targetClassCount(targetColumn, targetType, dataset.format.decimal);
  if (task === 'classification' && classCount === null && targetColumn.type === 'numeric') {
    throw new UnprocessableError(
      `the target "${input.target}" has more than ${MAX_COUNTED_VALUES} distinct values (or its dataset was summarized before they were counted: upload it again): too many to train as classes; use task "regression"`,
      [{ path: 'task', message: `more than ${MAX_COUNTED_VALUES} classes` }],
    );
  }
  if (task === 'classification' && classCount !== null && classCount < 2) {
    throw new UnprocessableError(
      `the target "${input.target}" has ${classCount} class(es); classification needs at least 2`,
    );
  }
  return { taskDecision, classCount };
}

/** Loss and output layer for the task: refuses a loss or output of the other task (422). */
function resolveOutput(
  task: 'classification' | 'regression',
  classCount: number | null,
  input: TrainingSpecParsed,
) {
  // Loss and output: classification → crossEntropy over a softmax, or binaryCrossEntropy on one sigmoid unit.
  let loss = input.training.loss;
  let binaryOutput = input.model.binaryOutput;
  if (task === 'classification') {
    if (loss === 'mse' || loss === 'mae') {
      throw new UnprocessableError(
        `loss "${loss}" is for regression; classification uses crossEntropy or binaryCrossEntropy`,
        [{ path: 'training.loss', message: 'not a classification loss' }],
      );
    }
    if (loss === 'binaryCrossEntropy' || binaryOutput === 'sigmoid') {
      if (classCount !== null && classCount !== 2) {
        throw new UnprocessableError(
          `binaryCrossEntropy and a sigmoid output need exactly 2 classes; "${input.target}" has ${classCount}`,
          [
            {
              path: loss === 'binaryCrossEntropy' ? 'training.loss' : 'model.binaryOutput',
              message: 'needs 2 classes',
            },
          ],
        );
      }
      if (loss === 'crossEntropy') {
        throw new UnprocessableError('a sigmoid output trains with binaryCrossEntropy, not crossEntropy', [
          { path: 'training.loss', message: 'use binaryCrossEntropy with binaryOutput "sigmoid"' },
        ]);
      }
      loss = 'binaryCrossEntropy';
      binaryOutput = 'sigmoid';
    }
    loss ??= 'crossEntropy';
  } else {
    if (loss === 'crossEntropy' || loss === 'binaryCrossEntropy') {
      throw new UnprocessableError(`loss "${loss}" is for classification; regression uses mse or mae`, [
        { path: 'training.loss', message: 'not a regression loss' },
      ]);
    }
    if (binaryOutput === 'sigmoid') {
      throw new UnprocessableError('binaryOutput "sigmoid" applies to two-class classification only', [
        { path: 'model.binaryOutput', message: 'not for regression' },
      ]);
    }
    loss ??= 'mse';
  }
  binaryOutput ??= TRAINING_DEFAULTS.binaryOutput;

  return { loss, binaryOutput };
}

/**
 * The client's training values over the recipe's; a client-chosen early stopping or validation
 * split turns the recipe's cross-validation off unless it is asked for too.
 */
function trainingOver(
  t: TrainingSpecParsed['training'],
  r: ReturnType<(typeof recipes)[keyof typeof recipes]>['training'],
  task: 'classification' | 'regression',
) {
  const ownSplit = t.validationSplit !== undefined || t.earlyStopping !== undefined;
  const crossValidation = t.crossValidation ?? (ownSplit ? false : r.crossValidation);
  return {
    epochs: t.epochs ?? r.epochs,
    batchSize: t.batchSize ?? r.batchSize,
    optimizer: t.optimizer ?? r.optimizer,
    validationSplit: crossValidation ? 0 : (t.validationSplit ?? (r.validationSplit || 0.15)),
    earlyStopping: t.earlyStopping ?? r.earlyStopping,
    crossValidation,
    ensemble: t.ensemble ?? r.ensemble,
    bestEpoch: t.bestEpoch ?? r.bestEpoch,
    labelSmoothing: task === 'classification' ? (t.labelSmoothing ?? r.labelSmoothing) : 0,
    learningRateSchedule: t.learningRateSchedule ?? r.learningRateSchedule,
    warmupFraction: t.warmupFraction ?? r.warmupFraction,
    regularizationSchedule: t.regularizationSchedule ?? r.regularizationSchedule,
  };
}

/** 422 naming the field when the spec goes past an operator limit or leaves too few training rows. */
function checkLimits(
  limits: JobLimits,
  spec: {
    training: ReturnType<typeof trainingOver>;
    testSplit: number;
    maxRuntimeSeconds: number;
    layers: { units: number }[];
    inputSize: number;
    outputUnits: number;
  },
): void {
  const { training, layers, inputSize, outputUnits, maxRuntimeSeconds } = spec;
  if (training.epochs > limits.MAX_EPOCHS) {
    throw new UnprocessableError(
      `training.epochs ${training.epochs} exceeds the limit of ${limits.MAX_EPOCHS}`,
      [{ path: 'training.epochs', message: `at most ${limits.MAX_EPOCHS}` }],
    );
  }
  if (layers.length > limits.MAX_LAYERS) {
    throw new UnprocessableError(
      `model.layers has ${layers.length} hidden layers; the limit is ${limits.MAX_LAYERS}`,
      [{ path: 'model.layers', message: `at most ${limits.MAX_LAYERS} layers` }],
    );
  }
  const wide = layers.findIndex((l) => l.units > limits.MAX_UNITS);
  if (wide >= 0) {
    throw new UnprocessableError(
      `model.layers[${wide}] has ${layers[wide].units} units; the limit is ${limits.MAX_UNITS} a layer`,
      [{ path: `model.layers.${wide}.units`, message: `at most ${limits.MAX_UNITS}` }],
    );
  }
  const params = parameterCount(inputSize, [...layers.map((l) => l.units), outputUnits]);
  if (params > limits.MAX_PARAMETERS) {
    throw new UnprocessableError(
      `the model would have ${params} parameters (${inputSize} inputs); the limit is ${limits.MAX_PARAMETERS}`,
      [{ path: 'model.layers', message: `${params} parameters, at most ${limits.MAX_PARAMETERS}` }],
    );
  }
  if (maxRuntimeSeconds > limits.MAX_RUNTIME_SECONDS) {
    throw new UnprocessableError(
      `training.maxRuntimeSeconds ${maxRuntimeSeconds} exceeds the limit of ${limits.MAX_RUNTIME_SECONDS}`,
      [{ path: 'training.maxRuntimeSeconds', message: `at most ${limits.MAX_RUNTIME_SECONDS}` }],
    );
  }
  if (training.validationSplit + spec.testSplit >= 0.9) {
    throw new UnprocessableError(
      'validationSplit + testSplit must leave at least 10% of the rows for training',
      [{ path: 'training', message: 'splits too large' }],
    );
  }
}

/** The `data` of a training-job webhook event: the job without its spec and epoch history. */
export function jobEventData(job: Job) {
  const { spec: _spec, history: _history, attempts: _attempts, ...summary } = job;
  return summary;
}

/**
 * A store the adapter found unreachable (DependencyUnavailableError) is a 503 naming job storage;
 * any other failure (a bug, a corrupt record) stays what it is and answers 500.
 */
async function unavailableOnFailure<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof DependencyUnavailableError) {
      throw new UnavailableError('job storage is unavailable; retry shortly');
    }
    throw err;
  }
}

/** The dataset a spec names, for this tenant; 422 naming `datasetId` when there is none, 503 when storage is down. */
export async function datasetForSpec(
  datasets: Pick<DatasetStore, 'get'>,
  tenant: TenantId,
  datasetId: string,
): Promise<Dataset> {
  const dataset = await unavailableOnFailure(() => datasets.get(tenant, datasetId));
  if (!dataset) {
    throw new UnprocessableError(`dataset ${datasetId} does not exist`, [
      { path: 'datasetId', message: 'no such dataset' },
    ]);
  }
  return datasetWithDefaults(dataset);
}

export function createJobService(deps: JobServiceDeps): JobService {
  const now = deps.now ?? (() => new Date());

  async function getOwned(tenant: TenantId, id: string): Promise<Job> {
    const job = await deps.jobs.get(tenant, id);
    if (!job) throw new NotFoundError('training job', id);
    return job;
  }

  return {
    async submit(tenant, input) {
      const dataset = await datasetForSpec(deps.datasets, tenant, input.datasetId);
      const spec = resolveSpec(input, dataset, deps.limits);
      const job = newTrainingJob(newId('job'), spec, now().toISOString());
      const created = await unavailableOnFailure(() =>
        deps.jobs.createWithinCap(tenant, job, deps.limits.MAX_ACTIVE_JOBS_PER_TENANT),
      );
      if (!created) {
        throw new TooManyRequestsError(
          `this tenant already has ${deps.limits.MAX_ACTIVE_JOBS_PER_TENANT} queued or running jobs; wait for one to finish or cancel one`,
          30,
        );
      }
      // Recorded first, then enqueued: a worker never sees an id without a record. If the queue is
      // unreachable the record goes too, so the client sees no job it cannot follow.
      try {
        await deps.queue.enqueue(tenant, job.id);
      } catch (err) {
        deps.logger?.warn({ err, jobId: job.id }, 'enqueue failed; job record removed');
        await deps.jobs.remove(tenant, job.id).catch(() => {});
        if (!(err instanceof DependencyUnavailableError)) throw err;
        throw new UnavailableError('the job queue is unavailable; retry shortly');
      }
      return job;
    },

    get: getOwned,

    list: (tenant, query) => deps.jobs.list(tenant, query),

    async cancel(tenant, id) {
      await getOwned(tenant, id);
      const result = await deps.jobs.update(id, (current) => requestCancel(current, now().toISOString()));
      const job = result.stored?.job;
      if (!job) throw new NotFoundError('training job', id);
      if (!result.written) {
        if (job.cancelRequested && !isTerminal(job)) return job; // already on its way
        // Any final status, cancelled included, is "already finished": 409.
        throw new ConflictError(`training job ${id} has already finished (${job.status})`);
      }
      if (job.status === 'cancelled') {
        // Best effort: a worker that takes it anyway finds the record cancelled and skips it.
        await deps.queue.remove(id).catch(() => false);
        await deps.events.publish(id, { type: 'status', data: job }).catch(() => {});
        await deps
          .emit?.(tenant, 'training-job.cancelled', jobEventData(job), `${id}:cancelled`)
          .catch((err: unknown) => {
            deps.logger?.warn({ err, jobId: id }, 'webhook event not emitted');
          });
      } else {
        await deps.events.publish(id, { type: 'cancel' }).catch(() => {});
      }
      return job;
    },

    events(tenant, id, signal) {
      return streamEvents(deps, tenant, id, signal);
    },
  };
}

async function* streamEvents(
  deps: JobServiceDeps,
  tenant: TenantId,
  id: string,
  signal: AbortSignal,
): AsyncGenerator<JobEvent> {
  const first = await unavailableOnFailure(() => deps.jobs.get(tenant, id));
  if (!first) throw new NotFoundError('training job', id);

  const pending: JobEvent[] = [];
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  // Subscribe before reading the record, so nothing published in between is lost.
  const unsubscribe = await unavailableOnFailure(() =>
    deps.events.subscribe(id, (event) => {
      if (event.type === 'cancel') return;
      pending.push(event);
      notify();
    }),
  );
  const onAbort = () => notify();
  signal.addEventListener('abort', onAbort);
  try {
    const job = await deps.jobs.get(tenant, id);
    if (!job) return;
    yield { type: 'status', data: job };
    if (isTerminal(job)) return;
    // Epochs already in the record are not sent again; a status event (e.g. a resumed attempt that
    // trimmed the history to its checkpoint) resets the mark.
    let lastEpoch = job.history.length;
    while (!signal.aborted) {
      const event = pending.shift();
      if (!event) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (event.type === 'epoch') {
        if (event.data.epoch <= lastEpoch) continue;
        lastEpoch = event.data.epoch;
        yield event;
      } else {
        lastEpoch = event.data.history.length;
        yield event;
        if (isTerminal(event.data)) return;
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await unsubscribe();
  }
}
