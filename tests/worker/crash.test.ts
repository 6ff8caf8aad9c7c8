// Workers as real processes (node --import tsx src/worker/main.ts), killed with SIGKILL mid-run
// like a crash or an OOM kill. Short locks and stall checks (tests/helpers/processes.ts) make the
// queue notice within seconds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, stopAllProcesses, testProfile, type ServiceProcess } from '../helpers/processes.js';
import { createHarness, TENANT, type Harness } from './harness.js';

let h: Harness;
let friedman: string;

beforeAll(async () => {
  h = await createHarness({
    LOCK_DURATION_MS: testProfile.LOCK_DURATION_MS,
    STALLED_INTERVAL_MS: testProfile.STALLED_INTERVAL_MS,
  });
  friedman = await h.upload('friedman1');
});
afterAll(async () => {
  await stopAllProcesses();
  await h?.close();
});

// A checkpoint after every epoch: a job killed at epoch 2 has one to resume from (by default the
// first comes a CHECKPOINT_INTERVAL_MS into training).
const env = () => ({
  REDIS_PREFIX: h.config.REDIS_PREFIX,
  DATA_DIR: h.paths.root,
  LOG_LEVEL: 'info',
  CHECKPOINT_INTERVAL_MS: '0',
});
const terminal = (j: { status: string }) => ['succeeded', 'failed', 'cancelled'].includes(j.status);
const longSpec = (epochs: number) => ({
  datasetId: friedman,
  target: 'y',
  model: { layers: [{ units: 32 }, { units: 32 }] },
  training: { epochs, batchSize: 16, earlyStopping: false as const },
});

async function killWhileRunning(worker: ServiceProcess, jobId: string, attempt: number) {
  await h.waitFor(
    jobId,
    (j) => j.status === 'running' && j.attempts.length === attempt && j.progress.epoch >= 2,
    30_000,
  );
  worker.signal('SIGKILL');
  await worker.exited();
}

describe('worker crashes', () => {
  it('when the worker running a job is killed, then another worker resumes it from the checkpoint and each epoch is recorded once', async () => {
    const first = await startWorker({ env: env() }, 'worker-1');
    const job = await h.submit(longSpec(60));
    await killWhileRunning(first, job.id, 1);
    await startWorker({ env: env() }, 'worker-2');
    const done = await h.waitFor(job.id, terminal, 50_000);
    expect(done.status).toBe('succeeded');
    expect(done.history.map((e) => e.epoch)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(done.attempts).toHaveLength(2);
    expect(done.attempts[0].outcome).toBe('workerCrashed');
    expect(done.attempts[1].resumedFromEpoch).toBeGreaterThanOrEqual(1);
    expect(await h.models.get(TENANT, done.modelId!)).not.toBeNull();
    await stopAllProcesses();
  });

  it('when a worker gets SIGTERM, then it hands its job back, exits 0 within the grace period, and another worker finishes the job', async () => {
    const first = await startWorker({ env: env() }, 'terminated');
    const job = await h.submit(longSpec(60));
    await h.waitFor(job.id, (j) => j.status === 'running' && j.progress.epoch >= 2, 30_000);
    const sent = Date.now();
    first.signal('SIGTERM');
    const exit = await first.exited();
    expect(exit.code).toBe(0);
    expect(Date.now() - sent).toBeLessThan(Number(testProfile.SHUTDOWN_GRACE_MS));
    const handedBack = await h.jobs.get(TENANT, job.id);
    expect(handedBack.status).toBe('queued');
    expect(handedBack.attempts[0].outcome).toBe('shutdown');
    await startWorker({ env: env() }, 'successor');
    const done = await h.waitFor(job.id, terminal, 50_000);
    expect(done.status).toBe('succeeded');
    expect(done.attempts.map((a) => a.outcome)).toEqual(['shutdown', null]);
    expect(done.history.map((e) => e.epoch)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    await stopAllProcesses();
  });

  it('when every worker that takes a job dies, then the job ends failed with code workerCrashed', async () => {
    const job = await h.submit(longSpec(9000));
    // maxStalledCount 2: the third stall fails the job for good.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const w = await startWorker({ env: env() }, `doomed-${attempt}`);
      await killWhileRunning(w, job.id, attempt);
    }
    await startWorker({ env: env() }, 'survivor');
    const done = await h.waitFor(job.id, terminal, 30_000);
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('workerCrashed');
    expect(done.modelId).toBeNull();
    expect(done.attempts.every((a) => a.endedAt !== null)).toBe(true);
    expect((await h.jobStore.activeJobs(TENANT)).length).toBe(0);
  });
});
