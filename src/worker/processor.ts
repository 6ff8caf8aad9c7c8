// The job processor: an entry point like a route. It owns the job record while an attempt runs
// (start, per-epoch progress and checkpoint, final state) and leaves the training to a thread.
// Every record write is a compare-and-set on the attempt's lease, so an attempt that lost its
// BullMQ lock (another worker took the job over) can neither append epochs nor commit a model.
import { randomUUID } from 'node:crypto';
import type { CsvLimits } from '../data/index.js';
import { newId } from '../domain/ids.js';
import { jobEventData } from '../domain/jobs.js';
import {
  decideAttemptEnd,
  finishJob,
  isTerminal,
  releaseAttempt,
  remainingRuntimeMs,
  startTrainingAttempt,
  succeedTraining,
  type FinalEnd,
  type StopReason,
  type WorkEnd,
} from '../domain/lifecycle.js';
import type { ArtifactStore, CheckpointStore, JobEventBus, JobStore, StoredJob } from '../domain/ports.js';
import type { Job, Model } from '../domain/schemas.js';
import type { TrainingOutcome } from '../domain/training.js';
import type { WebhookEmitter } from '../domain/webhooks.js';
import { decodeTrainingState, type EpochReport, type TrainingState } from '../engine/index.js';
import type { Logger } from '../logger.js';
import type { DeliveryOutcome, TrainingDelivery } from '../queue/training-queue.js';
import type { FileStoreSettings } from '../storage/file-store.js';
import type { ThreadInput } from './thread-protocol.js';
import { startTrainingThread, type ThreadHandle, type ThreadResult } from './thread-runner.js';

export interface ProcessorDeps {
  jobs: JobStore;
  events: JobEventBus;
  checkpoints: CheckpointStore;
  artifacts: ArtifactStore;
  /** Where the training thread reads the dataset from (it builds its own FileStore). */
  files: FileStoreSettings;
  csvLimits: CsvLimits;
  logger: Logger;
  now?: () => Date;
  /** Least time between checkpoints; default CHECKPOINT_INTERVAL_MS. */
  checkpointIntervalMs?: number;
  /** Threads the engine's large products may use in each training thread; default 1. */
  engineThreads?: number;
  /** Tells the tenant's webhooks that a job ended (succeeded, failed, cancelled). */
  emit?: WebhookEmitter;
  /** Called once a job's final state is written (a tuning search moves on when its trial run ends). */
  onJobEnded?: (jobId: string) => Promise<void>;
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

  /** After the final state is written (once, by the writer whose CAS succeeded): the webhook event. */
  const announceEnd = async ({ tenant, job }: StoredJob) => {
    if (!isTerminal(job)) return;
    const type = `training-job.${job.status as 'succeeded' | 'failed' | 'cancelled'}` as const;
    await deps.emit?.(tenant, type, jobEventData(job)).catch((err: unknown) => {
      deps.logger.warn({ err, jobId: job.id }, 'webhook event not emitted');
    });
    await deps.onJobEnded?.(job.id).catch((err: unknown) => {
      deps.logger.warn({ err, jobId: job.id }, 'search not advanced; the sweep will');
    });
  };

  /** An attempt that lost its job may have checkpointed late: once the job is final, nothing stays behind. */
  async function removeCheckpointIfFinished(jobId: string) {
    const current = await deps.jobs.read(jobId);
    if (!current || isTerminal(current.job)) await deps.checkpoints.remove(jobId);
  }

  /**
   * Ends the job as failed or cancelled (lifecycle.finishJob) under the attempt's lease, or, with
   * token null, whatever the lease; then its checkpoint goes and the new status is published.
   */
  async function finish(jobId: string, token: string | null, end: FinalEnd<Job>) {
    const at = now().toISOString();
    const res = await deps.jobs.update(jobId, (current) => finishJob(current, { token, at, end }));
    if (res.written && res.stored) {
      await deps.checkpoints.remove(jobId);
      await publishStatus(res.stored.job);
      await announceEnd(res.stored);
    }
    return res.written;
  }

