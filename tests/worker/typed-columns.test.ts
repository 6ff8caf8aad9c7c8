// Training reads the typed columns stored at upload instead of parsing the CSV again: a job
// trains with the dataset's CSV deleted, and its results equal those of a job that parsed it.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, TENANT, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

const terminal = (j: { status: string }) => ['succeeded', 'failed', 'cancelled'].includes(j.status);

describe('typed columns stored at upload', () => {
  it('when the CSV is gone but its typed columns are stored, then a job trains from them, exactly as a job that parses the CSV', async () => {
    // loans: numeric with missing cells, categorical, yes/no boolean, a categorical target.
    const fromColumns = await h.upload('loans');
    const fromCsv = await h.upload('loans');
    expect(existsSync(h.paths.datasetColumns(fromColumns))).toBe(true);
    // The first can no longer be parsed; the second reads like a dataset stored before typed columns.
    await rm(h.paths.dataset(fromColumns));
    await rm(h.paths.datasetColumns(fromCsv));

    const spec = { target: 'decision', training: { epochs: 4, earlyStopping: false as const, seed: 7 } };
    const a = await h.submit({ ...spec, datasetId: fromColumns });
    const jobA = await h.waitFor(a.id, terminal, 90_000);
    const b = await h.submit({ ...spec, datasetId: fromCsv });
    const jobB = await h.waitFor(b.id, terminal, 90_000);
    expect(jobA.error).toBeNull();
    expect(jobA.status).toBe('succeeded');
    expect(jobB.status).toBe('succeeded');
    expect(jobA.history.length).toBe(4);
    expect(jobA.history.map((e) => [e.loss, e.valLoss])).toEqual(
      jobB.history.map((e) => [e.loss, e.valLoss]),
    );
    const [modelA, modelB] = await Promise.all([
      h.models.get(TENANT, jobA.modelId!),
      h.models.get(TENANT, jobB.modelId!),
    ]);
    expect(modelA!.metrics).toEqual(modelB!.metrics);
  });

  it('when neither the CSV nor its columns are left, then the job fails as the dataset deleted', async () => {
    const id = await h.upload('iris');
    await rm(h.paths.dataset(id));
    await rm(h.paths.datasetColumns(id));
    const job = await h.waitFor((await h.submit({ datasetId: id, target: 'species' })).id, terminal, 90_000);
    expect(job.status).toBe('failed');
    expect(job.error?.message ?? '').toMatch(/no longer exists/);
  });
});
