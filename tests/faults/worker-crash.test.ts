// Worker processes that die: SIGKILL mid-training (resume from the checkpoint, same weights as an
// uninterrupted run), a job that kills every worker that starts it (bounded attempts, then
// workerCrashed), and a diverging job (failed at once, no retry, no model).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../helpers/processes.js';
import {
  attemptStarted,
  epochs1toN,
  longRegression,
  runnerOf,
  startStack,
  terminal,
  type JobView,
  type Stack,
} from './stack.js';

let stack: Stack;
let friedman: string;

beforeAll(async () => {
  stack = await startStack();
  friedman = await stack.uploadFixture('friedman1');
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

// Each test starts its own workers; none may take the next test's job.
afterEach(() => stack.stopWorkers());

// About 7 s of training on two cores (~28 ms an epoch): long enough to be interrupted mid-run.
const EPOCHS = 250;

describe('a worker killed mid-training', () => {
  it('when the worker running a job is SIGKILLed, then another worker resumes it from the checkpoint and the weights equal an uninterrupted run', async () => {
    const pair = [await stack.startWorker('worker-a'), await stack.startWorker('worker-b')];
    const job = await stack.submitRetrying(longRegression(friedman, EPOCHS));
    const { runner: first, others } = await runnerOf(pair, job.id, 1);
    const second = others[0];
    await stack.waitFor(job.id, (j) => j.progress.epoch >= 5);
    // The first checkpoint comes CHECKPOINT_INTERVAL_MS (1 s) into training.
    const checkpoint = join(stack.dataDir, 'checkpoints', `${job.id}.ckpt`);
    await expect.poll(() => existsSync(checkpoint), { timeout: 30_000, interval: 50 }).toBe(true);
    first.signal('SIGKILL');
    const killedAt = (await stack.job(job.id)).progress.epoch;
    expect(killedAt).toBeLessThan(EPOCHS);
    await first.exited();

    const done = await stack.waitFor(job.id, terminal, 60_000);
    expect(done.status).toBe('succeeded');
    expect(done.history.map((e) => e.epoch)).toEqual(epochs1toN(EPOCHS));
    expect(done.attempts).toHaveLength(2);
    expect(done.attempts[0].outcome).toBe('workerCrashed');
    // Resumed from a checkpoint (taken at most CHECKPOINT_INTERVAL_MS apart), not from scratch.
    expect(done.attempts[1].resumedFromEpoch).toBeGreaterThanOrEqual(1);
    expect(done.attempts[1].resumedFromEpoch).toBeLessThanOrEqual(killedAt);
    expect(done.attempts[1].outcome).toBeNull();
    expect(second.output()).toMatch(attemptStarted(job.id, 2));
    expect(await stack.modelsOf(job.id)).toHaveLength(1);

    // The same spec and seed, trained without interruption by the surviving worker.
    const straight = await stack.waitFor(
      (await stack.submitRetrying(longRegression(friedman, EPOCHS))).id,
      terminal,
      60_000,
    );
    expect(straight.status).toBe('succeeded');
    expect(straight.attempts).toHaveLength(1);
    expect(stack.networkParams(done.modelId!)).toEqual(stack.networkParams(straight.modelId!));
    expect(done.history).toEqual(straight.history);
  }, 120_000);
});

describe('a job that kills every worker that starts it', () => {
  it('when each worker is SIGKILLed as it starts the job, then the job ends failed with workerCrashed after a bounded number of attempts', async () => {
    const job = await stack.submitRetrying(longRegression(friedman, 2000));
    const kills: number[] = [];
    let current: JobView = job;
    let worker: ServiceProcess | null = null;
    for (let round = 1; round <= 6 && !terminal(current); round++) {
      worker = await stack.startWorker(`crasher-${round}`);
      const started = attemptStarted(job.id, round);
      const outcome = await Promise.race([
        worker.waitForLine(started, 30_000).then(() => 'started' as const),
        stack.waitFor(job.id, terminal, 30_000).then(() => 'terminal' as const),
      ]);
      if (outcome === 'started') {
        worker.signal('SIGKILL');
        await worker.exited();
        kills.push(round);
        worker = null;
      }
      current = await stack.job(job.id);
    }
    // The last worker killed leaves no one to run the stalled check: a fresh one notices.
    if (!terminal(current)) {
      worker ??= await stack.startWorker('observer');
      current = await stack.waitFor(job.id, terminal, 30_000);
    }
    expect(current.status).toBe('failed');
    expect(current.error?.code).toBe('workerCrashed');
    expect(current.modelId).toBeNull();
    // maxStalledCount 2: the third stall fails the job, so three attempts started and were killed.
    expect(kills).toEqual([1, 2, 3]);
    expect(current.attempts).toHaveLength(3);
    expect(current.attempts.every((a) => a.outcome === 'workerCrashed')).toBe(true);
    expect(await stack.modelsOf(job.id)).toEqual([]);
  }, 120_000);
});

describe('a diverging job', () => {
  it('when the loss becomes non-finite, then the job fails with diverged, is not retried and leaves no model', async () => {
    const worker = await stack.startWorker('diverge');
    const job = await stack.submitRetrying({
      datasetId: friedman,
      target: 'y',
      preprocessing: { scaling: 'none' },
      training: { epochs: 50, optimizer: { type: 'sgd', learningRate: 10 }, earlyStopping: false },
    });
    const done = await stack.waitFor(job.id, terminal, 30_000);
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('diverged');
    expect(done.modelId).toBeNull();
    expect(done.attempts).toHaveLength(1);
    expect(done.attempts[0].outcome).toBe('diverged');
    // Still failed and still one attempt a moment later: BullMQ did not retry it.
    await new Promise((r) => setTimeout(r, 1500));
    const later = await stack.job(job.id);
    expect(later.status).toBe('failed');
    expect(later.attempts).toHaveLength(1);
    expect(await stack.modelsOf(job.id)).toEqual([]);
    expect(worker.alive()).toBe(true);
  }, 60_000);
});
