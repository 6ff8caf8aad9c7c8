// The job lifecycle: every transition of a job record as a pure function. The API (cancel) and the
// worker (start, progress, success, failure, hand-back) call these inside the job store's
// compare-and-set, so the rules live here once and are tested without Redis or threads.
//
//   queued ──startAttempt──▶ running ──succeedAttempt──▶ succeeded
//     │  ▲                     │ │ └──finishJob──▶ failed | cancelled
//     │  └───releaseAttempt────┘ └──requestCancel (flag; the worker then calls finishJob)
//     └──requestCancel──▶ cancelled
//
// The functions are generic over any record with the lifecycle fields (LifecycleRecord), so other
// job kinds reuse them; the training-specific parts (history, progress, model id) are thin wrappers.
import {
  TERMINAL_STATUSES,
  type Attempt,
  type EpochEntry,
  type Job,
  type JobStatus,
  type TrainingSpec,
  type TuningLink,
} from './schemas.js';

/** The fields the lifecycle reads and writes; every job kind's record has them. */
export interface LifecycleRecord {
  status: JobStatus;
  /** First time any attempt started (ISO 8601); kept across attempts. */
  startedAt: string | null;
  finishedAt: string | null;
  error: { code: string; message: string } | null;
  cancelRequested: boolean;
  attempts: Attempt[];
}

/** Which attempt may write a running job's results: a fresh token per attempt. */
export interface JobLease {
  token: string;
  /** 1-based number of the attempt holding the lease. */
  attempt: number;
}

/** A record with its lease, as the job store's compare-and-set hands it to a transition. */
export interface Leased<R extends LifecycleRecord> {
  job: R;
  lease: JobLease | null;
}

/** A transition's result: the next record and lease, or null when the transition does not apply. */
export type Transition<R extends LifecycleRecord> = Leased<R> | null;

/** Outcome written on an attempt that was still open when the next one started: its worker died. */
export const CRASHED_OUTCOME = 'workerCrashed';

/** True for succeeded, failed and cancelled. */
export const isTerminal = (job: Pick<LifecycleRecord, 'status'>): boolean =>
  TERMINAL_STATUSES.includes(job.status);

/** True when the lease is held by the attempt with this token. */
export const holdsLease = (current: { lease: JobLease | null }, token: string): boolean =>
  current.lease?.token === token;

/** Ends the open attempt (if any) at `at` with an outcome (null = it produced the result). */
export function closeAttempt(attempts: Attempt[], outcome: string | null, at: string): Attempt[] {
  return attempts.map((a) => (a.endedAt === null ? { ...a, endedAt: at, outcome } : a));
}

/**
 * Opens a new attempt under a fresh lease: the job runs. An attempt still open was left by a worker
 * that died (its queue lock expired) and is closed as workerCrashed. Null when the job is final or
 * a cancel was requested (the caller then finishes it as cancelled).
 */
export function startAttempt<R extends LifecycleRecord>(
  current: Leased<R>,
  start: { token: string; at: string; resumedFromEpoch: number },
): Transition<R> {
  const { job } = current;
  if (isTerminal(job) || job.cancelRequested) return null;
  const attempts = closeAttempt(job.attempts, CRASHED_OUTCOME, start.at);
  attempts.push({
    attempt: attempts.length + 1,
    startedAt: start.at,
    endedAt: null,
    outcome: null,
    resumedFromEpoch: start.resumedFromEpoch,
  });
  return {
    job: { ...job, status: 'running', startedAt: job.startedAt ?? start.at, attempts },
    lease: { token: start.token, attempt: attempts.length },
  };
}

/** How a job ends without a result. */
export type FinalEnd<R extends LifecycleRecord> =
  { status: 'failed'; error: NonNullable<R['error']> } | { status: 'cancelled' };

