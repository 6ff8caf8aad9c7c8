// Batch predictions: a whole dataset scored by a model in a queued job. The API side records the
// job and enqueues it (the queue and job ownership of training jobs: lifecycle.ts leases, BullMQ
// locks); a worker streams the file through the model in chunks (src/worker/batch-processor.ts).
// The result is the chunks' CSV parts, read back in order as one file.
import { Readable } from 'node:stream';
import { z } from 'zod';
import { ConflictError, NotFoundError, UnavailableError, UnprocessableError, DomainError } from './errors.js';
import { newId } from './ids.js';
import { datasetForSpec } from './jobs.js';
import { isTerminal, requestCancel, type JobLease, type Leased } from './lifecycle.js';
import type { DatasetStore, JobQueue, ModelStore, TenantId } from './ports.js';
import {
  AttemptSchema,
  IsoDateSchema,
  JobStatusSchema,
  ListQuerySchema,
  type JobStatus,
  type ListQuery,
  type Model,
  type Page,
} from './schemas.js';
import type { DatasetService } from './services.js';
import type { WebhookEmitter } from './webhooks.js';

export const BatchErrorCodeSchema = z.enum([
  'modelDeleted',
  'datasetDeleted',
  'invalidData',
  'workerCrashed',
  'internal',
]);
export type BatchErrorCode = z.infer<typeof BatchErrorCodeSchema>;

const KeepColumnsSchema = z
  .array(z.string().min(1).max(1000))
  .max(100)
  .default([])
  .describe('Columns of the dataset copied into the result before the predictions, in this order');

export const BatchPredictionRequestSchema = z
  .object({
    modelId: z.string().min(1).max(100).describe('The model that scores the rows'),
    datasetId: z.string().min(1).max(100).describe('The dataset whose every row is scored'),
    keepColumns: KeepColumnsSchema,
  })
  .strict()
  .meta({
    id: 'BatchPredictionRequest',
    examples: [
      {
        modelId: 'mdl_4hQ0x1Zb8sVw2nT6yLk3pRcd',
        datasetId: 'ds_9Xk2mQ7vB1nC5zL8wR3tYp0a',
        keepColumns: ['id'],
      },
    ],
  });
export type BatchPredictionRequest = z.output<typeof BatchPredictionRequestSchema>;

export const BatchPredictionSchema = z
  .object({
    id: z.string(),
    status: JobStatusSchema,
    modelId: z.string(),
    datasetId: z.string(),
    keepColumns: z.array(z.string()),
    columns: z
      .array(z.string())
      .describe(
        'The header of the result: the kept columns, then `label` and one `probability:<class>` per ' +
          'class (classification) or `value` (regression), then `error` (empty for a scored row)',
      ),
    createdAt: IsoDateSchema,
    startedAt: IsoDateSchema.nullable(),
    finishedAt: IsoDateSchema.nullable(),
    progress: z
      .object({
        rows: z.number().int().describe('Rows written to the result so far'),
        totalRows: z.number().int().describe('Data rows of the dataset'),
        chunks: z.number().int().describe('Parts of the result written so far (each a run of rows)'),
      })
      .describe('Advances part by part; a resumed attempt continues after the last part written'),
    rowsFailed: z
      .number()
      .int()
      .describe('Rows that could not be scored so far; each has its reason in the `error` column'),
    error: z.object({ code: BatchErrorCodeSchema, message: z.string() }).nullable(),
    cancelRequested: z.boolean(),
    attempts: z
      .array(AttemptSchema)
      .describe(
        'One per worker run; `resumedFromEpoch` is the number of parts already written when it started',
      ),
  })
  .meta({
    id: 'BatchPrediction',
    examples: [
      {
        id: 'bp_7Qm2Xc9LpV4sN1kT8rZ3wYb6',
        status: 'running',
        modelId: 'mdl_4hQ0x1Zb8sVw2nT6yLk3pRcd',
        datasetId: 'ds_9Xk2mQ7vB1nC5zL8wR3tYp0a',
        keepColumns: ['id'],
        columns: ['id', 'label', 'probability:no', 'probability:yes', 'error'],
        createdAt: '2026-01-05T10:00:00.000Z',
        startedAt: '2026-01-05T10:00:01.000Z',
        finishedAt: null,
        progress: { rows: 120000, totalRows: 200000, chunks: 12 },
        rowsFailed: 3,
        error: null,
        cancelRequested: false,
        attempts: [
          {
            attempt: 1,
            startedAt: '2026-01-05T10:00:01.000Z',
            endedAt: null,
            outcome: null,
            resumedFromEpoch: 0,
          },
        ],
      },
    ],
  });
