// Announcing that a training job ended: its webhook event (training-job.succeeded / failed /
// cancelled) and, for a trial run, the next step of its search. A job joins the outbox of ended
// jobs in the same atomic write that ends it (job-cas-8.lua); it leaves only once both were done.
// The worker that ended it announces at once; the reconciler's sweep announces what a crash or a
// Redis failure left in the outbox. Emitting is idempotent (ids derived from the job and its end),
// so a sweep that races the first announcement makes no second delivery.
import { isTerminal } from '../domain/lifecycle.js';
import type { StoredJob } from '../domain/ports.js';
import { jobEventData } from '../domain/jobs.js';
import type { WebhookEmitter } from '../domain/webhooks.js';
import type { RedisJobStore } from '../storage/job-store.js';

export interface JobAnnouncerDeps {
  jobs: Pick<RedisJobStore, 'markAnnounced'>;
  emit?: WebhookEmitter;
  /**
   * The search step of a trial run (TuningCoordinator.onJobEnded); idempotent. Resolves true when
   * the job was a trial run: those are announced by their search (tuning-job.finished), not one
   * training-job event per trial.
   */
  onJobEnded?: (jobId: string) => Promise<boolean>;
}

/**
 * Announces an ended job and takes it out of the outbox. Rejects when either part failed (the job
 * then stays in the outbox for the next sweep); a job that has not ended is left alone.
 */
export type JobAnnouncer = (stored: StoredJob) => Promise<void>;

export function createJobAnnouncer(deps: JobAnnouncerDeps): JobAnnouncer {
  return async ({ tenant, job }) => {
    if (!isTerminal(job)) return;
    const type = `training-job.${job.status as 'succeeded' | 'failed' | 'cancelled'}` as const;
    const trialRun = (await deps.onJobEnded?.(job.id)) ?? false;
    if (!trialRun) await deps.emit?.(tenant, type, jobEventData(job), `${job.id}:${job.status}`);
    await deps.jobs.markAnnounced(job.id);
  };
}
