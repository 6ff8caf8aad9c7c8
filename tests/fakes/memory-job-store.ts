// An in-memory JobStore for unit tests of the domain services: the same contract as the Redis store
// (tests/jobs/job-store.test.ts runs one suite on both), held in a Map. Each method reads and
// writes in one synchronous step, so a compare-and-set can never interleave with another update.
import { isTerminal } from '../../src/domain/lifecycle.js';
import type { JobLease, JobMutation, JobStore, StoredJob, TenantId } from '../../src/domain/ports.js';
import { jobListFilter, type Job, type Model } from '../../src/domain/schemas.js';
import { createMemoryRecordStore } from './memory-records.js';

export interface MemoryJobStore extends JobStore {
  /** Models committed with a job's final update, by id, with their tenant. */
  readonly models: Map<string, { tenant: TenantId; model: Model }>;
}

const clone = <T>(value: T): T => structuredClone(value);

export function createMemoryJobStore(): MemoryJobStore {
  const records = new Map<string, StoredJob>();
  const models = new Map<string, { tenant: TenantId; model: Model }>();
  const withProgress = (job: Job): Job => ({
    ...job,
    progress: { ...job.progress, epoch: job.history.length },
  });
  const activeOf = (tenant: TenantId) =>
    [...records.values()].filter((r) => r.tenant === tenant && !isTerminal(r.job));

  function create(tenant: TenantId, job: Job, maxActive: number): boolean {
    if (maxActive > 0 && activeOf(tenant).length >= maxActive) return false;
    records.set(job.id, { tenant, job: clone(job), lease: null });
    return true;
  }

  return {
    models,
    async create(tenant, job) {
      create(tenant, job, 0);
    },
    async createWithinCap(tenant, job, maxActive) {
      return create(tenant, job, maxActive);
    },
    async get(tenant, id) {
      const r = records.get(id);
      return r && r.tenant === tenant ? withProgress(clone(r.job)) : null;
    },
    async read(id) {
      const r = records.get(id);
      return r ? { tenant: r.tenant, job: withProgress(clone(r.job)), lease: clone(r.lease) } : null;
    },
    async list(tenant, query) {
      // The records' own list, over copies that carry the lease-free job with its progress.
      const view = createMemoryRecordStore<Job>();
      for (const r of records.values()) if (r.tenant === tenant) await view.put(tenant, withProgress(r.job));
      return view.list(tenant, { ...query, filter: jobListFilter(query) });
    },
    async update(id, mutate: JobMutation, model?: Model) {
      const current = records.get(id);
      if (!current) return { written: false, stored: null };
      const snapshot = {
        tenant: current.tenant,
        job: withProgress(clone(current.job)),
        lease: clone(current.lease),
      };
      const next = mutate(snapshot);
      if (next === null) return { written: false, stored: snapshot };
      const lease: JobLease | null = next.lease === undefined ? current.lease : next.lease;
      records.set(id, { tenant: current.tenant, job: clone(next.job), lease: clone(lease) });
      if (model) models.set(model.id, { tenant: current.tenant, model: clone(model) });
      return { written: true, stored: { tenant: current.tenant, job: next.job, lease } };
    },
    async appendEpochs(id, token, entries) {
      const r = records.get(id);
      if (!r || r.lease?.token !== token || r.job.status !== 'running') {
        return { owned: false, cancelRequested: false, appended: [] };
      }
      const appended = [];
      for (const entry of entries) {
        if (entry.epoch !== r.job.history.length + 1) continue;
        r.job.history.push(clone(entry));
        appended.push(entry);
      }
      return { owned: true, cancelRequested: r.job.cancelRequested, appended };
    },
    async remove(tenant, id) {
      if (records.get(id)?.tenant === tenant) records.delete(id);
    },
    async activeJobs(tenant) {
      return activeOf(tenant).map((r) => withProgress(clone(r.job)));
    },
  };
}
