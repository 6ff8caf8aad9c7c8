import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createRedisJobEventBus } from '../../src/storage/job-store.js';
import { createTrainingProcessor } from '../../src/worker/processor.js';
import { createTrainingPool, type StartTraining, type ThreadResult } from '../../src/worker/thread-runner.js';
import { createHarness, TENANT, type Harness } from './harness.js';

let h: Harness;
let friedman: string;

beforeAll(async () => {
  h = await createHarness();
  friedman = await h.upload('friedman1');
});
afterAll(async () => {
  await h?.close();
});

const terminal = (j: { status: string }) => ['succeeded', 'failed', 'cancelled'].includes(j.status);

describe('resume from a checkpoint', () => {
  it('when a worker shuts down mid-run, then another resumes from the checkpoint and ends with the weights of an uninterrupted run', async () => {
    const spec = {
      datasetId: friedman,
      target: 'y',
      model: { layers: [{ units: 32 }, { units: 32 }] },
      training: { epochs: 30, batchSize: 16, earlyStopping: { patience: 1000 } },
    };
    const first = h.startWorker();
    const interrupted = await h.submit(spec);
    await h.waitFor(interrupted.id, (j) => j.progress.epoch >= 5);
    await first.close(); // hands the job back to the queue
    const handedBack = await h.jobs.get(TENANT, interrupted.id);
    expect(handedBack.status).toBe('queued');
    expect(handedBack.attempts).toHaveLength(1);
    expect(handedBack.attempts[0].outcome).toBe('shutdown');
    expect(handedBack.progress.epoch).toBeLessThan(30);
    expect(existsSync(h.paths.checkpoint(interrupted.id))).toBe(true);

    const second = h.startWorker();
    const resumed = await h.waitFor(interrupted.id, terminal);
    expect(resumed.status).toBe('succeeded');
    expect(resumed.history.map((e) => e.epoch)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(resumed.attempts).toHaveLength(2);
    expect(resumed.attempts[1].resumedFromEpoch).toBeGreaterThanOrEqual(1);
    expect(resumed.attempts[1].resumedFromEpoch).toBeLessThanOrEqual(handedBack.progress.epoch);
    expect(resumed.attempts[1].outcome).toBeNull();

    const straight = await h.waitFor((await h.submit(spec)).id, terminal);
    expect(straight.status).toBe('succeeded');
    expect(straight.attempts).toHaveLength(1);
    const a = await h.models.loadArtifact(resumed.modelId!);
    const b = await h.models.loadArtifact(straight.modelId!);
    expect((a.network as { params: string[] }).params).toEqual((b.network as { params: string[] }).params);
    expect(resumed.history).toEqual(straight.history);
    await second.close();
  });
});

describe('compare-and-set on the attempt', () => {
  it('when another attempt took the job over, then the stale one can neither append epochs nor commit a model', async () => {
    const job = await h.submit({ datasetId: friedman, target: 'y', training: { epochs: 3 } });
    const events = createRedisJobEventBus({ redis: h.redis, prefix: h.config.REDIS_PREFIX });
    const appended: string[] = [];
    const processor = createTrainingProcessor({
      jobs: h.jobStore,
      events,
      ...h.fileDeps,
      csvLimits: { maxColumns: 100, maxRows: 100_000, maxLineBytes: 100_000 },
      logger: createLogger('silent', 'test'),
      startThread: (_input, onEpoch) => ({
        abort() {},
        checkpointAndStop() {},
        result: (async (): Promise<ThreadResult> => {
          const state = new Uint8Array([1, 2, 3]);
          appended.push(await onEpoch([{ epoch: 1, loss: 1 }], state));
          appended.push(await onEpoch([{ epoch: 1, loss: 1 }], state)); // a repeat is not appended twice
          // A second attempt takes the job over (its lock had expired): a new lease.
          await h.jobStore.update(job.id, ({ job: j }) => ({
            job: j,
            lease: { token: 'the-other-attempt', attempt: 2 },
          }));
          appended.push(await onEpoch([{ epoch: 2, loss: 0.5 }], state));
          return {
            kind: 'done',
            outcome: {
              artifact: { network: { stale: true }, encoder: {} },
              metrics: { train: null, validation: null, test: null },
              baselines: null,
              featureImportance: null,
              classes: null,
              features: [{ name: 'x1', type: 'numeric' }],
              parameterCount: 1,
              epochsTrained: 2,
              history: [
                { epoch: 1, loss: 1 },
                { epoch: 2, loss: 0.5 },
              ],
            },
          };
        })(),
      }),
    });
    const outcome = await processor.process({
      data: { jobId: job.id, tenant: TENANT },
      attemptsMade: 0,
      maxAttempts: 3,
    });
    expect(outcome).toEqual({ kind: 'done' });
    expect(appended).toEqual(['continue', 'continue', 'stop']);
    const after = await h.jobs.get(TENANT, job.id);
    expect(after.status).toBe('running');
    expect(after.modelId).toBeNull();
    expect(after.history.map((e) => e.epoch)).toEqual([1]);
    expect((await h.models.list(TENANT, { limit: 10 })).data.filter((m) => m.jobId === job.id)).toEqual([]);
    const modelDir = h.paths.model('x').replace(/x\.json$/, '');
    const files = existsSync(modelDir) ? readdirSync(modelDir) : [];
    for (const f of files) {
      const model = await h.models.loadArtifact(f.replace(/\.json$/, ''));
      expect(model.network).not.toEqual({ stale: true });
    }
  });
});

describe('failures the processor decides', () => {
  const pool = createTrainingPool({ threads: 1 });
  afterAll(() => pool.close());
  const processorWith = (startThread: StartTraining = pool.start) =>
    createTrainingProcessor({
      jobs: h.jobStore,
      events: createRedisJobEventBus({ redis: h.redis, prefix: h.config.REDIS_PREFIX }),
      ...h.fileDeps,
      csvLimits: { maxColumns: 100, maxRows: 100_000, maxLineBytes: 100_000 },
      logger: createLogger('silent', 'test'),
      startThread,
    });

  it('when an attempt fails for an internal reason, then it is retried, and the last attempt fails with a generic message', async () => {
    const job = await h.submit({ datasetId: friedman, target: 'y', training: { epochs: 3 } });
    const processor = processorWith(() => ({
      abort() {},
      checkpointAndStop() {},
      result: Promise.resolve<ThreadResult>({
        kind: 'internal',
        message: 'ENOMEM at /secret/path',
        stack: 'x',
      }),
    }));
    const delivery = { data: { jobId: job.id, tenant: TENANT }, attemptsMade: 0, maxAttempts: 2 };
    const first = await processor.process(delivery);
    expect(first.kind).toBe('retry');
    const between = await h.jobs.get(TENANT, job.id);
    expect(between.status).toBe('queued');
    expect(between.attempts.map((a) => a.outcome)).toEqual(['internal']);

    const last = await processor.process({ ...delivery, attemptsMade: 1 });
    expect(last.kind).toBe('fail');
    const after = await h.jobs.get(TENANT, job.id);
    expect(after.status).toBe('failed');
    expect(after.error).toEqual({
      code: 'internal',
      message: 'training failed because of an internal error',
    });
    expect(JSON.stringify(after)).not.toContain('/secret/path');
    expect(after.attempts.map((a) => a.outcome)).toEqual(['internal', 'internal']);
  });

  it('when the dataset file is gone before training starts, then the job fails with code datasetDeleted', async () => {
    const ds = await h.upload('iris');
    const job = await h.submit({ datasetId: ds, target: 'species', training: { epochs: 3 } });
    // Both of the dataset's stored files: the CSV and the typed columns read from it at upload.
    await rm(h.paths.dataset(ds));
    await rm(h.paths.datasetColumns(ds));
    const outcome = await processorWith().process({
      data: { jobId: job.id, tenant: TENANT },
      attemptsMade: 0,
      maxAttempts: 3,
    });
    expect(outcome.kind).toBe('fail');
    const after = await h.jobs.get(TENANT, job.id);
    expect(after.status).toBe('failed');
    expect(after.error?.code).toBe('datasetDeleted');
  });
});
