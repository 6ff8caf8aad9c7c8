// The interfaces the domain needs from the outside world. src/storage and src/queue implement
// them; only the composition roots (src/http/server.ts, src/worker/main.ts) pick implementations.
import type { Dataset, Job, JobStatus, ListQuery, Model, Page } from './schemas.js';

/** Tenant id: from the API key, or "default" when auth is off. Never shown to another tenant. */
export type TenantId = string;

export interface DatasetStore {
  /** A fresh path under DATA_DIR where an upload may be streamed before it is accepted. */
  stagingPath(): string;
  /** Moves the staged file into place (atomically), then records the metadata. */
  save(tenant: TenantId, dataset: Dataset, stagedFile: string): Promise<void>;
  get(tenant: TenantId, id: string): Promise<Dataset | null>;
  list(tenant: TenantId, query: ListQuery): Promise<Page<Dataset>>;
  /** Removes metadata and file; false when there was no such dataset. */
  remove(tenant: TenantId, id: string): Promise<boolean>;
  /** Where the dataset's CSV lives (workers read it). */
  filePath(id: string): string;
}

/** What a trained model needs at prediction time besides its description. */
export interface ModelArtifact {
  /** engine SerializedModel */
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
}

export interface JobQueue {
  /** Enqueues a recorded job (the job id is the queue's job id). Rejects fast when Redis is down. */
  enqueue(tenant: TenantId, jobId: string): Promise<void>;
}

/** Readiness of the shared dependencies (Redis reachable, eviction policy safe). */
export interface HealthProbe {
  ready(): Promise<{ ok: boolean; detail: string }>;
}