/**
 * Ends the job as failed or cancelled and closes the open attempt with the error code (or
 * "cancelled"). With a token, only the attempt holding the lease may do it; with null, anyone may
 * (a cancel seen before any attempt started, or the queue giving up on a job whose worker is gone).
 * Null when the job is already final or the lease moved on.
 */
export function finishJob<R extends LifecycleRecord>(
  current: Leased<R>,
  finish: { token: string | null; at: string; end: FinalEnd<R> },
): Transition<R> {
  const { job } = current;
  if (isTerminal(job) || (finish.token !== null && !holdsLease(current, finish.token))) return null;
  const { end, at } = finish;
  const outcome = end.status === 'failed' ? end.error.code : 'cancelled';
  return {
    job: { ...job, ...end, finishedAt: at, attempts: closeAttempt(job.attempts, outcome, at) },
    lease: null,
  };
}

/**
 * The attempt ends without a final state (a retry after an internal error, or a hand-back on
 * shutdown): the job is queued again and the lease dropped. Null unless this attempt holds the lease.
 */
export function releaseAttempt<R extends LifecycleRecord>(
  current: Leased<R>,
  release: { token: string; at: string; outcome: string },
): Transition<R> {
  const { job } = current;
  if (isTerminal(job) || !holdsLease(current, release.token)) return null;
  return {
    job: { ...job, status: 'queued', attempts: closeAttempt(job.attempts, release.outcome, release.at) },
    lease: null,
  };
}

/**
 * The attempt produced its result: the job succeeds with the kind's result fields (`result`).
 * Null unless the job is running under this attempt's lease (it was cancelled or taken over).
 */
export function succeedAttempt<R extends LifecycleRecord>(
  current: Leased<R>,
  success: { token: string; at: string; result: Partial<Omit<R, keyof LifecycleRecord>> },
): Transition<R> {
  const { job } = current;
  if (job.status !== 'running' || !holdsLease(current, success.token)) return null;
  return {
    job: {
      ...job,
      ...success.result,
      status: 'succeeded',
      finishedAt: success.at,
      attempts: closeAttempt(job.attempts, null, success.at),
    },
    lease: null,
  };
}

/**
 * A client asks to cancel. A queued job is cancelled at once; a running one is flagged and its
 * worker stops at the next epoch (then calls finishJob). Null when it is final or already flagged.
 * The lease is kept: the running attempt still owns the record until it stops.
 */
export function requestCancel<R extends LifecycleRecord>(current: Leased<R>, at: string): Transition<R> {
  const { job } = current;
  if (isTerminal(job) || job.cancelRequested) return null;
  if (job.status === 'queued') {
    return {
      job: { ...job, status: 'cancelled', cancelRequested: true, finishedAt: at },
      lease: current.lease,
    };
  }
  return { job: { ...job, cancelRequested: true }, lease: current.lease };
}

/** Wall-clock milliseconds the closed attempts used; an open attempt is not counted. */
export function usedRuntimeMs(attempts: Attempt[]): number {
  let ms = 0;
  for (const a of attempts) if (a.endedAt !== null) ms += Date.parse(a.endedAt) - Date.parse(a.startedAt);
  return ms;
}

/** What is left of a time budget (seconds, across all attempts) for the attempt now starting; ≥ 0. */
export function remainingRuntimeMs(attempts: Attempt[], budgetSeconds: number): number {
  return Math.max(0, budgetSeconds * 1000 - usedRuntimeMs(attempts));
}

// ---------- how an attempt ends ----------

/** Why the orchestrator stopped an attempt before it ended on its own. */
export type StopReason = 'cancel' | 'shutdown' | 'timeout' | 'lost';

/** How the attempt's work itself ended: a result, a failure no retry fixes (code C), or anything else. */
export type WorkEnd<C extends string> =
  { kind: 'done' } | { kind: 'failed'; code: C; message: string } | { kind: 'error' };

