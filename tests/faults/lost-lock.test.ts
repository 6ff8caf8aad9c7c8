// A worker frozen (SIGSTOP) past its lock duration while another worker takes the job over, then
// continued (SIGCONT): the compare-and-set on the job record leaves one result and one model.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  attemptStarted,
  epochs1toN,
  runnerOf,
  longRegression,
  sleep,
  startStack,
  terminal,
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

const EPOCHS = 250;

// Each test starts its own workers; none may take the next test's job.
afterEach(() => stack.stopWorkers());

/** No artifact without a model record, and no checkpoint left behind by the stale attempt. */
async function expectNoOrphans(jobId: string) {
  const listed = await stack.request('GET', '/v1/models?limit=100');
  const ids = (listed.body.data as Array<{ id: string }>).map((m) => `${m.id}.json`).sort();
  expect(stack.modelFiles().sort()).toEqual(ids);
  expect(existsSync(join(stack.dataDir, 'checkpoints', `${jobId}.ckpt`))).toBe(false);
}

describe('a worker that lost its lock', () => {
  it('when a frozen worker is continued after another took its job over, then the job has one result, one model and each epoch once', async () => {
    const pair = [await stack.startWorker('worker-a'), await stack.startWorker('worker-b')];
    const job = await stack.submitRetrying(longRegression(friedman, EPOCHS));
    const { runner: frozen, others } = await runnerOf(pair, job.id, 1);
    const successor = others[0];
    await stack.waitFor(job.id, (j) => j.progress.epoch >= 5);
    frozen.signal('SIGSTOP');

    // The lock (2 s) expires, the stalled check hands the job to the successor.
    const takenOver = await stack.waitFor(
      job.id,
      (j) => j.attempts.length === 2 && j.status === 'running',
      30_000,
    );
    expect(takenOver.attempts[0].outcome).toBe('workerCrashed');
    await successor.waitForLine(attemptStarted(job.id, 2), 5000);
    await stack.waitFor(
      job.id,
      (j) => j.attempts.length === 2 && j.progress.epoch >= takenOver.progress.epoch + 3,
    );
    frozen.signal('SIGCONT');

    const done = await stack.waitFor(job.id, terminal, 60_000);
    // Give the continued worker time to try whatever it still had in mind.
    await sleep(2000);
    const after = await stack.job(job.id);
    expect(after).toEqual(done);
    expect(after.status).toBe('succeeded');
    expect(after.history.map((e) => e.epoch)).toEqual(epochs1toN(EPOCHS));
    expect(after.attempts).toHaveLength(2);
    expect(after.attempts[1].outcome).toBeNull();
    const models = await stack.modelsOf(job.id);
    expect(models).toHaveLength(1);
    expect(models[0].id).toBe(after.modelId);
    await expectNoOrphans(job.id);
    expect(frozen.alive()).toBe(true);
    expect(successor.alive()).toBe(true);
  }, 120_000);

  it('when a frozen worker is continued only after another finished its job, then the result stands and nothing is left behind', async () => {
    const pair = [await stack.startWorker('worker-c'), await stack.startWorker('worker-d')];
    const job = await stack.submitRetrying(longRegression(friedman, EPOCHS));
    const { runner: frozen, others } = await runnerOf(pair, job.id, 1);
    const successor = others[0];
    await stack.waitFor(job.id, (j) => j.progress.epoch >= 5);
    frozen.signal('SIGSTOP');

    const done = await stack.waitFor(job.id, terminal, 60_000);
    expect(done.status).toBe('succeeded');
    expect(done.attempts.map((a) => a.outcome)).toEqual(['workerCrashed', null]);
    frozen.signal('SIGCONT');
    await sleep(3000);
    const after = await stack.job(job.id);
    expect(after).toEqual(done);
    expect(after.history.map((e) => e.epoch)).toEqual(epochs1toN(EPOCHS));
    expect(await stack.modelsOf(job.id)).toHaveLength(1);
    await expectNoOrphans(job.id);
    expect(frozen.alive()).toBe(true);
    expect(successor.alive()).toBe(true);
  }, 120_000);
});
