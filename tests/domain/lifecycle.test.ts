// The job lifecycle's transitions, as pure functions over a record: no Redis, no threads.
import { describe, expect, it } from 'vitest';
import {
  decideAttemptEnd,
  finishJob,
  isTerminal,
  newTrainingJob,
  releaseAttempt,
  remainingRuntimeMs,
  requestCancel,
  startAttempt,
  startTrainingAttempt,
  succeedTraining,
  usedRuntimeMs,
  type Leased,
  type StopReason,
  type WorkEnd,
} from '../../src/domain/lifecycle.js';
import type { Job } from '../../src/domain/schemas.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:10.000Z';
const T2 = '2026-01-01T00:01:00.000Z';

const SPEC = { datasetId: 'ds_1', training: { epochs: 100 } } as Job['spec']; // all the lifecycle reads
const queuedJob = (over: Partial<Job> = {}): Job => ({ ...newTrainingJob('job_1', SPEC, T0), ...over });

const leased = (job: Job, token: string | null = null): Leased<Job> => ({
  job,
  lease: token ? { token, attempt: job.attempts.length } : null,
});

/** A job running its first attempt under lease "a". */
function running(): Leased<Job> {
  const next = startAttempt(leased(queuedJob()), { token: 'a', at: T0, resumedFromEpoch: 0 });
  if (!next) throw new Error('a queued job must start');
  return next;
}

describe('startAttempt', () => {
  it('when a queued job starts, then it runs under a fresh lease with one open attempt', () => {
    const next = running();
    expect(next.job.status).toBe('running');
    expect(next.job.startedAt).toBe(T0);
    expect(next.lease).toEqual({ token: 'a', attempt: 1 });
    expect(next.job.attempts).toEqual([
      { attempt: 1, startedAt: T0, endedAt: null, outcome: null, resumedFromEpoch: 0 },
    ]);
  });

  it('when an attempt is still open, then it is closed as workerCrashed and the first start time stays', () => {
    const next = startAttempt(running(), { token: 'b', at: T1, resumedFromEpoch: 7 });
    expect(next?.lease).toEqual({ token: 'b', attempt: 2 });
    expect(next?.job.startedAt).toBe(T0);
    expect(next?.job.attempts).toEqual([
      { attempt: 1, startedAt: T0, endedAt: T1, outcome: 'workerCrashed', resumedFromEpoch: 0 },
      { attempt: 2, startedAt: T1, endedAt: null, outcome: null, resumedFromEpoch: 7 },
    ]);
  });

  it('when the job is final or a cancel was requested, then no attempt starts', () => {
    const start = { token: 'b', at: T1, resumedFromEpoch: 0 };
    expect(startAttempt(leased(queuedJob({ status: 'cancelled' })), start)).toBeNull();
    expect(startAttempt(leased(queuedJob({ cancelRequested: true })), start)).toBeNull();
  });

  it('when a training attempt resumes from a checkpoint, then the history is trimmed to its epochs', () => {
    const ran = running();
    const ahead = { ...ran, job: { ...ran.job, history: [1, 2, 3].map((epoch) => ({ epoch, loss: 1 })) } };
    const next = startTrainingAttempt(ahead, {
      token: 'b',
      at: T1,
      checkpointHistory: [{ epoch: 1, loss: 1 }],
    });
    expect(next?.job.history).toEqual([{ epoch: 1, loss: 1 }]);
    expect(next?.job.progress).toEqual({ epoch: 1, epochs: 100 });
    expect(next?.job.attempts[1].resumedFromEpoch).toBe(1);
    const fresh = startTrainingAttempt(ahead, { token: 'c', at: T1, checkpointHistory: null });
    expect(fresh?.job.history).toEqual([]);
    expect(fresh?.job.progress.epoch).toBe(0);
  });
});

describe('finishJob', () => {
  it('when the lease holder fails the job, then the attempt ends with the error code and the lease goes', () => {
    const end = { status: 'failed', error: { code: 'diverged', message: 'loss is NaN' } } as const;
    const next = finishJob(running(), { token: 'a', at: T1, end });
    expect(next?.job).toMatchObject({ status: 'failed', finishedAt: T1, error: end.error });
    expect(next?.job.attempts[0]).toMatchObject({ endedAt: T1, outcome: 'diverged' });
    expect(next?.lease).toBeNull();
  });

  it('when another token or a final job is given, then nothing is written; token null ignores the lease', () => {
    const cancel = { status: 'cancelled' } as const;
    expect(finishJob(running(), { token: 'stale', at: T1, end: cancel })).toBeNull();
    expect(
      finishJob(leased(queuedJob({ status: 'succeeded' })), { token: null, at: T1, end: cancel }),
    ).toBeNull();
    const forced = finishJob(running(), { token: null, at: T1, end: cancel });
    expect(forced?.job.status).toBe('cancelled');
    expect(forced?.job.attempts[0].outcome).toBe('cancelled');
  });
});

describe('releaseAttempt', () => {
  it('when the lease holder hands the job back, then it is queued again with the attempt closed', () => {
    const next = releaseAttempt(running(), { token: 'a', at: T1, outcome: 'shutdown' });
    expect(next?.job.status).toBe('queued');
    expect(next?.job.attempts[0]).toMatchObject({ endedAt: T1, outcome: 'shutdown' });
    expect(next?.lease).toBeNull();
    expect(releaseAttempt(running(), { token: 'stale', at: T1, outcome: 'shutdown' })).toBeNull();
  });
});

