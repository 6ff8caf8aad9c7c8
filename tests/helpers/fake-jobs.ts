// An in-memory JobService for route tests that need to drive a job's life by hand (events, 409).
// The real service runs in tests/domain/services.test.ts (on the fakes of tests/fakes) and tests/jobs.
import { ConflictError, NotFoundError } from '../../src/domain/errors.js';
import { newId } from '../../src/domain/ids.js';
import { recipes } from '../../src/domain/recipes.js';
import {
  TERMINAL_STATUSES,
  jobListFilter,
  type Job,
  type JobStatus,
  type TrainingSpec,
} from '../../src/domain/schemas.js';
import type { JobEvent, JobService } from '../../src/domain/services.js';

export interface FakeJobService extends JobService {
  /** Emits an epoch event for a job. */
  epoch(id: string, epoch: number, loss: number): void;
  /** Moves a job to a status and emits the status event. */
  setStatus(id: string, status: JobStatus): void;
  submitted: number;
  /** Event streams currently open (a closed client connection must bring this back down). */
  openStreams: number;
}

export function createFakeJobService(): FakeJobService {
  const jobs = new Map<string, { tenant: string; job: Job }>();
  const listeners = new Map<string, Set<(e: JobEvent) => void>>();
  const emit = (id: string, e: JobEvent) => listeners.get(id)?.forEach((l) => l(e));
  const find = (tenant: string, id: string) => {
    const entry = jobs.get(id);
    if (!entry || entry.tenant !== tenant) throw new NotFoundError('Training job', id);
    return entry.job;
  };

  const fake: FakeJobService = {
    submitted: 0,
    openStreams: 0,
    async submit(tenant, spec) {
      fake.submitted++;
      const task = spec.task ?? 'classification';
      const recipe = recipes[spec.recipe]({ task, rows: 100, inputSize: 4 });
      const defined = <T extends object>(o: T): Partial<T> =>
        Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
      const resolved: TrainingSpec = {
        datasetId: spec.datasetId,
        target: spec.target,
        features: spec.features ?? [],
        task,
        recipe: spec.recipe,
        model: {
          layers: spec.model.layers ?? [],
          initializer: spec.model.initializer ?? 'he',
          binaryOutput: 'softmax',
          embedding: spec.model.embedding ?? false,
        },
        training: {
          ...recipe.training,
          ...defined(spec.training),
          loss: spec.training.loss ?? 'crossEntropy',
          testSplit: spec.training.testSplit,
          seed: spec.training.seed,
          maxRuntimeSeconds: 60,
        },
        preprocessing: {
          ...recipe.preprocessing,
          ...defined(spec.preprocessing),
          unknownCategory: spec.preprocessing.unknownCategory,
        },
      };
      const job: Job = {
        id: newId('job'),
        status: 'queued',
        datasetId: spec.datasetId,
        spec: resolved,
        createdAt: new Date().toISOString(),
        startedAt: null,
        finishedAt: null,
        progress: { epoch: 0, epochs: resolved.training.epochs },
        history: [],
        modelId: null,
        error: null,
        cancelRequested: false,
        attempts: [],
      };
      // Concurrent requests must not be serialized by the fake itself.
      await new Promise((r) => setTimeout(r, 20));
      jobs.set(job.id, { tenant, job });
      return job;
    },
    async get(tenant, id) {
      return find(tenant, id);
    },
    async list(tenant, query) {
      const data = [...jobs.values()]
        .filter((e) => e.tenant === tenant && jobListFilter(query)(e.job))
        .map((e) => e.job)
        .reverse()
        .slice(0, query.limit);
      return { data, nextCursor: null };
    },
    async cancel(tenant, id) {
      const job = find(tenant, id);
      if (TERMINAL_STATUSES.includes(job.status))
        throw new ConflictError(`Training job ${id} has already finished`);
      fake.setStatus(id, 'cancelled');
      return job;
    },
    async *events(tenant, id, signal) {
      const job = find(tenant, id);
      const queue: JobEvent[] = [];
      let wake: (() => void) | null = null;
      const listener = (e: JobEvent) => {
        queue.push(e);
        wake?.();
      };
      const set = listeners.get(id) ?? new Set();
      listeners.set(id, set);
      set.add(listener);
      const onAbort = () => wake?.();
      signal.addEventListener('abort', onAbort);
      fake.openStreams++;
      try {
        yield { type: 'status', data: structuredClone(job) };
        if (TERMINAL_STATUSES.includes(job.status)) return;
        while (!signal.aborted) {
          const e = queue.shift();
          if (!e) {
            await new Promise<void>((r) => (wake = r));
            wake = null;
            continue;
          }
          yield e;
          if (e.type === 'status' && TERMINAL_STATUSES.includes(e.data.status)) return;
        }
      } finally {
        fake.openStreams--;
        set.delete(listener);
        signal.removeEventListener('abort', onAbort);
      }
    },
    epoch(id, epoch, loss) {
      const entry = jobs.get(id)!;
      entry.job.history.push({ epoch, loss });
      emit(id, { type: 'epoch', data: { epoch, loss, epochs: entry.job.progress.epochs } });
    },
    setStatus(id, status) {
      const entry = jobs.get(id)!;
      entry.job.status = status;
      emit(id, { type: 'status', data: structuredClone(entry.job) });
    },
  };
  return fake;
}