export type BatchPrediction = z.infer<typeof BatchPredictionSchema>;

export const BatchListQuerySchema = ListQuerySchema.extend({ status: JobStatusSchema.optional() }).strict();

/** Batch prediction records, with the lease of the attempt that may write results (like JobStore). */
export interface BatchPredictionStore {
  create(tenant: TenantId, record: BatchPrediction): Promise<void>;
  /** The record, or null when absent or another tenant's. */
  get(tenant: TenantId, id: string): Promise<BatchPrediction | null>;
  /** The record with its owner and lease, whoever the owner is (the worker knows only the id). */
  read(id: string): Promise<({ tenant: TenantId } & Leased<BatchPrediction>) | null>;
  list(tenant: TenantId, query: ListQuery & { status?: JobStatus }): Promise<Page<BatchPrediction>>;
  /**
   * Compare-and-set, as JobStore.update: mutate sees the current record and returns the next one
   * (null = no change) and is called again when someone else wrote in between.
   */
  update(
    id: string,
    mutate: (current: { tenant: TenantId } & Leased<BatchPrediction>) => {
      job: BatchPrediction;
      lease?: JobLease | null;
    } | null,
  ): Promise<{ written: boolean; stored: ({ tenant: TenantId } & Leased<BatchPrediction>) | null }>;
  remove(tenant: TenantId, id: string): Promise<void>;
  /** Ids of every queued or running batch prediction, all tenants (for the reconciler). */
  activeIds(): Promise<string[]>;
}

/** Where a batch prediction's input comes from and its result goes (the FileStore underneath). */
export interface BatchFiles {
  /** The dataset's stored CSV as a stream, or null when it is gone. */
  openDataset(datasetId: string): Promise<Readable | null>;
  /** Writes part `index` of the result (all or nothing; the same part written twice is replaced). */
  writePart(id: string, index: number, text: string): Promise<void>;
  /** Part `index` as a stream, or null when it is missing. */
  openPart(id: string, index: number): Promise<Readable | null>;
  /** Removes parts 0 … count − 1 (missing ones are fine). */
  removeParts(id: string, count: number): Promise<void>;
}

/** A batch prediction of a file uploaded in the same request: it becomes a dataset first. */
export interface BatchUpload {
  modelId: string;
  keepColumns: string[];
  /** The upload, as DatasetService.create takes it. */
  dataset: Parameters<DatasetService['create']>[1];
}

export interface BatchPredictionService {
  /** Checks the model, the dataset and keepColumns, records the job and enqueues it. */
  submit(tenant: TenantId, request: BatchPredictionRequest): Promise<BatchPrediction>;
  /**
   * Checks the model, stores the upload as a dataset (its checks and limits), then submits; a
   * submit that fails removes that dataset again.
   */
  submitUpload(tenant: TenantId, upload: BatchUpload): Promise<BatchPrediction>;
  get(tenant: TenantId, id: string): Promise<BatchPrediction>;
  list(tenant: TenantId, query: ListQuery & { status?: JobStatus }): Promise<Page<BatchPrediction>>;
  /** Queued: cancelled at once; running: stops after the part under way. 409 when finished. */
  cancel(tenant: TenantId, id: string): Promise<BatchPrediction>;
  /** The result CSV as a stream, parts in order; 409 unless the job succeeded. */
  result(tenant: TenantId, id: string): Promise<Readable>;
}

