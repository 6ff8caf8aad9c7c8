// Evaluations: a model scored on a new labelled dataset, with the metrics of its own test split
// (training.ts splitMetrics) next to the no-feature baselines computed on that data
// (model-insight.ts), stored so they can be read again. Synchronous: the dataset is at most
// EVALUATION_MAX_ROWS rows, one forward pass, well within a request; larger files go through
// batch predictions, which stream.
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { CsvError, EncoderError, readCsv, type CsvLimits } from '../data/index.js';
import { DomainError, UnavailableError, UnprocessableError, NotFoundError, TooLargeError } from './errors.js';
import { loadPredictor } from './batch-scoring.js';
import { newId } from './ids.js';
import { datasetForSpec } from './jobs.js';
import { classificationBaselines, regressionBaselines } from './model-insight.js';
import type { DatasetStore, ModelStore, TenantId } from './ports.js';
import {
  BaselinesSchema,
  IsoDateSchema,
  SplitMetricsSchema,
  TaskSchema,
  type ColumnType,
  type Dataset,
  type ListQuery,
  type Model,
  type Page,
} from './schemas.js';
import { splitMetrics } from './training.js';

/** The most rows an evaluation reads: it answers in the request. */
export const EVALUATION_MAX_ROWS = 200_000;
/** Seed of the stratified baseline's draws (fixed: the same data gives the same evaluation). */
const BASELINE_SEED = 1;

export const EvaluationRequestSchema = z
  .object({
    modelId: z.string().min(1).max(100).describe('The model to evaluate'),
    datasetId: z
      .string()
      .min(1)
      .max(100)
      .describe("A labelled dataset with the model's features and its target column"),
  })
  .strict()
  .meta({
    id: 'EvaluationRequest',
    examples: [{ modelId: 'mdl_4hQ0x1Zb8sVw2nT6yLk3pRcd', datasetId: 'ds_2Lp9Qw4Xv7Bn1Mz6Tc3Ry8Ka' }],
  });
export type EvaluationRequest = z.infer<typeof EvaluationRequestSchema>;

export const EvaluationSchema = z
  .object({
    id: z.string(),
    modelId: z.string(),
    datasetId: z.string(),
    task: TaskSchema,
    target: z.string(),
    rows: z.number().int().describe('Rows scored: those with a target value the model knows'),
    rowsSkipped: z
      .number()
      .int()
      .describe('Rows left out: the target missing, or a class the model was not trained on'),
    metrics: SplitMetricsSchema.describe(
      "The model's metrics on this data, the same as its test metrics (`loss`: cross-entropy for " +
        'classification, mean squared error of the standardized target for regression)',
    ),
    baselines: BaselinesSchema.describe(
      'The same metrics of predicting without the features, from this data: its class frequencies ' +
        '(majority) and seeded draws from them (stratified), or its mean and median',
    ),
    createdAt: IsoDateSchema,
  })
  .meta({ id: 'Evaluation' });
export type Evaluation = z.infer<typeof EvaluationSchema>;

/** Stored evaluations, per tenant (a Redis record store). */
export interface EvaluationStore {
  put(tenant: TenantId, evaluation: Evaluation): Promise<void>;
  get(tenant: TenantId, id: string): Promise<Evaluation | null>;
  list(tenant: TenantId, query: ListQuery): Promise<Page<Evaluation>>;
}

export interface EvaluationService {
  /** Scores the model on the dataset and stores the result; 422 naming what does not fit. */
  evaluate(tenant: TenantId, request: EvaluationRequest): Promise<Evaluation>;
  get(tenant: TenantId, id: string): Promise<Evaluation>;
  list(tenant: TenantId, query: ListQuery): Promise<Page<Evaluation>>;
}

/** A store that cannot be reached is a 503 for the client, not a 500. */
async function unavailableOnFailure<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw new UnavailableError('evaluation storage is unavailable; retry shortly');
  }
}

/**
 * The dataset must hold the model's features and its target, the target numeric for regression,
 * and at most EVALUATION_MAX_ROWS rows. Returns the column types to read the features with.
 */
