// The job and dataset services on the in-memory fakes of tests/fakes (held to the real stores'
// contract suites): submit, the tenant's cap, an unreachable queue, cancel, and refusing to delete
// a dataset that unfinished work reads. No Redis.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDatasetService, datasetUsers } from '../../src/domain/datasets.js';
import {
  ConflictError,
  NotFoundError,
  TooManyRequestsError,
  UnavailableError,
} from '../../src/domain/errors.js';
import { createJobService } from '../../src/domain/jobs.js';
import type { JobEvent } from '../../src/domain/schemas.js';
import { TrainingSpecInputSchema } from '../../src/domain/schemas.js';
import type { DatasetService } from '../../src/domain/services.js';
import { createCsvDescriber } from '../../src/storage/csv-describer.js';
import { fileKeys } from '../../src/storage/file-keys.js';
import { createMemoryDatasetStore } from '../fakes/memory-dataset-store.js';
import { createMemoryJobStore, type MemoryJobStore } from '../fakes/memory-job-store.js';
import { createMemoryEventBus, createMemoryJobQueue, type MemoryJobQueue } from '../fakes/memory-queue.js';
import { fixture } from '../worker/harness.js';

const limits = loadConfig({ MAX_ACTIVE_JOBS_PER_TENANT: '2', LOG_LEVEL: 'silent' });
let dataDir: string;
let datasetStore: ReturnType<typeof createMemoryDatasetStore>;
let jobStore: MemoryJobStore;
let queue: MemoryJobQueue;
let datasets: DatasetService;
const describer = createCsvDescriber();

function services() {
  const events = createMemoryEventBus();
  const jobs = createJobService({ datasets: datasetStore, jobs: jobStore, queue, events, limits });
  return { jobs, events };
}

async function uploadIris(tenant: string) {
  return datasets.create(tenant, { name: 'iris', body: createReadStream(fixture('iris')) });
}
const spec = (datasetId: string) =>
  TrainingSpecInputSchema.parse({ datasetId, target: 'species', training: { epochs: 3 } });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bp-domain-'));
});
afterAll(async () => {
  await describer.close();
  await rm(dataDir, { recursive: true, force: true });
});

function fresh() {
  datasetStore = createMemoryDatasetStore(dataDir);
  jobStore = createMemoryJobStore();
  queue = createMemoryJobQueue();
  datasets = createDatasetService({
    store: datasetStore,
    describer,
    limits: { MAX_UPLOAD_BYTES: 1e7, MAX_COLUMNS: 100, MAX_ROWS: 1e5, MAX_LINE_BYTES: 1e5 },
    users: datasetUsers({ jobs: jobStore }),
  });
}

describe('job service', () => {
  it('when a job is submitted, then it is recorded queued and enqueued; past the tenant cap, 429', async () => {
    fresh();
    const { jobs } = services();
    const ds = await uploadIris('t1');
    const first = await jobs.submit('t1', spec(ds.id));
    expect(first.status).toBe('queued');
    expect(queue.waiting).toEqual([first.id]);
    expect(await jobStore.get('t1', first.id)).toMatchObject({ id: first.id, status: 'queued' });
    await jobs.submit('t1', spec(ds.id));
    await expect(jobs.submit('t1', spec(ds.id))).rejects.toBeInstanceOf(TooManyRequestsError);
    expect(queue.waiting).toHaveLength(2);
    // Another tenant cannot even see the dataset.
    await expect(jobs.submit('t2', spec(ds.id))).rejects.toMatchObject({ status: 422 });
  });

  it('when the queue is unreachable, then submit answers 503 and leaves no record behind', async () => {
    fresh();
    const { jobs } = services();
    const ds = await uploadIris('t1');
    queue.unreachable = true;
    await expect(jobs.submit('t1', spec(ds.id))).rejects.toBeInstanceOf(UnavailableError);
    expect(await jobStore.activeJobs('t1')).toEqual([]);
    expect((await jobStore.list('t1', { limit: 10 })).data).toEqual([]);
  });

  it('when the store fails with a bug, not an outage, then the error is not turned into a 503', async () => {
    fresh();
    const ds = await uploadIris('t1');
    const broken = { ...jobStore, createWithinCap: () => Promise.reject(new TypeError('a bug')) };
    const jobs = createJobService({
      datasets: datasetStore,
      jobs: broken,
      queue,
      events: createMemoryEventBus(),
      limits,
    });
    await expect(jobs.submit('t1', spec(ds.id))).rejects.toBeInstanceOf(TypeError);
  });

  it('when a queued job is cancelled, then it is cancelled at once, leaves the queue and its status is published', async () => {
    fresh();
    const { jobs, events } = services();
    const ds = await uploadIris('t1');
    const job = await jobs.submit('t1', spec(ds.id));
    const seen: Array<JobEvent | { type: 'cancel' }> = [];
    await events.subscribe(job.id, (e) => seen.push(e));
    const cancelled = await jobs.cancel('t1', job.id);
    expect(cancelled.status).toBe('cancelled');
    expect(queue.waiting).toEqual([]);
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([{ type: 'status', data: cancelled }]);
    await expect(jobs.cancel('t1', job.id)).rejects.toBeInstanceOf(ConflictError);
    await expect(jobs.cancel('t2', job.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('dataset service: deleting a dataset in use', () => {
  it('when a running job reads the dataset, then remove is refused with 409 naming it; once it ends, the dataset and its file go', async () => {
    fresh();
    const { jobs } = services();
    const ds = await uploadIris('t1');
    const job = await jobs.submit('t1', spec(ds.id));
    await jobStore.update(job.id, ({ job: j }) => ({
      job: { ...j, status: 'running' },
      lease: { token: 'tok', attempt: 1 },
    }));
    const refused = await datasets.remove('t1', ds.id).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as ConflictError).message).toContain(job.id);
    expect((refused as ConflictError).errors).toEqual([{ path: 'jobs', message: job.id }]);
    expect(datasetStore.files.keys()).toContain(fileKeys.dataset(ds.id));

    await jobStore.update(job.id, ({ job: j }) => ({ job: { ...j, status: 'succeeded' }, lease: null }));
    await datasets.remove('t1', ds.id);
    await expect(datasets.get('t1', ds.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(datasetStore.files.keys()).not.toContain(fileKeys.dataset(ds.id));
  });

  it('when an unfinished tuning search reads the dataset, then it is named too; another dataset is free to go', async () => {
    fresh();
    const ds = await uploadIris('t1');
    const other = await uploadIris('t1');
    const users = datasetUsers({
      jobs: jobStore,
      activeSearches: async (tenant) => (tenant === 't1' ? [{ id: 'tun_1', datasetId: ds.id }] : []),
    });
    expect(await users('t1', ds.id)).toEqual(['tun_1']);
    expect(await users('t1', other.id)).toEqual([]);
    expect(await users('t2', ds.id)).toEqual([]);
    await datasets.remove('t1', other.id);
  });
});