/** The result's header for this model and these kept columns. */
export function resultColumns(model: Pick<Model, 'task' | 'classes'>, keepColumns: string[]): string[] {
  const out =
    model.task === 'regression'
      ? ['value']
      : ['label', ...(model.classes ?? []).map((c) => `probability:${c}`)];
  return [...keepColumns, ...out, 'error'];
}

/** A new batch prediction, queued. */
export function newBatchPrediction(
  id: string,
  request: BatchPredictionRequest,
  columns: string[],
  totalRows: number,
  createdAt: string,
): BatchPrediction {
  return {
    id,
    status: 'queued',
    modelId: request.modelId,
    datasetId: request.datasetId,
    keepColumns: request.keepColumns,
    columns,
    createdAt,
    startedAt: null,
    finishedAt: null,
    progress: { rows: 0, totalRows, chunks: 0 },
    rowsFailed: 0,
    error: null,
    cancelRequested: false,
    attempts: [],
  };
}

/** The `data` of the batch-prediction.finished webhook event: the record without its attempts. */
export function batchEventData(record: BatchPrediction) {
  const { attempts: _attempts, ...summary } = record;
  return summary;
}

/** keepColumns must name columns of the dataset, once each, and none the result adds itself. */
function checkKeepColumns(keep: string[], datasetColumns: Set<string>, added: string[]): void {
  const unknown = keep.filter((c) => !datasetColumns.has(c));
  if (unknown.length > 0)
    throw new UnprocessableError(
      `keepColumns names columns the dataset does not have: ${unknown.join(', ')}`,
      [{ path: 'keepColumns', message: `unknown columns: ${unknown.join(', ')}` }],
    );
  const repeated = keep.filter((c, i) => keep.indexOf(c) !== i);
  if (repeated.length > 0)
    throw new UnprocessableError(
      `keepColumns lists columns more than once: ${[...new Set(repeated)].join(', ')}`,
      [{ path: 'keepColumns', message: 'repeated columns' }],
    );
  const clash = keep.filter((c) => added.includes(c));
  if (clash.length > 0)
    throw new UnprocessableError(
      `keepColumns cannot keep ${clash.join(', ')}: the result has its own column of that name`,
      [{ path: 'keepColumns', message: `clashes with the result's columns: ${clash.join(', ')}` }],
    );
}

/** A store that cannot be reached is a 503 for the client, not a 500. */
async function unavailableOnFailure<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw new UnavailableError('batch prediction storage is unavailable; retry shortly');
  }
}

/** The tenant's queued or running batch predictions with the dataset each reads (DatasetUsers). */
export function unfinishedBatches(
  store: Pick<BatchPredictionStore, 'activeIds' | 'read'>,
): (tenant: TenantId) => Promise<{ id: string; datasetId: string }[]> {
  return async (tenant) => {
    const records = await Promise.all((await store.activeIds()).map((id) => store.read(id)));
    return records.flatMap((r) =>
      r && r.tenant === tenant && !isTerminal(r.job) ? [{ id: r.job.id, datasetId: r.job.datasetId }] : [],
    );
  };
}

/** What the batch prediction service needs. */
export interface BatchServiceDeps {
  store: BatchPredictionStore;
  models: Pick<ModelStore, 'get'>;
  datasets: Pick<DatasetStore, 'get'>;
  queue: JobQueue;
  files: Pick<BatchFiles, 'openPart'>;
  /** Where an uploaded file becomes a dataset (submitUpload). */
  datasetService?: Pick<DatasetService, 'create' | 'remove'>;
  emit?: WebhookEmitter;
  logger?: { warn(obj: object, msg: string): void };
  now?: () => Date;
}

/** The tenant's model; 422 naming `modelId` when there is none. */
async function modelFor(deps: BatchServiceDeps, tenant: TenantId, modelId: string): Promise<Model> {
  const model = await unavailableOnFailure(() => deps.models.get(tenant, modelId));
  if (!model)
    throw new UnprocessableError(`model ${modelId} does not exist`, [
      { path: 'modelId', message: 'no such model' },
    ]);
  return model;
}

