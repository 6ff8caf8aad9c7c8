// The job processor: an entry point like a route. It owns the job record while an attempt runs
// (start, per-epoch progress and checkpoint, final state) and leaves the training to a thread.
// Every record write is a compare-and-set on the attempt's lease, so an attempt that lost its
// BullMQ lock (another worker took the job over) can neither append epochs nor commit a model.
// Orchestration only: the transitions are src/domain/lifecycle.ts's, the writes job-records.ts's,
// the running attempt attempt.ts's.
import { randomUUID } from 'node:crypto';
import {
  decideAttemptEnd,
  isTerminal,
  startTrainingAttempt,
  type StopReason,
  type WorkEnd,
} from '../domain/lifecycle.js';
import type { StoredJob } from '../domain/ports.js';
import type { Logger } from '../logger.js';
import type { DeliveryOutcome, TrainingDelivery } from '../queue/training-queue.js';
import { runAttempt, type AttemptRun } from './attempt.js';
import type { ProcessorDeps } from './processor-deps.js';
import { createJobRecords, toEntry, type JobRecords } from './job-records.js';
import type { ThreadResult } from './thread-runner.js';

export type { ProcessorDeps };

export interface TrainingProcessor {
  process(delivery: TrainingDelivery): Promise<DeliveryOutcome>;
  /** BullMQ gave up on a job that stalled too often: the record says so, even if its worker is gone. */
  recordStalledOut(jobId: string, reason: string): Promise<void>;
  /** Stops every running training; their jobs are handed back to the queue to resume elsewhere. */
  shutdown(): void;
  readonly running: number;
}

const GENERIC_INTERNAL = 'training failed because of an internal error';

/** What admit and settle share with the processor that calls them. */
interface ProcessorContext {
  deps: ProcessorDeps;
  records: JobRecords;
  now: () => Date;
  shuttingDown(): boolean;
}

export function createTrainingProcessor(deps: ProcessorDeps): TrainingProcessor {
  const now = deps.now ?? (() => new Date());
  const active = new Map<string, (reason: StopReason) => void>();
  let shuttingDown = false;
  const ctx: ProcessorContext = {
    deps,
    records: createJobRecords(deps, now),
    now,
    shuttingDown: () => shuttingDown,
  };

  async function process(delivery: TrainingDelivery): Promise<DeliveryOutcome> {
    const { jobId } = delivery.data;
    const log = deps.logger.child({ jobId });
    const admitted = await admit(ctx, delivery);
    if ('kind' in admitted) return admitted;
    const { stored, token, resume } = admitted;
    await ctx.records.publishStatus(stored.job);
    log.info(
      { attempt: stored.lease?.attempt, resumedFrom: stored.job.progress.epoch },
      'training attempt started',
    );
    const control = {
      register: (stop: (reason: StopReason) => void) => active.set(jobId, stop),
      shuttingDown: ctx.shuttingDown,
    };
    try {
      const run = await runAttempt(deps, stored, token, resume, control, log);
      return await settle(ctx, stored, token, run, delivery, log);
    } finally {
      active.delete(jobId);
    }
  }

  return {
    process,
    async recordStalledOut(jobId, reason) {
      const written = await ctx.records.finish(jobId, null, {
        status: 'failed',
        error: {
          code: 'workerCrashed',
          message: 'the workers running this job stopped responding too many times',
        },
      });
      if (written) deps.logger.warn({ jobId, reason }, 'job failed after repeated worker crashes');
    },
    shutdown() {
      shuttingDown = true;
      for (const stop of active.values()) stop('shutdown');
    },
    get running() {
      return active.size;
    },
  };
}

/**
 * Reads the record and starts an attempt on it (lifecycle.startTrainingAttempt) from its
 * checkpoint, if any; or answers the queue at once: the job is gone, final, cancelled, not this
 * tenant's, or the worker is stopping.
 */
