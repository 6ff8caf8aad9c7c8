// One attempt's training, from the worker's main thread: starts it on a training thread, stores each
// batch of epochs (and checkpoint) under the attempt's lease, and stops it on cancel, time budget,
// shutdown or a lost lease. It decides nothing about the record's final state: processor.ts does,
// through lifecycle.decideAttemptEnd.
import { remainingRuntimeMs, type StopReason } from '../domain/lifecycle.js';
import type { StoredJob } from '../domain/ports.js';
import type { Logger } from '../logger.js';
import { toEntry } from './job-records.js';
import type { ProcessorDeps } from './processor-deps.js';
import type { ThreadInput } from './thread-protocol.js';
import type { OnEpochs, ThreadHandle, ThreadResult } from './thread-runner.js';

/** At most one checkpoint a second: a resume repeats at most a second of training. */
const CHECKPOINT_INTERVAL_MS = 1000;
/** On shutdown, how long the epoch under way may take to finish and checkpoint (within the worker's grace). */
const SHUTDOWN_CHECKPOINT_MS = 10_000;

export type AttemptDeps = Pick<
  ProcessorDeps,
  | 'jobs'
  | 'events'
  | 'checkpoints'
  | 'files'
  | 'csvLimits'
  | 'checkpointIntervalMs'
  | 'engineThreads'
  | 'startThread'
>;

/** How the processor reaches a running attempt: to stop it, and to know whether the worker is stopping. */
export interface AttemptControl {
  /** Called once the attempt can be stopped; `stop` then stops it for that reason. */
  register(stop: (reason: StopReason) => void): void;
  shuttingDown(): boolean;
}

/** How the attempt's training ended, and why it was stopped (null: it ended on its own). */
export interface AttemptRun {
  result: ThreadResult;
  reason: StopReason | null;
}

/** Runs the attempt that holds `token` on `stored` (resuming from `resume`, an encoded state) to its end. */
export async function runAttempt(
  deps: AttemptDeps,
  stored: StoredJob,
  token: string,
  resume: Uint8Array | null,
  control: AttemptControl,
  log: Logger,
): Promise<AttemptRun> {
  const jobId = stored.job.id;
  const spec = stored.job.spec;
  let reason: StopReason | null = null;
  let thread: ThreadHandle | null = null;
  const stop = (why: StopReason) => {
    reason ??= why;
    // On shutdown the epoch under way is finished and checkpointed, so the next worker resumes there.
    if (why === 'shutdown') thread?.checkpointAndStop(SHUTDOWN_CHECKPOINT_MS);
    else thread?.abort();
  };
  control.register(stop);
  const unsubscribe = await deps.events
    .subscribe(jobId, (event) => {
      if (event.type === 'cancel') stop('cancel');
    })
    .catch((err: unknown) => {
      log.warn({ err }, 'cancel channel unavailable; cancel is seen at the next epoch');
      return async () => {};
    });
  // Runtime budget across attempts: what earlier attempts used is spent.
  const budgetMs = remainingRuntimeMs(stored.job.attempts, spec.training.maxRuntimeSeconds);
  const timer = setTimeout(() => stop('timeout'), Math.min(budgetMs, 2 ** 31 - 1));
  try {
    const input: ThreadInput = {
      spec,
      files: deps.files,
      csvLimits: deps.csvLimits,
      resume,
      checkpointIntervalMs: deps.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS,
      engineThreads: deps.engineThreads ?? 1,
      // Issue 11: a search's trials never see its test split; its result alone is scored there.
      scoreTest: stored.job.tuningRole !== 'trial',
    };
    const onEpochs: OnEpochs = async (reports, state) => {
      const verdict = await storeEpochs(deps, stored, token, reports, state);
      if (verdict) reason ??= verdict;
      if (control.shuttingDown()) reason ??= 'shutdown';
      return reason ? 'stop' : 'continue';
    };
    thread = deps.startThread(input, onEpochs);
    if (reason) stop(reason);
    return { result: await thread.result, reason };
  } finally {
    clearTimeout(timer);
    await unsubscribe();
  }
}

/**
 * Appends the epochs under the attempt's lease, then stores the checkpoint and publishes the new
 * epochs. Only the attempt that owns the job writes its checkpoint (a stale one would leave a file
 * behind); the record may run ahead of the last checkpoint, and a resumed attempt trims it back.
 * Returns why the attempt must stop, if it must: its lease is gone, or a cancel was requested.
 */
async function storeEpochs(
  deps: AttemptDeps,
  stored: StoredJob,
  token: string,
  reports: Parameters<OnEpochs>[0],
  state: Uint8Array | null,
): Promise<StopReason | null> {
  const jobId = stored.job.id;
  const res = await deps.jobs.appendEpochs(jobId, token, reports.map(toEntry));
  if (!res.owned) return 'lost';
  if (state) await deps.checkpoints.save(jobId, state);
  const epochs = stored.job.spec.training.epochs;
  await Promise.all(
    res.appended.map((e) =>
      deps.events.publish(jobId, { type: 'epoch', data: { ...e, epochs } }).catch(() => {}),
    ),
  );
  return res.cancelRequested ? 'cancel' : null;
}