  const finishCancelled = (jobId: string, token: string | null) =>
    finish(jobId, token, { status: 'cancelled' });

  /** The attempt ends without a final state (lifecycle.releaseAttempt): the job waits in the queue again. */
  async function release(jobId: string, token: string, outcome: string) {
    const at = now().toISOString();
    const res = await deps.jobs.update(jobId, (current) => releaseAttempt(current, { token, at, outcome }));
    if (res.written && res.stored) await publishStatus(res.stored.job);
  }

  async function loadCheckpoint(jobId: string): Promise<{ bytes: Uint8Array; state: TrainingState } | null> {
    const bytes = await deps.checkpoints.load(jobId);
    if (!bytes) return null;
    try {
      return { bytes, state: decodeTrainingState(bytes) };
    } catch (err) {
      // An unreadable checkpoint only costs the epochs it held: start over.
      deps.logger.warn({ err, jobId }, 'checkpoint unreadable; training starts from epoch 0');
      await deps.checkpoints.remove(jobId);
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
      baselines: outcome.baselines,
      featureImportance: outcome.featureImportance,
      parameterCount: outcome.parameterCount,
      epochsTrained: outcome.epochsTrained,
      createdAt,
    };
    await deps.artifacts.save(modelId, outcome.artifact);
    let res;
    try {
      res = await deps.jobs.update(
        start.id,
        (current) =>
          succeedTraining(current, {
            token,
            at: createdAt,
            modelId,
            history: outcome.history.map(toEntry),
            epochsTrained: outcome.epochsTrained,
          }),
        model,
      );
    } catch (err) {
      await deps.artifacts.remove(modelId);
      throw err;
    }
    if (!res.written) {
      // Another attempt owns the job now (or it was cancelled): this model must not exist.
      await deps.artifacts.remove(modelId);
      await removeCheckpointIfFinished(start.id);
      deps.logger.warn(
        { jobId: start.id, tenant },
        'attempt lost the job before committing; model discarded',
      );
      return false;
    }
    await deps.checkpoints.remove(start.id);
    if (res.stored) {
      await publishStatus(res.stored.job);
      await announceEnd(res.stored);
    }
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
    const checkpointHistory = checkpoint ? checkpoint.state.history.map(toEntry) : null;
    const started = await deps.jobs.update(jobId, (current) =>
      startTrainingAttempt(current, { token, at: startedAt, checkpointHistory }),
    );
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
    const budgetMs = remainingRuntimeMs(stored.job.attempts, spec.training.maxRuntimeSeconds);

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
    const timer = setTimeout(() => stop('timeout'), Math.min(budgetMs, 2 ** 31 - 1));

    try {
      const input: ThreadInput = {
        spec,
        files: deps.files,
        csvLimits: deps.csvLimits,
        resume: checkpoint?.bytes ?? null,
        checkpointIntervalMs: deps.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS,
        engineThreads: deps.engineThreads ?? 1,
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
        if (state) await deps.checkpoints.save(jobId, state);
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

  /** Carries out what lifecycle.decideAttemptEnd decided for the attempt, and answers the queue. */
  async function settle(
    stored: StoredJob,
    token: string,
    result: ThreadResult,
    reason: StopReason | null,
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
        await removeCheckpointIfFinished(jobId);
        return { kind: 'done' };
      case 'cancel':
        await finishCancelled(jobId, token);
        return { kind: 'done' };
      case 'succeed':
        if (result.kind === 'done') await commitSuccess(stored, token, result.outcome);
        return { kind: 'done' };
      case 'fail':
        await finish(jobId, token, {
          status: 'failed',
          error: { code: end.code, message: end.message },
        });
        return { kind: 'fail', message: end.message };
      case 'release':
        await release(jobId, token, end.outcome);
        return end.delivery === 'handBack'
          ? { kind: 'handBack' }
          : { kind: 'retry', error: new Error(end.message) };
    }
  }

  return {
    process,
    async recordStalledOut(jobId, reason) {
      const written = await finish(jobId, null, {
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
