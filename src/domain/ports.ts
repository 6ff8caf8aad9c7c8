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
  JobListQuery,
  ListQuery,
  ModelListQuery,
  Model,
  Page,
} from './schemas.js';
import type { JobLease } from './lifecycle.js';

export type { JobLease };

/** Tenant id: from the API key, or "default" when auth is off. Never shown to another tenant. */
export type TenantId = string;

export interface DatasetStore {
  /**
   * Streams an upload to a fresh local staging file, counting bytes; rejects with TooLargeError as
   * soon as more than maxBytes arrived (and removes the partial file).
   */
  stage(body: Readable, maxBytes: number): Promise<{ path: string; sizeBytes: number }>;
  /**
   * Reads an upload that will not be stored (the replay of an Idempotency-Key request) to its end,
   * counting bytes as `stage` does: rejects with TooLargeError past maxBytes. Resolves to the size.
   */
  drain(body: Readable, maxBytes: number): Promise<number>;
  /**
   * Copies a stored dataset's file to a fresh local staging file, to be read again (a PATCH that
   * changes how it is read); null when the file is gone. The caller discards the copy.
   */
  stageStored(id: string): Promise<string | null>;
  /** Removes a staged file that will not be saved, and typed columns kept beside it; a missing file is fine. */
  discard(path: string): Promise<void>;
  /**
   * Replaces the metadata of an existing dataset (its file stays). With `reread`, the staged copy
   * the new metadata was read from: the typed columns the describer kept beside it replace the
   * stored ones.
   */
  update(tenant: TenantId, dataset: Dataset, reread?: string): Promise<void>;
  /**
   * Stores the staged file as the dataset's file (all or nothing), with the typed columns the
   * describer kept beside it when there are any, then records the metadata.
   */
  save(tenant: TenantId, dataset: Dataset, stagedFile: string): Promise<void>;
  get(tenant: TenantId, id: string): Promise<Dataset | null>;
  list(tenant: TenantId, query: ListQuery): Promise<Page<Dataset>>;
  /** Removes metadata and file; false when there was no such dataset. */
  remove(tenant: TenantId, id: string): Promise<boolean>;
}

/**
 * Parses a CSV file and describes its columns, off the caller's event loop. Rejects with the data
 * module's CsvError (kind, row and column kept) when the file is not a usable table.
 */
export interface CsvDescriber {
  /**
   * With keepColumns, the typed columns are also kept beside the file, for the DatasetStore to
   * store with it (save, update), so that training never parses the text again.
   */
  describe(
    path: string,
    limits: CsvLimits,
    options?: CsvOptions,
    keepColumns?: boolean,
  ): Promise<DescribedCsv>;
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
  /**
   * Newest first. With `tuningJobId`, that search's models only (trial runs' and refit's); without
   * it, every model but those of search trial runs.
   */
  list(tenant: TenantId, query: ModelListQuery): Promise<Page<Model>>;
  remove(tenant: TenantId, id: string): Promise<boolean>;
  loadArtifact(id: string): Promise<ModelArtifact>;
}

/** Model artifact files, by model id: the worker writes them before it commits the model's record. */
export interface ArtifactStore {
  /** Writes the artifact (all or nothing). */
  save(modelId: string, artifact: ModelArtifact): Promise<void>;
  /** Removes it; a missing one is fine. */
  remove(modelId: string): Promise<void>;
}

/** A running job's latest checkpoint (an encoded engine TrainingState), by job id. */
export interface CheckpointStore {
  /** The checkpoint, or null when the job has none. */
  load(jobId: string): Promise<Uint8Array | null>;
  /** Replaces the checkpoint (all or nothing: a crash leaves the previous one). */
  save(jobId: string, state: Uint8Array): Promise<void>;
  /** Removes it; a missing one is fine. */
  remove(jobId: string): Promise<void>;
}

export interface JobStore {
  create(tenant: TenantId, job: Job): Promise<void>;
  get(tenant: TenantId, id: string): Promise<Job | null>;
  list(tenant: TenantId, query: ListQuery & Pick<JobListQuery, 'status' | 'tuningJobId'>): Promise<Page<Job>>;
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
  /** The tenant's queued and running jobs (at most its active-job cap), in no particular order. */
  activeJobs(tenant: TenantId): Promise<Job[]>;
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

// ---------- idempotency keys ----------

/** A creating request's answer, kept under its Idempotency-Key for replays. */
export interface IdempotentResponse {
  /** sha256 (hex) of what identifies the request body. */
  fingerprint: string;
  status: number;
  body: unknown;
}

/** What claiming a key found: it is ours now, another request holds it, or it was answered before. */
export type ClaimResult =
  { state: 'claimed' } | { state: 'pending' } | { state: 'done'; response: IdempotentResponse };

/** Idempotency keys per tenant and scope (storage/idempotency-store.ts holds them in Redis). */
export interface IdempotencyStore {
  claim(tenant: string, scope: string, key: string): Promise<ClaimResult>;
  complete(tenant: string, scope: string, key: string, response: IdempotentResponse): Promise<void>;
  /** Frees the key after a request that created nothing (it failed), so a retry can run. */
  release(tenant: string, scope: string, key: string): Promise<void>;
}