function checkDataset(model: Model, dataset: Dataset): Record<string, ColumnType> {
  const columns = new Map(dataset.columns.map((c) => [c.name, c]));
  const target = columns.get(model.target);
  if (!target)
    throw new UnprocessableError(
      `dataset ${dataset.id} has no column "${model.target}", the target the model predicts`,
      [{ path: 'datasetId', message: `no target column "${model.target}"` }],
    );
  if (model.task === 'regression' && target.type !== 'numeric')
    throw new UnprocessableError(
      `the target column "${model.target}" is ${target.type} in dataset ${dataset.id}; this regression model needs numbers`,
      [{ path: 'datasetId', message: `target "${model.target}" is ${target.type}, not numeric` }],
    );
  const missing = model.features.filter((f) => !columns.has(f.name)).map((f) => f.name);
  if (missing.length > 0)
    throw new UnprocessableError(`dataset ${dataset.id} lacks the model's features: ${missing.join(', ')}`, [
      { path: 'datasetId', message: `missing features: ${missing.join(', ')}` },
    ]);
  if (dataset.rowCount > EVALUATION_MAX_ROWS)
    throw new TooLargeError(
      `dataset ${dataset.id} has ${dataset.rowCount} rows; an evaluation reads at most ${EVALUATION_MAX_ROWS} (score larger files with a batch prediction)`,
    );
  return Object.fromEntries(model.features.map((f) => [f.name, f.type]));
}

/** The model's metrics and the baselines on every labelled row of the table. */
function score(
  model: Model,
  artifact: Parameters<typeof loadPredictor>[0],
  table: Awaited<ReturnType<typeof readCsv>>,
) {
  const { network, encoder } = loadPredictor(artifact);
  const all = Int32Array.from({ length: table.rowCount }, (_, i) => i);
  let data;
  try {
    data = encoder.transform(table, all);
  } catch (err) {
    if (err instanceof EncoderError)
      throw new UnprocessableError(err.message, [{ path: 'datasetId', message: err.message }]);
    throw err;
  }
  if (data.rows === 0)
    throw new UnprocessableError(
      model.task === 'classification'
        ? `no row of the dataset has a class the model knows (${(model.classes ?? []).join(', ')}) in "${model.target}"`
        : `no row of the dataset has a value in "${model.target}"`,
      [{ path: 'datasetId', message: 'no labelled row' }],
    );
  const pred = network.predict(data.x, data.rows);
  const classification = model.task === 'classification';
  const loss = !classification ? 'mse' : encoder.outputSize === 1 ? 'binaryCrossEntropy' : 'crossEntropy';
  return {
    rows: data.rows,
    rowsSkipped: table.rowCount - data.rows,
    metrics: splitMetrics(pred, encoder, data, loss, model.task),
    baselines: classification
      ? classificationBaselines(data, data, encoder.classes!.length, BASELINE_SEED)
      : regressionBaselines(data, data, encoder, loss),
  };
}

export function createEvaluationService(deps: {
  store: EvaluationStore;
  models: Pick<ModelStore, 'get' | 'loadArtifact'>;
  datasets: Pick<DatasetStore, 'get'>;
  /** The dataset's stored CSV as a stream, or null when it is gone. */
  openDataset: (datasetId: string) => Promise<Readable | null>;
  csvLimits: CsvLimits;
  now?: () => Date;
}): EvaluationService {
  const now = deps.now ?? (() => new Date());
  return {
    async evaluate(tenant, request) {
      const model = await unavailableOnFailure(() => deps.models.get(tenant, request.modelId));
      if (!model)
        throw new UnprocessableError(`model ${request.modelId} does not exist`, [
          { path: 'modelId', message: 'no such model' },
        ]);
      const dataset = await datasetForSpec(deps.datasets, tenant, request.datasetId);
      const featureTypes = checkDataset(model, dataset);
      const file = await deps.openDataset(dataset.id);
      if (!file) throw new NotFoundError('dataset', dataset.id);
      let table;
      try {
        const { columnTypes, ...format } = dataset.format;
        table = await readCsv(file, deps.csvLimits, {
          ...format,
          columnTypes: { ...columnTypes, ...featureTypes },
        });
      } catch (err) {
        if (err instanceof CsvError) throw new UnprocessableError(`dataset ${dataset.id}: ${err.message}`);
        throw err;
      }
      const artifact = await deps.models.loadArtifact(model.id);
      const evaluation: Evaluation = {
        id: newId('ev'),
        modelId: model.id,
        datasetId: dataset.id,
        task: model.task,
        target: model.target,
        ...score(model, artifact, table),
        createdAt: now().toISOString(),
      };
      await unavailableOnFailure(() => deps.store.put(tenant, evaluation));
      return evaluation;
    },
    async get(tenant, id) {
      const evaluation = await unavailableOnFailure(() => deps.store.get(tenant, id));
      if (!evaluation) throw new NotFoundError('evaluation', id);
      return evaluation;
    },
    list: (tenant, query) => unavailableOnFailure(() => deps.store.list(tenant, query)),
  };
}
