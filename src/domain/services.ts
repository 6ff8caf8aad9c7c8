// The service surfaces the HTTP layer calls. Each is built by a createXxxService factory over
// explicit dependencies; routes make one call each and never touch Redis, BullMQ, files or the engine.
import type { Readable } from 'node:stream';
import type { ModelExport } from './model-export.js';
import type { TenantId } from './ports.js';
import type { JobEvent } from './schemas.js';
import type {
  Dataset,
  Job,
  JobListQuery,
  ListQuery,
  ModelListQuery,
  Model,
  Page,
  PredictRequest,
  PredictResponse,
  ReadOptions,
  TrainingSpecParsed,
} from './schemas.js';

export interface DatasetService {
  /** Streams the CSV to disk, parses and describes it, then records it. 413/422 on bad input. */
  create(
    tenant: TenantId,
    input: {
      name: string;
      body: Readable;
      /** The final name, asked for once the body is read (a form may send its name after the file). */
      resolveName?: () => Promise<string>;
      /** How to read the file, asked for once the body is read (form fields may follow the file). */
      resolveOptions?: () => Promise<ReadOptions>;
    },
  ): Promise<Dataset>;
  /**
   * Reads an upload the service will not store (an Idempotency-Key replay, whose fingerprint needs
   * its bytes) to its end, within the same upload limit as `create` (413 past it).
   */
  drain(body: Readable): Promise<void>;
  /** Renames and/or re-reads the file with changed read options (merged over the current ones). */
  update(tenant: TenantId, id: string, patch: ReadOptions & { name?: string }): Promise<Dataset>;
  get(tenant: TenantId, id: string): Promise<Dataset>;
  list(tenant: TenantId, query: ListQuery): Promise<Page<Dataset>>;
  remove(tenant: TenantId, id: string): Promise<void>;
}

export type { JobEvent };

export interface JobService {
  /** Resolves the defaults against the dataset, checks the limits, records and enqueues the job. */
  submit(tenant: TenantId, spec: TrainingSpecParsed): Promise<Job>;
  get(tenant: TenantId, id: string): Promise<Job>;
  list(tenant: TenantId, query: ListQuery & Pick<JobListQuery, 'status' | 'tuningJobId'>): Promise<Page<Job>>;
  /** A queued job is cancelled at once; a running one stops within one epoch. 409 when finished. */
  cancel(tenant: TenantId, id: string): Promise<Job>;
  /** The current status first, then an event per epoch and per status change; ends after the final status. */
  events(tenant: TenantId, id: string, signal: AbortSignal): AsyncIterable<JobEvent>;
}

export interface ModelService {
  get(tenant: TenantId, id: string): Promise<Model>;
  list(tenant: TenantId, query: ModelListQuery): Promise<Page<Model>>;
  remove(tenant: TenantId, id: string): Promise<void>;
  predict(tenant: TenantId, id: string, request: PredictRequest): Promise<PredictResponse>;
  /**
   * The same predictions as a CSV document: `label` and one `probability:<class>` column per class,
   * or `value` for regression; cells that a spreadsheet would run as formulas are neutralized.
   */
  predictCsv(tenant: TenantId, id: string, request: PredictRequest): Promise<string>;
  /** The portable JSON document of the model (src/domain/model-export.ts). */
  exportJson(tenant: TenantId, id: string): Promise<ModelExport>;
  /** The whole pipeline as an ONNX model (src/interop/onnx.ts); 422 when it cannot be expressed. */
  exportOnnx(tenant: TenantId, id: string): Promise<Uint8Array>;
  /** A new model of this tenant from an export document; 422 when its parts do not load or fit. */
  importModel(tenant: TenantId, doc: ModelExport): Promise<Model>;
}
