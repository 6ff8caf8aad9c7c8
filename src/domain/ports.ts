// The interfaces the domain needs from the outside world. src/storage and src/queue implement
// them; only the composition roots (src/http/server.ts, src/worker/main.ts) pick implementations.
import type { Readable } from 'node:stream';
import type { CsvFormat as ReadFormat, CsvLimits, CsvOptions } from '../data/index.js';
import type {
  ColumnSummary,
  ColumnWarning,
  Dataset,
  EpochEntry,
  Job,
  JobEvent,
  JobStatus,
  ListQuery,
  Model,
  Page,
} from './schemas.js';
import type { JobLease } from './lifecycle.js';

export type { JobLease };

/** Tenant id: from the API key, or "default" when auth is off. Never shown to another tenant. */
export type TenantId = string;

export interface DatasetStore {
  /** A fresh path under DATA_DIR where an upload may be streamed before it is accepted. */
  stagingPath(): string;
  /**
   * Streams an upload to a fresh staging file, counting bytes; rejects with TooLargeError as soon
   * as more than maxBytes arrived (and removes the partial file).
   */
  stage(body: Readable, maxBytes: number): Promise<{ path: string; sizeBytes: number }>;
  /** Reads a staged file back (to parse it). */
  readStaged(path: string): AsyncIterable<Uint8Array>;
  /** Removes a staged file that will not be saved; a missing file is fine. */
  discard(path: string): Promise<void>;
  /** Replaces the metadata of an existing dataset (its file stays). */
  update(tenant: TenantId, dataset: Dataset): Promise<void>;
  /** Moves the staged file into place (atomically), then records the metadata. */
  save(tenant: TenantId, dataset: Dataset, stagedFile: string): Promise<void>;
  get(tenant: TenantId, id: string): Promise<Dataset | null>;
  list(tenant: TenantId, query: ListQuery): Promise<Page<Dataset>>;
  /** Removes metadata and file; false when there was no such dataset. */
  remove(tenant: TenantId, id: string): Promise<boolean>;
  /** Where the dataset's CSV lives (workers read it). */
  filePath(id: string): string;
}

/**
 * Parses a CSV file and describes its columns, off the caller's event loop. Rejects with the data
 * module's CsvError (kind, row and column kept) when the file is not a usable table.
 */
export interface CsvDescriber {
  describe(path: string, limits: CsvLimits, options?: CsvOptions): Promise<DescribedCsv>;
  /** Stops the threads; later calls to describe reject. */
  close(): Promise<void>;
}

/** A described file: its columns, what a careful analyst would flag, and the dialect it was read with. */
export interface DescribedCsv {
  rowCount: number;
  columns: ColumnSummary[];
  warnings: ColumnWarning[];
  format: ReadFormat;
}

/** What a trained model needs at prediction time besides its description. */
export interface ModelArtifact {
  /** engine SerializedModel, or SerializedEnsemble for a cross-validated or seed ensemble */
  network: unknown;
  /** data Encoder JSON */
  encoder: unknown;
}

export interface ModelStore {
  /** Writes the artifact file atomically, then the metadata. */
  save(tenant: TenantId, model: Model, artifact: ModelArtifact): Promise<void>;
  get(tenant: TenantId, id: string): Promise<Model | null>;
  list(tenant: TenantId, query: ListQuery): Promise<Page<Model>>;
  remove(tenant: TenantId, id: string): Promise<boolean>;
  loadArtifact(id: string): Promise<ModelArtifact>;
}

export interface JobStore {
  create(tenant: TenantId, job: Job): Promise<void>;
  get(tenant: TenantId, id: string): Promise<Job | null>;
  list(tenant: TenantId, query: ListQuery & { status?: JobStatus }): Promise<Page<Job>>;
  /** Creates the job unless the tenant already has maxActive queued or running jobs (false then). */
  createWithinCap(tenant: TenantId, job: Job, maxActive: number): Promise<boolean>;
  /** The record whatever its tenant (workers know only the job id). */
  read(id: string): Promise<StoredJob | null>;
  /**
   * Compare-and-set: mutate sees the current record and returns the next one (null = no change);
   * it is called again when someone else wrote in between. With a model, the model record and its
   * index entry are written in the same atomic step.
   */
  update(
    id: string,
    mutate: JobMutation,
    model?: Model,
  ): Promise<{ written: boolean; stored: StoredJob | null }>;
  /**
   * Appends epochs to a running job's history, exactly once each (only the epoch right after the
   * last recorded one is taken), if the attempt with this lease token still owns the job. Cheap:
   * it neither reads nor rewrites the history.
   */
  appendEpochs(
    id: string,
    token: string,
    entries: EpochEntry[],
  ): Promise<{ owned: boolean; cancelRequested: boolean; appended: EpochEntry[] }>;
  remove(tenant: TenantId, id: string): Promise<void>;
  countActive(tenant: TenantId): Promise<number>;
}

export interface StoredJob {
  tenant: TenantId;
  job: Job;
  lease: JobLease | null;
}
export type JobMutation = (current: StoredJob) => { job: Job; lease?: JobLease | null } | null;

/** Job events across processes: the API streams them, the workers publish them and listen for cancels. */
export interface JobEventBus {
  publish(jobId: string, event: JobEvent | { type: 'cancel' }): Promise<void>;
  /** Resolves once subscribed; the returned function unsubscribes. */
  subscribe(
    jobId: string,
    onEvent: (event: JobEvent | { type: 'cancel' }) => void,
  ): Promise<() => Promise<void>>;
}

export interface JobQueue {
  /** Enqueues a recorded job (the job id is the queue's job id). Rejects fast when Redis is down. */
  enqueue(tenant: TenantId, jobId: string): Promise<void>;
  /** Removes a job that no worker has taken yet; false when it is active (or gone). */
  remove(jobId: string): Promise<boolean>;
}

/** Readiness of the shared dependencies (Redis reachable, eviction policy safe). */
export interface HealthProbe {
  ready(): Promise<{ ok: boolean; detail: string }>;
}