async function admit(
  { deps, records, now, shuttingDown }: ProcessorContext,
  delivery: TrainingDelivery,
): Promise<DeliveryOutcome | { stored: StoredJob; token: string; resume: Uint8Array | null }> {
  const { jobId } = delivery.data;
  const first = await deps.jobs.read(jobId);
  if (!first || isTerminal(first.job)) return { kind: 'done' }; // removed or already final (e.g. cancelled while queued)
  if (first.tenant !== delivery.data.tenant)
    return { kind: 'fail', message: `queue entry for ${jobId} names another tenant` };
  if (first.job.cancelRequested) {
    await records.finish(jobId, null, { status: 'cancelled' });
    return { kind: 'done' };
  }
  if (shuttingDown()) return { kind: 'handBack' };
  const checkpoint = await records.loadCheckpoint(jobId);
  const token = randomUUID();
  const at = now().toISOString();
  const checkpointHistory = checkpoint ? checkpoint.state.history.map(toEntry) : null;
  const started = await deps.jobs.update(jobId, (current) =>
    startTrainingAttempt(current, { token, at, checkpointHistory }),
  );
  if (!started.written || !started.stored) {
    const current = started.stored?.job;
    if (current && !isTerminal(current) && current.cancelRequested)
      await records.finish(jobId, null, { status: 'cancelled' });
    return { kind: 'done' };
  }
  return { stored: started.stored, token, resume: checkpoint?.bytes ?? null };
}

/** Carries out what lifecycle.decideAttemptEnd decided for the attempt, and answers the queue. */
async function settle(
  { records }: ProcessorContext,
  stored: StoredJob,
  token: string,
  { result, reason }: AttemptRun,
  delivery: TrainingDelivery,
  log: Logger,
): Promise<DeliveryOutcome> {
  const jobId = stored.job.id;
  const seconds = stored.job.spec.training.maxRuntimeSeconds;
  const end = decideAttemptEnd(reason, workEnd(result), {
    lastDelivery: delivery.attemptsMade + 1 >= delivery.maxAttempts,
    timeoutMessage: `training exceeded maxRuntimeSeconds (${seconds} s)`,
    internalMessage: GENERIC_INTERNAL,
  });
  if (result.kind !== 'done' && !isFinalFailure(result) && reason === null) {
    log.error(
      { detail: result.message, stack: 'stack' in result ? result.stack : undefined },
      'training attempt failed',
    );
  }
  switch (end.kind) {
    case 'lost':
      await records.removeCheckpointIfFinished(jobId);
      return { kind: 'done' };
    case 'cancel':
      await records.finish(jobId, token, { status: 'cancelled' });
      return { kind: 'done' };
    case 'succeed':
      if (result.kind === 'done') await records.commitSuccess(stored, token, result.outcome);
      return { kind: 'done' };
    case 'fail':
      await records.finish(jobId, token, {
        status: 'failed',
        error: { code: end.code, message: end.message },
      });
      return { kind: 'fail', message: end.message };
    case 'release':
      await records.release(jobId, token, end.outcome);
      return end.delivery === 'handBack'
        ? { kind: 'handBack' }
        : { kind: 'retry', error: new Error(end.message) };
  }
}

type FinalFailure = Extract<ThreadResult, { message: string }> & {
  kind: 'diverged' | 'invalidData' | 'datasetDeleted';
};

/** Thread results that end the job as failed at once: no retry would change them. */
const isFinalFailure = (r: ThreadResult): r is FinalFailure =>
  r.kind === 'diverged' || r.kind === 'invalidData' || r.kind === 'datasetDeleted';

/** The thread's result in the lifecycle's terms. */
function workEnd(result: ThreadResult): WorkEnd<FinalFailure['kind']> {
  if (result.kind === 'done') return { kind: 'done' };
  if (isFinalFailure(result)) return { kind: 'failed', code: result.kind, message: result.message };
  return { kind: 'error' };
}