/** Checks the request against the model and the dataset, records the job, then enqueues it. */
async function submitBatch(
  deps: BatchServiceDeps,
  tenant: TenantId,
  request: BatchPredictionRequest,
  createdAt: string,
): Promise<BatchPrediction> {
  const model = await modelFor(deps, tenant, request.modelId);
  const dataset = await datasetForSpec(deps.datasets, tenant, request.datasetId);
  const names = new Set(dataset.columns.map((c) => c.name));
  if (!model.features.some((f) => names.has(f.name)))
    throw new UnprocessableError(
      `dataset ${dataset.id} has none of the model's features (${model.features.map((f) => f.name).join(', ')})`,
      [{ path: 'datasetId', message: "none of the model's features" }],
    );
  const columns = resultColumns(model, request.keepColumns);
  checkKeepColumns(request.keepColumns, names, columns.slice(request.keepColumns.length));
  const record = newBatchPrediction(newId('bp'), request, columns, dataset.rowCount, createdAt);
  await unavailableOnFailure(() => deps.store.create(tenant, record));
  // Recorded first, then enqueued; an unreachable queue removes the record (as for training jobs).
  try {
    await deps.queue.enqueue(tenant, record.id);
  } catch (err) {
    deps.logger?.warn({ err, batchId: record.id }, 'enqueue failed; batch prediction removed');
    await deps.store.remove(tenant, record.id).catch(() => {});
    throw new UnavailableError('the batch queue is unavailable; retry shortly');
  }
  return record;
}

/** The result parts one after the other, as one stream of bytes. */
async function* concatParts(
  files: BatchServiceDeps['files'],
  id: string,
  count: number,
): AsyncGenerator<Buffer> {
  for (let i = 0; i < count; i++) {
    const part = await files.openPart(id, i);
    if (!part) throw new Error(`batch prediction ${id}: result part ${i} is missing`);
    for await (const chunk of part) yield chunk as Buffer;
  }
}

export function createBatchPredictionService(deps: BatchServiceDeps): BatchPredictionService {
  const now = deps.now ?? (() => new Date());

  async function getOwned(tenant: TenantId, id: string): Promise<BatchPrediction> {
    const record = await unavailableOnFailure(() => deps.store.get(tenant, id));
    if (!record) throw new NotFoundError('batch prediction', id);
    return record;
  }

  const submit = (tenant: TenantId, request: BatchPredictionRequest) =>
    submitBatch(deps, tenant, request, now().toISOString());

  return {
    submit,

    async submitUpload(tenant, upload) {
      if (!deps.datasetService) throw new Error('batch predictions of uploads need the dataset service');
      await modelFor(deps, tenant, upload.modelId);
      const dataset = await deps.datasetService.create(tenant, upload.dataset);
      try {
        return await submit(tenant, {
          modelId: upload.modelId,
          datasetId: dataset.id,
          keepColumns: upload.keepColumns,
        });
      } catch (err) {
        await deps.datasetService.remove(tenant, dataset.id).catch(() => {});
        throw err;
      }
    },

    get: getOwned,

    list: (tenant, query) => unavailableOnFailure(() => deps.store.list(tenant, query)),

    async cancel(tenant, id) {
      await getOwned(tenant, id);
      const result = await deps.store.update(id, (current) => requestCancel(current, now().toISOString()));
      const record = result.stored?.job;
      if (!record) throw new NotFoundError('batch prediction', id);
      if (!result.written) {
        if (record.cancelRequested && !isTerminal(record)) return record;
        throw new ConflictError(`batch prediction ${id} has already finished (${record.status})`);
      }
      if (record.status === 'cancelled') {
        await deps.queue.remove(id).catch(() => false);
        await deps
          .emit?.(tenant, 'batch-prediction.finished', batchEventData(record))
          .catch((err: unknown) => {
            deps.logger?.warn({ err, batchId: id }, 'webhook event not emitted');
          });
      }
      return record;
    },

    async result(tenant, id) {
      const record = await getOwned(tenant, id);
      if (record.status !== 'succeeded')
        throw new ConflictError(`batch prediction ${id} has no result: it is ${record.status}`);
      return Readable.from(concatParts(deps.files, id, record.progress.chunks));
    },
  };
}