/** What to do with the record and the queue entry once an attempt is over. */
export type AttemptEnd<C extends string> =
  /** Another attempt owns the job: write nothing. */
  | { kind: 'lost' }
  | { kind: 'succeed' }
  | { kind: 'cancel' }
  /** Final failure; the queue entry fails too. */
  | { kind: 'fail'; code: C | 'timeout' | 'internal'; message: string }
  /** Back to the queue: `retry` counts as a failed delivery, `handBack` does not. */
  | { kind: 'release'; outcome: 'shutdown' | 'internal'; delivery: 'retry' | 'handBack'; message: string };

/** What decideAttemptEnd needs to know besides the stop reason and the work's end. */
export interface AttemptContext {
  /** The queue has no delivery left after this one. */
  lastDelivery: boolean;
  /** Client-facing messages: the time budget ran out; an internal error (details stay in the log). */
  timeoutMessage: string;
  internalMessage: string;
}

/**
 * Decides how an attempt ends, from why it was stopped (if it was), how its work ended and whether
 * the queue has another delivery left. The order matters: a lost lease writes nothing; a cancel
 * wins over a result that raced it; a result wins over a timeout or shutdown that came too late.
 */
export function decideAttemptEnd<C extends string>(
  stop: StopReason | null,
  work: WorkEnd<C>,
  ctx: AttemptContext,
): AttemptEnd<C> {
  if (stop === 'lost') return { kind: 'lost' };
  if (stop === 'cancel') return { kind: 'cancel' };
  if (work.kind === 'done') return { kind: 'succeed' };
  if (stop === 'timeout') return { kind: 'fail', code: 'timeout', message: ctx.timeoutMessage };
  if (stop === 'shutdown') {
    return { kind: 'release', outcome: 'shutdown', delivery: 'handBack', message: 'handed back on shutdown' };
  }
  if (work.kind === 'failed') return { kind: 'fail', code: work.code, message: work.message };
  if (ctx.lastDelivery) return { kind: 'fail', code: 'internal', message: ctx.internalMessage };
  return { kind: 'release', outcome: 'internal', delivery: 'retry', message: ctx.internalMessage };
}

// ---------- training jobs ----------

/**
 * A new training job, queued: nothing ran yet; progress counts toward spec.training.epochs. `tuning`
 * links a search's trial run or refit to its search (the model it makes carries the link too).
 */
export function newTrainingJob(id: string, spec: TrainingSpec, createdAt: string, tuning?: TuningLink): Job {
  return {
    ...tuning,
    id,
    status: 'queued',
    datasetId: spec.datasetId,
    spec,
    createdAt,
    startedAt: null,
    finishedAt: null,
    progress: { epoch: 0, epochs: spec.training.epochs },
    history: [],
    modelId: null,
    error: null,
    cancelRequested: false,
    attempts: [],
  };
}

/**
 * startAttempt for a training job: the record keeps exactly the epochs the checkpoint holds (later
 * ones will be trained again), and progress restarts there.
 */
export function startTrainingAttempt(
  current: Leased<Job>,
  start: { token: string; at: string; checkpointHistory: EpochEntry[] | null },
): Transition<Job> {
  const history = start.checkpointHistory ?? [];
  const next = startAttempt(current, { token: start.token, at: start.at, resumedFromEpoch: history.length });
  if (!next) return null;
  return {
    ...next,
    job: { ...next.job, history, progress: { epoch: history.length, epochs: next.job.progress.epochs } },
  };
}

/** succeedAttempt for a training job: its model, its full history and the epochs it trained. */
export function succeedTraining(
  current: Leased<Job>,
  success: { token: string; at: string; modelId: string; history: EpochEntry[]; epochsTrained: number },
): Transition<Job> {
  return succeedAttempt(current, {
    token: success.token,
    at: success.at,
    result: {
      modelId: success.modelId,
      history: success.history,
      progress: { epoch: success.epochsTrained, epochs: current.job.progress.epochs },
    },
  });
}
