// The processor's writes to a job record, each one a lifecycle transition (src/domain/lifecycle.ts)
// applied by the job store's compare-and-set, followed by what a written final state brings: the
// checkpoint removed, the status published, the webhook event and the tuning search told.
import { newId } from '../domain/ids.js';
import {
  finishJob,
  isTerminal,
  releaseAttempt,
  succeedTraining,
  type FinalEnd,
} from '../domain/lifecycle.js';
import type { StoredJob } from '../domain/ports.js';
import type { Job, Model } from '../domain/schemas.js';
import type { TrainingOutcome } from '../domain/training.js';
import { decodeTrainingState, type EpochReport, type TrainingState } from '../engine/index.js';
import type { ProcessorDeps } from './processor-deps.js';

export interface JobRecords {
  publishStatus(job: Job): Promise<void>;
  /** The checkpoint to resume from, or null (an unreadable one is removed: training starts over). */
  loadCheckpoint(jobId: string): Promise<{ bytes: Uint8Array; state: TrainingState } | null>;
  /**
   * Ends the job as failed or cancelled (lifecycle.finishJob) under the attempt's lease, or, with
   * token null, whatever the lease; true when this call wrote the final state.
   */
  finish(jobId: string, token: string | null, end: FinalEnd<Job>): Promise<boolean>;
  /** The attempt ends without a final state (lifecycle.releaseAttempt): the job waits in the queue again. */
  release(jobId: string, token: string, outcome: string): Promise<void>;
  /**
   * Saves the model, then commits it with the job's success (lifecycle.succeedTraining); an attempt
   * that lost the job removes the model file again. False when the commit was refused.
   */
  commitSuccess(stored: StoredJob, token: string, outcome: TrainingOutcome): Promise<boolean>;
  /** An attempt that lost its job may have checkpointed late: once the job is final, nothing stays behind. */
  removeCheckpointIfFinished(jobId: string): Promise<void>;
}

type RecordDeps = Pick<
  ProcessorDeps,
  'jobs' | 'events' | 'checkpoints' | 'artifacts' | 'logger' | 'announce'
>;

export function createJobRecords(deps: RecordDeps, now: () => Date): JobRecords {
  const publishStatus = (job: Job) =>
    deps.events.publish(job.id, { type: 'status', data: job }).catch(() => {});

  /** After the final state is written (once, by the writer whose CAS succeeded): its consequences. */
  async function afterFinal(stored: StoredJob) {
    await deps.checkpoints.remove(stored.job.id);
    await publishStatus(stored.job);
    if (!isTerminal(stored.job)) return;
    await deps.announce?.(stored).catch((err: unknown) => {
      deps.logger.warn({ err, jobId: stored.job.id }, 'end not announced yet; the sweep will');
    });
  }

  async function removeCheckpointIfFinished(jobId: string) {
    const current = await deps.jobs.read(jobId);
    if (!current || isTerminal(current.job)) await deps.checkpoints.remove(jobId);
  }

  return {
    publishStatus,
    async loadCheckpoint(jobId) {
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
    },
    async finish(jobId, token, end) {
      const at = now().toISOString();
      const res = await deps.jobs.update(jobId, (current) => finishJob(current, { token, at, end }));
      if (res.written && res.stored) await afterFinal(res.stored);
      return res.written;
    },
    async release(jobId, token, outcome) {
      const at = now().toISOString();
      const res = await deps.jobs.update(jobId, (current) => releaseAttempt(current, { token, at, outcome }));
      if (res.written && res.stored) await publishStatus(res.stored.job);
    },
    commitSuccess: (stored, token, outcome) =>
      commitSuccess({ deps, now, afterFinal, removeCheckpointIfFinished }, stored, token, outcome),
    removeCheckpointIfFinished,
  };
}

/** JobRecords.commitSuccess, with the writer's own helpers. */
async function commitSuccess(
  own: {
    deps: RecordDeps;
    now: () => Date;
    afterFinal: (stored: StoredJob) => Promise<void>;
    removeCheckpointIfFinished: (jobId: string) => Promise<void>;
  },
  stored: StoredJob,
  token: string,
  outcome: TrainingOutcome,
): Promise<boolean> {
  const { deps } = own;
  const createdAt = own.now().toISOString();
  const model = modelOf(stored.job, outcome, newId('mdl'), createdAt);
  await deps.artifacts.save(model.id, outcome.artifact);
  let res;
  try {
    const success = {
      token,
      at: createdAt,
      modelId: model.id,
      history: outcome.history.map(toEntry),
      epochsTrained: outcome.epochsTrained,
    };
    res = await deps.jobs.update(stored.job.id, (current) => succeedTraining(current, success), model);
  } catch (err) {
    await deps.artifacts.remove(model.id);
    throw err;
  }
  if (!res.written) {
    // Another attempt owns the job now (or it was cancelled): this model must not exist.
    await deps.artifacts.remove(model.id);
    await own.removeCheckpointIfFinished(stored.job.id);
    deps.logger.warn(
      { jobId: stored.job.id, tenant: stored.tenant },
      'attempt lost the job before committing; model discarded',
    );
    return false;
  }
  if (res.stored) await own.afterFinal(res.stored);
  return true;
}

/** The model record of a successful attempt of `job`. */
function modelOf(job: Job, outcome: TrainingOutcome, id: string, createdAt: string): Model {
  return {
    id,
    jobId: job.id,
    datasetId: job.datasetId,
    task: job.spec.task,
    target: job.spec.target,
    classes: outcome.classes,
    features: outcome.features,
    unknownCategory: job.spec.preprocessing.unknownCategory,
    metrics: outcome.metrics,
    baselines: outcome.baselines,
    featureImportance: outcome.featureImportance,
    parameterCount: outcome.parameterCount,
    epochsTrained: outcome.epochsTrained,
    createdAt,
    ...(job.tuningJobId ? { tuningJobId: job.tuningJobId, tuningRole: job.tuningRole } : {}),
  };
}

/** An engine epoch report as a history entry (only the fields the record keeps). */
export function toEntry(r: EpochReport): Job['history'][number] {
  const e: Job['history'][number] = { epoch: r.epoch, loss: r.loss };
  if (r.valLoss !== undefined) e.valLoss = r.valLoss;
  if (r.valAccuracy !== undefined) e.valAccuracy = r.valAccuracy;
  if (r.valR2 !== undefined) e.valR2 = r.valR2;
  return e;
}
