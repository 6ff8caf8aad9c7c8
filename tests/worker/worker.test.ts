import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Encoder } from '../../src/data/index.js';
import { Sequential } from '../../src/engine/index.js';
import { createHarness, TENANT, type Harness } from './harness.js';

let h: Harness;
let iris: string;
let friedman: string;

beforeAll(async () => {
  h = await createHarness();
  iris = await h.upload('iris');
  friedman = await h.upload('friedman1');
  h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

const terminal = (j: { status: string }) => ['succeeded', 'failed', 'cancelled'].includes(j.status);

describe('training worker', () => {
  it('when a job is submitted, then it runs to succeeded and its model predicts the classes', async () => {
    const submitted = await h.submit({
      datasetId: iris,
      target: 'species',
      training: { epochs: 40, earlyStopping: false },
    });
    expect(submitted.status).toBe('queued');
    const job = await h.waitFor(submitted.id, terminal);
    expect(job.status).toBe('succeeded');
    expect(job.error).toBeNull();
    expect(job.history.map((e) => e.epoch)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(job.progress).toEqual({ epoch: 40, epochs: 40 });
    expect(job.attempts).toHaveLength(1);
    expect(job.attempts[0]).toMatchObject({ attempt: 1, outcome: null, resumedFromEpoch: 0 });
    expect(job.attempts[0].endedAt).not.toBeNull();
    // The checkpoint is removed just after the final state is committed.
    await expect.poll(() => existsSync(h.paths.checkpoint(job.id)), { timeout: 2000 }).toBe(false);

    const model = await h.models.get(TENANT, job.modelId!);
    expect(model).toMatchObject({
      jobId: job.id,
      task: 'classification',
      classes: ['setosa', 'versicolor', 'virginica'],
      epochsTrained: 40,
    });
    expect(await h.models.get('someone-else', job.modelId!)).toBeNull();
    await expect(h.jobs.cancel(TENANT, job.id)).rejects.toMatchObject({ status: 409 });
    const artifact = await h.models.loadArtifact(job.modelId!);
    const net = Sequential.fromJSON(artifact.network as never);
    const enc = Encoder.fromJSON(artifact.encoder);
    const rows = [
      { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
      { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.6, petal_width: 2.3 },
    ];
    const probs = net.forward(enc.transformRecords(rows), rows.length);
    const argmax = (o: number) => [0, 1, 2].reduce((b, j) => (probs[o + j] > probs[o + b] ? j : b), 0);
    expect([enc.classes![argmax(0)], enc.classes![argmax(3)]]).toEqual(['setosa', 'virginica']);
  });

  it('when a running job is cancelled, then it stops within an epoch and is cancelled without a model', async () => {
    const submitted = await h.submit({
      datasetId: friedman,
      target: 'y',
      model: { layers: [{ units: 64 }, { units: 64 }] },
      training: { epochs: 5000, earlyStopping: false, batchSize: 8 },
    });
    await h.waitFor(submitted.id, (j) => j.progress.epoch >= 2);
    const answer = await h.jobs.cancel(TENANT, submitted.id);
    expect(answer.cancelRequested).toBe(true);
    const job = await h.waitFor(submitted.id, terminal, 10_000);
    expect(job.status).toBe('cancelled');
    expect(job.modelId).toBeNull();
    expect(job.progress.epoch).toBeLessThan(5000);
    expect(job.attempts.at(-1)?.outcome).toBe('cancelled');
    // The checkpoint goes right after the final state is committed.
    await expect.poll(() => existsSync(h.paths.checkpoint(job.id)), { timeout: 2000 }).toBe(false);
    // The job has finished (cancelled): cancelling it again is a conflict.
    await expect(h.jobs.cancel(TENANT, submitted.id)).rejects.toMatchObject({ status: 409 });
  });

  it('when the loss diverges, then the job fails with code diverged and no model is written', async () => {
    const before = (await h.models.list(TENANT, { limit: 100 })).data.length;
    const submitted = await h.submit({
      datasetId: friedman,
      target: 'y',
      preprocessing: { scaling: 'none' },
      training: { epochs: 50, optimizer: { type: 'sgd', learningRate: 10 } },
    });
    const job = await h.waitFor(submitted.id, terminal);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('diverged');
    expect(job.modelId).toBeNull();
    expect((await h.models.list(TENANT, { limit: 100 })).data.length).toBe(before);
    expect(job.attempts).toHaveLength(1); // no retry
  });

  it('when a job runs past maxRuntimeSeconds, then it fails with code timeout and no model', async () => {
    const submitted = await h.submit({
      datasetId: friedman,
      target: 'y',
      training: { epochs: 9000, earlyStopping: false, batchSize: 8, maxRuntimeSeconds: 1 },
    });
    const job = await h.waitFor(submitted.id, terminal, 15_000);
    expect(job.status).toBe('failed');
    expect(job.error).toEqual({ code: 'timeout', message: expect.stringContaining('maxRuntimeSeconds') });
    expect(job.modelId).toBeNull();
    expect(job.progress.epoch).toBeLessThan(9000);
  });

  it('when a queued job is cancelled, then it is cancelled at once and never runs', async () => {
    // Fill the single worker slot first, so the next job stays queued.
    const blocker = await h.submit({
      datasetId: friedman,
      target: 'y',
      training: { epochs: 5000, earlyStopping: false, batchSize: 8 },
    });
    await h.waitFor(blocker.id, (j) => j.status === 'running');
    const queued = await h.submit({ datasetId: iris, target: 'species', training: { epochs: 5 } });
    const cancelled = await h.jobs.cancel(TENANT, queued.id);
    expect(cancelled.status).toBe('cancelled');
    await h.jobs.cancel(TENANT, blocker.id);
    await h.waitFor(blocker.id, terminal, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const after = await h.jobs.get(TENANT, queued.id);
    expect(after.status).toBe('cancelled');
    expect(after.attempts).toEqual([]);
    expect(existsSync(h.paths.checkpoint(queued.id))).toBe(false);
  });
});
