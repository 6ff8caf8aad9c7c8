// A worker process SIGKILLed in the middle of a hyperparameter search: the trial run it held resumes
// on another worker from its checkpoint, every trial is recorded once, and the search goes on from
// where it was (what was decided before the crash stands) instead of starting again. The same for
// the refit of the best trial: its run resumes elsewhere and its model is the search's result.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runnerOf, sleep, startStack, type JobView, type Stack } from './stack.js';

let stack: Stack;
let friedman: string;

beforeAll(async () => {
  stack = await startStack();
  friedman = await stack.uploadFixture('friedman1');
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

interface TrialView {
  index: number;
  rung: number;
  state: string;
  jobId: string;
  rungMetrics: number[];
}
interface SearchView {
  id: string;
  status: string;
  createdAt: string;
  trialsStarted: number;
  leaderboard: TrialView[];
  modelId: string | null;
  stage?: string;
  refit?: { trial: number; jobId: string | null; state: string; modelId: string | null } | null;
}

const MAX_TRIALS = 8;

async function search(id: string): Promise<SearchView> {
  const reply = await stack.request('GET', `/v1/tuning-jobs/${id}`);
  expect(reply.status).toBe(200);
  return reply.body as SearchView;
}

/** Polls until a trial run is mid-training (past its second epoch) after at least one trial completed. */
async function runningTrialAfterACompletedOne(id: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await search(id);
    if (s.leaderboard.some((t) => t.rungMetrics.length > 0)) {
      for (const trial of s.leaderboard.filter((t) => t.state === 'running' && t.rung >= 1)) {
        const job = await stack.job(trial.jobId);
        if (job.status === 'running' && job.progress.epoch >= 2) return { before: s, trial, job };
      }
    }
    await sleep(50);
  }
  throw new Error(`no trial of ${id} was caught mid-training within ${timeoutMs} ms`);
}

describe('a worker killed mid-search', () => {
  it('when the worker running a trial is SIGKILLed, then the trial resumes elsewhere and the search finishes with every trial once', async () => {
    const workers = [await stack.startWorker('search-a'), await stack.startWorker('search-b')];
    const created = await stack.request('POST', '/v1/tuning-jobs', {
      datasetId: friedman,
      target: 'y',
      maxTrials: MAX_TRIALS,
      // Rungs of 3, 9, 27 and 81 epochs of a 2 × 64–128 network on 1,400 training rows: the upper
      // rungs take seconds, long enough to be interrupted.
      maxEpochs: 81,
      parallelTrials: 2,
      searchSpace: { depth: { min: 2, max: 2 }, width: { min: 64, max: 128 }, batchSize: [16] },
      seed: 11,
    });
    expect(created.status).toBe(202);
    const id = (created.body as SearchView).id;

    const { before, trial, job } = await runningTrialAfterACompletedOne(id);
    const attempt = job.attempts.length;
    const { runner } = await runnerOf(workers, trial.jobId, attempt);
    runner.signal('SIGKILL');
    await runner.exited();
    await stack.startWorker('search-c');

    const deadline = Date.now() + 240_000;
    let done = await search(id);
    while (!['succeeded', 'failed', 'cancelled'].includes(done.status) && Date.now() < deadline) {
      await sleep(250);
      done = await search(id);
    }
    expect(done.status).toBe('succeeded');
    expect(done.createdAt).toBe(before.createdAt);
    expect(done.trialsStarted).toBe(MAX_TRIALS);
    expect(done.leaderboard.map((t) => t.index).sort((a, b) => a - b)).toEqual(
      Array.from({ length: MAX_TRIALS }, (_, i) => i),
    );
    expect(done.modelId).not.toBeNull();

    // The interrupted trial run was resumed, not dropped: its crashed attempt, then a resumed one;
    // each epoch recorded once.
    const resumed: JobView = await stack.job(trial.jobId);
    expect(resumed.status).toBe('succeeded');
    expect(resumed.attempts[attempt - 1].outcome).toBe('workerCrashed');
    expect(resumed.attempts.at(-1)!.outcome).toBeNull();
    const epochs = resumed.history.map((e) => e.epoch);
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => i + 1));
    const after = done.leaderboard.find((t) => t.index === trial.index)!;
    expect(after.rungMetrics.length).toBeGreaterThan(trial.rungMetrics.length);

    // The search went on from where it was: every rung result recorded before the crash stands.
    for (const t of before.leaderboard) {
      const now = done.leaderboard.find((x) => x.index === t.index)!;
      expect(now.rungMetrics.slice(0, t.rungMetrics.length)).toEqual(t.rungMetrics);
    }
  }, 300_000);

  it('when the worker running the refit is SIGKILLed, then the refit resumes elsewhere and its model is the result', async () => {
    await stack.stopWorkers();
    const workers = [await stack.startWorker('refit-a'), await stack.startWorker('refit-b')];
    // One trial of 40 epochs; its refit trains five 2 × 128 networks (with the encoding) side by
    // side on 1,120 rows each, for up to the default job's 500 epochs with its early stopping:
    // seconds, long enough to be interrupted. (The space leaves out the default job's parameters:
    // batch 16 only.)
    const created = await stack.request('POST', '/v1/tuning-jobs', {
      datasetId: friedman,
      target: 'y',
      maxTrials: 1,
      maxEpochs: 40,
      searchSpace: { depth: { min: 2, max: 2 }, width: { min: 128, max: 128 }, batchSize: [16] },
      seed: 13,
    });
    expect(created.status).toBe(202);
    const id = (created.body as SearchView).id;

    const deadline = Date.now() + 120_000;
    let caught: { jobId: string; job: JobView } | null = null;
    while (!caught && Date.now() < deadline) {
      const s = await search(id);
      expect(s.status).not.toBe('succeeded');
      if (s.stage === 'refit' && s.refit?.jobId) {
        const job = await stack.job(s.refit.jobId);
        if (job.status === 'running' && job.progress.epoch >= 2) caught = { jobId: s.refit.jobId, job };
      }
      if (!caught) await sleep(50);
    }
    if (!caught) throw new Error(`the refit of ${id} was not caught mid-training`);
    const attempt = caught.job.attempts.length;
    const { runner } = await runnerOf(workers, caught.jobId, attempt);
    runner.signal('SIGKILL');
    await runner.exited();
    await stack.startWorker('refit-c');

    let done = await search(id);
    const end = Date.now() + 240_000;
    while (!['succeeded', 'failed', 'cancelled'].includes(done.status) && Date.now() < end) {
      await sleep(250);
      done = await search(id);
    }
    expect(done).toMatchObject({ status: 'succeeded', stage: 'done', refit: { state: 'succeeded' } });
    expect(done.modelId).toBe(done.refit!.modelId);
    const resumed: JobView = await stack.job(caught.jobId);
    expect(resumed.status).toBe('succeeded');
    expect(resumed.attempts[attempt - 1].outcome).toBe('workerCrashed');
    expect(resumed.attempts.at(-1)!.outcome).toBeNull();
    const epochs = resumed.history.map((e) => e.epoch);
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => i + 1));
  }, 300_000);
});
