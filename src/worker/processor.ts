// The job processor: an entry point like a route. It owns the job record while an attempt runs
// (start, per-epoch progress and checkpoint, final state) and leaves the training to a thread.
// Every record write is a compare-and-set on the attempt's lease, so an attempt that lost its
// BullMQ lock (another worker took the job over) can neither append epochs nor commit a model.
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import type { CsvLimits } from '../data/index.js';
import { newId } from '../domain/ids.js';
import { isTerminal } from '../domain/jobs.js';
import type { JobEventBus, JobStore, StoredJob } from '../domain/ports.js';
import type { Attempt, Job, JobErrorCode, Model } from '../domain/schemas.js';
import type { TrainingOutcome } from '../domain/training.js';
import { decodeTrainingState, type EpochReport, type TrainingState } from '../engine/index.js';
import type { Logger } from '../logger.js';
import type { DeliveryOutcome, TrainingDelivery } from '../queue/training-queue.js';
import { writeFileAtomic, type DataPaths } from '../storage/files.js';
import type { ThreadInput } from './thread-protocol.js';
import { startTrainingThread, type ThreadHandle, type ThreadResult } from './thread-runner.js';

export interface ProcessorDeps {
  jobs: JobStore;
  events: JobEventBus;
  paths: DataPaths;
  csvLimits: CsvLimits;
  logger: Logger;
  now?: () => Date;
  /** Least time between checkpoints; default CHECKPOINT_INTERVAL_MS. */
  checkpointIntervalMs?: number;
  /** Replaceable in tests (e.g. to watch epochs); defaults to a worker thread. */
  startThread?: typeof startTrainingThread;
}

export interface TrainingProcessor {
  process(delivery: TrainingDelivery): Promise<DeliveryOutcome>;
  /** BullMQ gave up on a job that stalled too often: the record says so, even if its worker is gone. */
  recordStalledOut(jobId: string, reason: string): Promise<void>;
  /** Stops every running training; their jobs are handed back to the queue to resume elsewhere. */
  shutdown(): void;
  readonly running: number;
}

type StopReason = 'cancel' | 'shutdown' | 'timeout' | 'lost';

/** At most one checkpoint a second: a resume repeats at most a second of training. */
export const CHECKPOINT_INTERVAL_MS = 1000;
/** On shutdown, how long the epoch under way may take to finish and checkpoint (within the worker's grace). */
const SHUTDOWN_CHECKPOINT_MS = 10_000;
const GENERIC_INTERNAL = 'training failed because of an internal error';