describe('succeedTraining', () => {
  const success = {
    token: 'a',
    at: T1,
    modelId: 'mdl_1',
    history: [{ epoch: 1, loss: 0.5 }],
    epochsTrained: 1,
  };

  it('when the lease holder commits, then the job succeeds with its model and history', () => {
    const next = succeedTraining(running(), success);
    expect(next?.job).toMatchObject({
      status: 'succeeded',
      modelId: 'mdl_1',
      finishedAt: T1,
      history: success.history,
      progress: { epoch: 1, epochs: 100 },
    });
    expect(next?.job.attempts[0]).toMatchObject({ endedAt: T1, outcome: null });
    expect(next?.lease).toBeNull();
  });

  it('when the job was taken over or is no longer running, then the result is not committed', () => {
    expect(succeedTraining(running(), { ...success, token: 'stale' })).toBeNull();
    const cancelled = finishJob(running(), { token: 'a', at: T1, end: { status: 'cancelled' } });
    expect(succeedTraining({ job: cancelled!.job, lease: { token: 'a', attempt: 1 } }, success)).toBeNull();
  });
});

describe('requestCancel', () => {
  it('when the job is queued, then it is cancelled at once', () => {
    const next = requestCancel(leased(queuedJob()), T1);
    expect(next?.job).toMatchObject({ status: 'cancelled', cancelRequested: true, finishedAt: T1 });
  });

  it('when the job runs, then it is only flagged and the running attempt keeps its lease', () => {
    const next = requestCancel(running(), T1);
    expect(next?.job).toMatchObject({ status: 'running', cancelRequested: true, finishedAt: null });
    expect(next?.lease).toEqual({ token: 'a', attempt: 1 });
    expect(requestCancel(next!, T2)).toBeNull();
  });

  it('when the job is final, then nothing changes', () => {
    for (const status of ['succeeded', 'failed', 'cancelled'] as const) {
      expect(requestCancel(leased(queuedJob({ status })), T1)).toBeNull();
      expect(isTerminal({ status })).toBe(true);
    }
  });
});

describe('runtime budget', () => {
  it('counts only closed attempts: 10 s + 50 s of a 100 s budget leaves 40 s', () => {
    const attempts = [
      { attempt: 1, startedAt: T0, endedAt: T1, outcome: 'workerCrashed', resumedFromEpoch: 0 },
      { attempt: 2, startedAt: T1, endedAt: T2, outcome: 'shutdown', resumedFromEpoch: 3 },
      { attempt: 3, startedAt: T2, endedAt: null, outcome: null, resumedFromEpoch: 9 },
    ];
    expect(usedRuntimeMs(attempts)).toBe(60_000);
    expect(remainingRuntimeMs(attempts, 100)).toBe(40_000);
    expect(remainingRuntimeMs(attempts, 30)).toBe(0);
  });
});

describe('decideAttemptEnd', () => {
  const ctx = { lastDelivery: false, timeoutMessage: 'too slow', internalMessage: 'internal' };
  const done: WorkEnd<'diverged'> = { kind: 'done' };
  const failed: WorkEnd<'diverged'> = { kind: 'failed', code: 'diverged', message: 'NaN' };
  const error: WorkEnd<'diverged'> = { kind: 'error' };
  const decide = (stop: StopReason | null, work: WorkEnd<'diverged'>, last = false) =>
    decideAttemptEnd(stop, work, { ...ctx, lastDelivery: last }).kind;

  it('when the lease was lost, then nothing is written whatever the work did', () => {
    expect([done, failed, error].map((w) => decide('lost', w))).toEqual(['lost', 'lost', 'lost']);
  });

  it('when a cancel raced a result, then the cancel wins; a result wins over a late timeout or shutdown', () => {
    expect(decide('cancel', done)).toBe('cancel');
    expect(decide('timeout', done)).toBe('succeed');
    expect(decide('shutdown', done)).toBe('succeed');
  });

  it('when time ran out, then the job fails with code timeout', () => {
    expect(decideAttemptEnd('timeout', error, ctx)).toEqual({
      kind: 'fail',
      code: 'timeout',
      message: 'too slow',
    });
  });

  it('when the worker shuts down, then the job is handed back (not a failed delivery)', () => {
    expect(decideAttemptEnd('shutdown', error, ctx)).toMatchObject({
      kind: 'release',
      outcome: 'shutdown',
      delivery: 'handBack',
    });
  });

  it('when the work failed for good, then the job fails with its code at once', () => {
    expect(decideAttemptEnd(null, failed, ctx)).toEqual({ kind: 'fail', code: 'diverged', message: 'NaN' });
  });

  it('when an unexpected error happens, then it is retried until the last delivery, which fails as internal', () => {
    expect(decideAttemptEnd(null, error, ctx)).toMatchObject({
      kind: 'release',
      outcome: 'internal',
      delivery: 'retry',
    });
    expect(decideAttemptEnd(null, error, { ...ctx, lastDelivery: true })).toEqual({
      kind: 'fail',
      code: 'internal',
      message: 'internal',
    });
  });
});
