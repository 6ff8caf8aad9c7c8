// The training thread pool (piscina): jobs run one after another on a thread that stays loaded and
// keeps the dataset, every epoch reaches the main thread before the result, a thread that dies
// fails its job and is replaced, and an abort that the thread ignores ends with the thread
// terminated. Real threads, real training, files in a temp folder.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { readCsv } from '../../src/data/index.js';
import { resolveSpec } from '../../src/domain/jobs.js';
import { TrainingSpecInputSchema, type TrainingSpec } from '../../src/domain/schemas.js';
import type { EpochReport } from '../../src/engine/index.js';
import type { ThreadInput } from '../../src/worker/thread-protocol.js';
import { createTrainingPool, type ThreadResult, type TrainingPool } from '../../src/worker/thread-runner.js';
import { datasetOf, FIXTURES } from '../helpers/trained-model.js';

const LIMITS = { maxColumns: 100, maxRows: 100_000, maxLineBytes: 100_000 };
const MISBEHAVING = new URL('../helpers/misbehaving-train-thread.ts', import.meta.url);
let dir: string;
let spec: TrainingSpec;
const pools: TrainingPool[] = [];
const pool = (entry?: URL) => {
  const p = createTrainingPool({ threads: 1, cacheBytes: 64 * 1024 * 1024, entry });
  pools.push(p);
  return p;
};

const input = (datasetId: string, over: Partial<ThreadInput> = {}): ThreadInput => ({
  spec: { ...spec, datasetId },
  files: { kind: 'local', dir },
  csvLimits: LIMITS,
  resume: null,
  checkpointIntervalMs: 1000,
  engineThreads: 1,
  ...over,
});

/** Runs one job to its end, answering every epoch batch with continue; returns the result and the epochs seen. */
async function run(p: TrainingPool, job: ThreadInput) {
  const epochs: EpochReport[] = [];
  const states: boolean[] = [];
  const handle = p.start(job, async (reports, state) => {
    epochs.push(...reports);
    states.push(state !== null);
    return 'continue';
  });
  const result = await handle.result;
  return { result, epochs: epochs.map((e) => e.epoch), states };
}

const artifactOf = (r: ThreadResult) => (r.kind === 'done' ? r.outcome.artifact : null);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bp-pool-'));
  await mkdir(join(dir, 'datasets'));
  await copyFile(join(FIXTURES, 'iris.csv'), join(dir, 'datasets', 'ds_iris.csv'));
  const table = await readCsv(createReadStream(join(FIXTURES, 'iris.csv')), LIMITS);
  spec = resolveSpec(
    TrainingSpecInputSchema.parse({ datasetId: 'ds_iris', target: 'species', training: { epochs: 3 } }),
    datasetOf(table, 'ds_iris', 'iris'),
    loadConfig({}),
  );
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('createTrainingPool', () => {
  it('when jobs run one after another, then one loaded thread runs them all and the cached dataset trains the same model', async () => {
    const p = pool();
    const first = await run(p, input('ds_iris'));
    const second = await run(p, input('ds_iris'));
    expect(first.result.kind).toBe('done');
    expect(second.result.kind).toBe('done');
    // Every epoch reached the main thread before the result did.
    expect(first.epochs).toEqual([1, 2, 3]);
    expect(second.epochs).toEqual([1, 2, 3]);
    // Same spec and seed: the second job, on the kept table and encoding, ends with the same weights.
    expect(artifactOf(second.result)).toEqual(artifactOf(first.result));
    expect(p.stats()).toEqual({ threads: 1 });
  });

  it('when the interval is 0, then every epoch carries a checkpoint the thread waits for', async () => {
    const { result, epochs, states } = await run(pool(), input('ds_iris', { checkpointIntervalMs: 0 }));
    expect(result.kind).toBe('done');
    expect(epochs).toEqual([1, 2, 3]);
    expect(states).toEqual([true, true, true]);
  });

  it('when the dataset file is gone, then the job ends datasetDeleted even though its table was cached', async () => {
    const p = pool();
    await copyFile(join(FIXTURES, 'iris.csv'), join(dir, 'datasets', 'ds_gone.csv'));
    expect((await run(p, input('ds_gone'))).result.kind).toBe('done');
    await rm(join(dir, 'datasets', 'ds_gone.csv'));
    expect((await run(p, input('ds_gone'))).result).toMatchObject({ kind: 'datasetDeleted' });
  });

  it('when a thread dies mid-job, then that job ends as an internal error and the next job runs on a new thread', async () => {
    const p = pool(MISBEHAVING);
    const died = await run(p, input('ds_exit'));
    expect(died.result).toMatchObject({ kind: 'internal' });
    expect((died.result as { message: string }).message).toMatch(/training thread stopped/);
    const next = await run(p, input('ds_iris'));
    expect(next.result.kind).toBe('done');
    expect(p.stats()).toEqual({ threads: 1 });
  }, 60_000);

  it('when an aborted job does not stop by itself, then its thread is terminated, the result is aborted, and the pool goes on', async () => {
    const p = pool(MISBEHAVING);
    const handle = p.start(input('ds_hang'), async () => 'continue');
    handle.abort();
    expect(await handle.result).toEqual({ kind: 'aborted', message: 'training stopped on request' });
    expect((await run(p, input('ds_iris'))).result.kind).toBe('done');
  }, 60_000);
});
