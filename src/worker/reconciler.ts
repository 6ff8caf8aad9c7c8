// The reconciler: a job record is the truth, so a recorded job that is queued or running must have a
// queue entry. Two ways to lose one: a submit whose enqueue and cleanup both failed, and a Redis
// restart (appendfsync everysec) that kept the record but not the entry written just after it.
// Every interval one worker (a short Redis lock) looks at the active jobs older than a grace period
// and adds back those whose entry is gone, under the same jobId, so a race with a late add is a no-op.
import type { StoredJob } from '../domain/ports.js';
import type { Logger } from '../logger.js';
import type { QueueReconcileTarget } from '../queue/training-queue.js';
import type { RedisJobStore } from '../storage/job-store.js';
import type { JobAnnouncer } from './announcer.js';

/** Ended jobs announced per pass at most (the rest wait for the next pass). */
const ANNOUNCE_BATCH = 200;

/** What the reconciler reads of a record: its status and creation time (any job kind has them). */
export interface ReconciledRecord {
  tenant: string;
  job: Pick<StoredJob['job'], 'status' | 'createdAt'>;
}

export interface ReconcilerDeps {
  /** Training jobs (RedisJobStore) or any other job kind's records with the same fields. */
  jobs: Pick<RedisJobStore, 'activeIds'> & { read(id: string): Promise<ReconciledRecord | null> };
  /**
   * The outbox of ended training jobs: the sweep announces (webhook event, search step) what a
   * worker that ended a job did not get to announce.
   */
  outbox?: { jobs: Pick<RedisJobStore, 'read' | 'unannounced' | 'markAnnounced'>; announce: JobAnnouncer };
  queue: Pick<QueueReconcileTarget, 'entryState' | 'reenqueue' | 'tryLock'>;
  logger: Pick<Logger, 'info' | 'warn'>;
  intervalMs: number;
  /** Younger records are skipped: their submit may still be adding the entry. Default 2 × intervalMs. */
  graceMs?: number;
  now?: () => Date;
}

export interface ReconcilePass {
  /** false when another worker holds the lock for this round. */
  ran: boolean;
  checked: number;
  reenqueued: string[];
  /** Ended jobs found still unannounced after the grace period, and announced now. */
  announced: string[];
}

export interface Reconciler {
  /** One pass now (under the lock); the timer calls this every intervalMs. */
  runOnce(): Promise<ReconcilePass>;
  start(): void;
  /** Stops the timer and waits for a pass under way. */
  stop(): Promise<void>;
}

/** Whether the record still needs an entry: queued (missing or finished entry), or running with none. */
function needsEntry(stored: ReconciledRecord, entry: 'missing' | 'live' | 'finished'): boolean {
  if (stored.job.status === 'queued') return entry !== 'live';
  // A running job whose entry is only finished belongs to BullMQ's own stalled handling.
  if (stored.job.status === 'running') return entry === 'missing';
  return false;
}

/** Puts job `id` back in the queue if its record needs an entry; true when it did. */
async function reconcileOne(deps: ReconcilerDeps, id: string, cutoff: number): Promise<boolean> {
  const before = await deps.jobs.read(id);
  if (!before || Date.parse(before.job.createdAt) > cutoff) return false;
  const entry = await deps.queue.entryState(id);
  if (!needsEntry(before, entry)) return false;
  // Read again: a worker may have finished the job between the two reads above.
  const after = await deps.jobs.read(id);
  if (!after || after.job.status !== before.job.status || !needsEntry(after, entry)) return false;
  await deps.queue.reenqueue(after.tenant, id);
  // A running record resumes from its checkpoint; its open attempt is closed as workerCrashed.
  deps.logger.warn(
    { jobId: id, tenant: after.tenant, status: after.job.status, entry },
    'job had no live queue entry; enqueued again',
  );
  return true;
}

/** The outbox: ended jobs older than the grace period whose end was not announced (a crash between). */
async function announceLeftovers(
  deps: ReconcilerDeps,
  endedBefore: number,
  stopped: () => boolean,
): Promise<string[]> {
  if (!deps.outbox) return [];
  const { jobs, announce } = deps.outbox;
  const announced: string[] = [];
  for (const id of await jobs.unannounced(endedBefore, ANNOUNCE_BATCH)) {
    if (stopped()) break;
    try {
      const stored = await jobs.read(id);
      if (!stored) {
        await jobs.markAnnounced(id); // deleted since: nothing to announce
        continue;
      }
      await announce(stored);
      announced.push(id);
      deps.logger.warn({ jobId: id, status: stored.job.status }, 'ended job announced by the sweep');
    } catch (err) {
      deps.logger.warn(
        { jobId: id, err: err instanceof Error ? err.message : String(err) },
        'announcing an ended job failed; retried next round',
      );
    }
  }
  return announced;
}

export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const now = deps.now ?? (() => new Date());
  const graceMs = deps.graceMs ?? 2 * deps.intervalMs;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let current: Promise<unknown> | null = null;

  async function runOnce(): Promise<ReconcilePass> {
    // The lock lasts one interval and is not released: one pass per interval across all workers.
    if (!(await deps.queue.tryLock(deps.intervalMs))) {
      return { ran: false, checked: 0, reenqueued: [], announced: [] };
    }
    const reenqueued: string[] = [];
    const ids = await deps.jobs.activeIds();
    const cutoff = now().getTime() - graceMs;
    for (const id of ids) {
      if (stopped) break;
      try {
        if (await reconcileOne(deps, id, cutoff)) reenqueued.push(id);
      } catch (err) {
        deps.logger.warn(
          { jobId: id, err: err instanceof Error ? err.message : String(err) },
          'reconcile failed for a job; retried next round',
        );
      }
    }
    const announced = await announceLeftovers(deps, now().getTime() - graceMs, () => stopped);
    return { ran: true, checked: ids.length, reenqueued, announced };
  }

  const tick = () => {
    timer = null;
    if (stopped) return;
    const pass = runOnce()
      .catch((err: unknown) =>
        deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'reconcile pass failed'),
      )
      .finally(() => {
        current = null;
        if (!stopped) schedule();
      });
    current = pass;
  };
  const schedule = () => {
    timer = setTimeout(tick, deps.intervalMs);
    timer.unref();
  };

  return {
    runOnce,
    start() {
      if (timer || stopped) return;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await current;
    },
  };
}