export function createTrainingProcessor(deps: ProcessorDeps): TrainingProcessor {
  const now = deps.now ?? (() => new Date());
  const startThread = deps.startThread ?? startTrainingThread;
  const active = new Map<string, { stop(reason: StopReason): void }>();
  let shuttingDown = false;

  const publishStatus = (job: Job) =>
    deps.events.publish(job.id, { type: 'status', data: job }).catch(() => {});

  /** An attempt that lost its job may have checkpointed late: once the job is final, nothing stays behind. */
  async function removeCheckpointIfFinished(jobId: string) {
    const current = await deps.jobs.read(jobId);
    if (!current || isTerminal(current.job)) await rm(deps.paths.checkpoint(jobId), { force: true });
  }

  /** Ends the open attempt (if any) with an outcome. */
  const closeAttempt = (attempts: Attempt[], outcome: string | null, at: string): Attempt[] =>
    attempts.map((a) => (a.endedAt === null ? { ...a, endedAt: at, outcome } : a));

  /**
   * A final state (failed or cancelled) written under the attempt's lease, or, with token null,
   * whatever the lease. The open attempt ends with the given outcome.
   */
  async function finish(
    jobId: string,
    token: string | null,
    end: { status: 'failed'; error: { code: JobErrorCode; message: string } } | { status: 'cancelled' },
  ) {
    const at = now().toISOString();
    const outcome = end.status === 'failed' ? end.error.code : 'cancelled';
    const res = await deps.jobs.update(jobId, ({ job, lease }) => {
      if (isTerminal(job) || (token !== null && lease?.token !== token)) return null;
      return {
        job: {
          ...job,
          ...end,
          finishedAt: at,
          attempts: closeAttempt(job.attempts, outcome, at),
        },
        lease: null,
      };
    });
    if (res.written && res.stored) {
      await rm(deps.paths.checkpoint(jobId), { force: true });
      await publishStatus(res.stored.job);
    }
    return res.written;
  }

  const finishFailed = (jobId: string, token: string | null, code: JobErrorCode, message: string) =>
    finish(jobId, token, { status: 'failed', error: { code, message } });
  const finishCancelled = (jobId: string, token: string | null) =>
    finish(jobId, token, { status: 'cancelled' });

  /** The attempt ends without a final state: the job waits in the queue again (retry or hand-back). */
  async function releaseAttempt(jobId: string, token: string, outcome: string) {
    const at = now().toISOString();
    const res = await deps.jobs.update(jobId, ({ job, lease }) => {
      if (isTerminal(job) || lease?.token !== token) return null;
      return {
        job: { ...job, status: 'queued', attempts: closeAttempt(job.attempts, outcome, at) },
        lease: null,
      };
    });
    if (res.written && res.stored) await publishStatus(res.stored.job);
  }

  async function loadCheckpoint(jobId: string): Promise<{ bytes: Uint8Array; state: TrainingState } | null> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(deps.paths.checkpoint(jobId));
    } catch {
      return null;
    }
    try {
      return { bytes, state: decodeTrainingState(bytes) };
    } catch (err) {
      // An unreadable checkpoint only costs the epochs it held: start over.
      deps.logger.warn({ err, jobId }, 'checkpoint unreadable; training starts from epoch 0');
      await rm(deps.paths.checkpoint(jobId), { force: true });
      return null;
    }
  }

  async function commitSuccess(stored: StoredJob, token: string, outcome: TrainingOutcome): Promise<boolean> {
    const { job: start, tenant } = stored;
    const modelId = newId('mdl');
    const createdAt = now().toISOString();
    const model: Model = {
      id: modelId,
      jobId: start.id,
      datasetId: start.datasetId,
      task: start.spec.task,
      target: start.spec.target,
      classes: outcome.classes,
      features: outcome.features,
      unknownCategory: start.spec.preprocessing.unknownCategory,
      metrics: outcome.metrics,
      parameterCount: outcome.parameterCount,
      epochsTrained: outcome.epochsTrained,
      createdAt,
    };
    const artifactPath = deps.paths.model(modelId);
    await writeFileAtomic(artifactPath, JSON.stringify(outcome.artifact));
    let res;
    try {
      res = await deps.jobs.update(
        start.id,
        ({ job, lease }) => {
          if (job.status !== 'running' || lease?.token !== token) return null;
          return {
            job: {
              ...job,
              status: 'succeeded',
              modelId,
              finishedAt: createdAt,
              history: outcome.history.map(toEntry),
              progress: { epoch: outcome.epochsTrained, epochs: job.progress.epochs },
              attempts: closeAttempt(job.attempts, null, createdAt),
            },
            lease: null,
          };
        },
        model,
      );
    } catch (err) {
      await rm(artifactPath, { force: true });
      throw err;
    }
    if (!res.written) {
      // Another attempt owns the job now (or it was cancelled): this model must not exist.
      await rm(artifactPath, { force: true });
      await removeCheckpointIfFinished(start.id);
      deps.logger.warn(
        { jobId: start.id, tenant },
        'attempt lost the job before committing; model discarded',
      );
      return false;
    }
    await rm(deps.paths.checkpoint(start.id), { force: true });
    if (res.stored) await publishStatus(res.stored.job);
    return true;
  }

  async function process(delivery: TrainingDelivery): Promise<DeliveryOutcome> {
    const { jobId } = delivery.data;
    const log = deps.logger.child({ jobId });
    const first = await deps.jobs.read(jobId);
    if (!first || isTerminal(first.job)) return { kind: 'done' }; // removed or already final (e.g. cancelled while queued)
    if (first.tenant !== delivery.data.tenant)
      return { kind: 'fail', message: `queue entry for ${jobId} names another tenant` };
    if (first.job.cancelRequested) {
      await finishCancelled(jobId, null);
      return { kind: 'done' };
    }
    if (shuttingDown) return { kind: 'handBack' };

    const checkpoint = await loadCheckpoint(jobId);
    const resumedFrom = checkpoint?.state.epoch ?? 0;
    const token = randomUUID();
    const startedAt = now().toISOString();
    const started = await deps.jobs.update(jobId, ({ job }) => {
      if (isTerminal(job) || job.cancelRequested) return null;
      // An attempt still open was left running by a worker that died (its lock expired).
      const attempts = closeAttempt(job.attempts, 'workerCrashed', startedAt);
      attempts.push({
        attempt: attempts.length + 1,
        startedAt,
        endedAt: null,
        outcome: null,
        resumedFromEpoch: resumedFrom,
      });
      // The record keeps exactly the epochs the checkpoint holds: later ones will be trained again.
      const history = checkpoint ? checkpoint.state.history.map(toEntry) : [];
      return {
        job: {
          ...job,
          status: 'running',
          startedAt: job.startedAt ?? startedAt,
          history,
          progress: { epoch: resumedFrom, epochs: job.progress.epochs },
          attempts,
        },
        lease: { token, attempt: attempts.length },
      };
    });
    if (!started.written || !started.stored) {
      const current = started.stored?.job;
      if (current && !isTerminal(current) && current.cancelRequested) await finishCancelled(jobId, null);
      return { kind: 'done' };
    }
    const stored = started.stored;
    const spec = stored.job.spec;
    await publishStatus(stored.job);
    log.info({ attempt: stored.lease?.attempt, resumedFrom }, 'training attempt started');

    // Runtime budget across attempts: what earlier attempts used is spent.
    const usedMs = stored.job.attempts
      .filter((a) => a.endedAt !== null)
      .reduce((ms, a) => ms + (Date.parse(a.endedAt!) - Date.parse(a.startedAt)), 0);
    const budgetMs = spec.training.maxRuntimeSeconds * 1000 - usedMs;

    let stopReason: StopReason | null = null;
    let thread: ThreadHandle | null = null;
    const stop = (reason: StopReason) => {
      stopReason ??= reason;
      // On shutdown the epoch under way is finished and checkpointed, so the next worker resumes there.
      if (reason === 'shutdown') thread?.checkpointAndStop(SHUTDOWN_CHECKPOINT_MS);
      else thread?.abort();
    };
    active.set(jobId, { stop });
    const unsubscribe = await deps.events
      .subscribe(jobId, (event) => {
        if (event.type === 'cancel') stop('cancel');
      })
      .catch((err: unknown) => {
        log.warn({ err }, 'cancel channel unavailable; cancel is seen at the next epoch');
        return async () => {};
      });
    const timer = setTimeout(() => stop('timeout'), Math.min(Math.max(0, budgetMs), 2 ** 31 - 1));

    try {
      const input: ThreadInput = {
        spec,
        csvPath: deps.paths.dataset(spec.datasetId),
        csvLimits: deps.csvLimits,
        resume: checkpoint?.bytes ?? null,
        checkpointIntervalMs: deps.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS,
      };
      const onEpochs = async (
        reports: EpochReport[],
        state: Uint8Array | null,
      ): Promise<'continue' | 'stop'> => {
        // Only the attempt that owns the job writes its checkpoint (a stale one would leave a file
        // behind). The record may run ahead of the last checkpoint; a resumed attempt trims it back.
        const res = await deps.jobs.appendEpochs(jobId, token, reports.map(toEntry));
        if (!res.owned) {
          stopReason ??= 'lost';
          return 'stop';
        }
        if (state) await writeFileAtomic(deps.paths.checkpoint(jobId), state);
        const epochs = spec.training.epochs;
        await Promise.all(
          res.appended.map((e) =>
            deps.events.publish(jobId, { type: 'epoch', data: { ...e, epochs } }).catch(() => {}),
          ),
        );
        if (res.cancelRequested) stopReason ??= 'cancel';
        if (shuttingDown) stopReason ??= 'shutdown';
        return stopReason ? 'stop' : 'continue';
      };
      thread = startThread(input, onEpochs);
      if (stopReason) stop(stopReason);
      const result: ThreadResult = await thread.result;
      return await settle(stored, token, result, stopReason, delivery, log);
    } finally {
      clearTimeout(timer);
      active.delete(jobId);
      await unsubscribe();
    }
  }

  async function settle(
    stored: StoredJob,
    token: string,
    result: ThreadResult,
    reason: StopReason | null,
    delivery: TrainingDelivery,
    log: Logger,
  ): Promise<DeliveryOutcome> {
    const jobId = stored.job.id;
    if (reason === 'lost') {
      await removeCheckpointIfFinished(jobId);
      return { kind: 'done' };
    }
    if (reason === 'cancel') {
      await finishCancelled(jobId, token);
      return { kind: 'done' };
    }
    if (result.kind === 'done') {
      await commitSuccess(stored, token, result.outcome);
      return { kind: 'done' };
    }
    if (reason === 'timeout') {
      const message = `training exceeded maxRuntimeSeconds (${stored.job.spec.training.maxRuntimeSeconds} s)`;
      await finishFailed(jobId, token, 'timeout', message);
      return { kind: 'fail', message };
    }
    if (reason === 'shutdown') {
      await releaseAttempt(jobId, token, 'shutdown');
      return { kind: 'handBack' };
    }
    switch (result.kind) {
      case 'diverged':
      case 'invalidData':
      case 'datasetDeleted':
        await finishFailed(jobId, token, result.kind, result.message);
        return { kind: 'fail', message: result.message };
      default: {
        log.error(
          { detail: result.message, stack: 'stack' in result ? result.stack : undefined },
          'training attempt failed',
        );
        const last = delivery.attemptsMade + 1 >= delivery.maxAttempts;
        if (last) {
          await finishFailed(jobId, token, 'internal', GENERIC_INTERNAL);
          return { kind: 'fail', message: GENERIC_INTERNAL };
        }
        await releaseAttempt(jobId, token, 'internal');
        return { kind: 'retry', error: new Error(GENERIC_INTERNAL) };
      }
    }
  }

  return {
    process,
    async recordStalledOut(jobId, reason) {
      const written = await finishFailed(
        jobId,
        null,
        'workerCrashed',
        'the workers running this job stopped responding too many times',
      );
      if (written) deps.logger.warn({ jobId, reason }, 'job failed after repeated worker crashes');
    },
    shutdown() {
      shuttingDown = true;
      for (const run of active.values()) run.stop('shutdown');
    },
    get running() {
      return active.size;
    },
  };
}

function toEntry(r: EpochReport): Job['history'][number] {
  const e: Job['history'][number] = { epoch: r.epoch, loss: r.loss };
  if (r.valLoss !== undefined) e.valLoss = r.valLoss;
  if (r.valAccuracy !== undefined) e.valAccuracy = r.valAccuracy;
  if (r.valR2 !== undefined) e.valR2 = r.valR2;
  return e;
}
