// Runs one training in a worker thread and turns its messages into a promise.
import type { Worker } from 'node:worker_threads';
import type { EpochReport } from '../engine/index.js';
import type { TrainingOutcome } from '../domain/training.js';
import { spawnThread, threadEntry } from '../ts-thread.js';
import type { ThreadErrorKind, ThreadInput, ThreadMessage, ThreadRequest } from './thread-protocol.js';

const THREAD_URL = threadEntry(import.meta.url, 'train-thread');
/** How long an aborted thread may take to stop on its own before it is terminated. */
const ABORT_GRACE_MS = 3000;

export type ThreadResult =
  { kind: 'done'; outcome: TrainingOutcome } | { kind: ThreadErrorKind; message: string; stack?: string };

export interface ThreadHandle {
  result: Promise<ThreadResult>;
  /** Stops the training mid-epoch; the result then is 'aborted'. */
  abort(): void;
  /**
   * Lets the epoch under way finish and checkpoint, then stops (the result is 'aborted'); aborts
   * mid-epoch if that takes longer than withinMs.
   */
  checkpointAndStop(withinMs: number): void;
}

// One thread kept loaded ahead of the next job: loading the engine and data modules in a new
// thread takes a second or more, which would otherwise delay every job's start.
let spare: Worker | null = null;
let keepSpare = false;
const forgetSpare = () => {
  spare = null;
};

function makeSpare(): void {
  if (spare || !keepSpare) return;
  const w = spawnThread(THREAD_URL);
  w.unref(); // an idle spare never keeps the process alive
  w.once('exit', forgetSpare);
  w.once('error', forgetSpare);
  spare = w;
}

function takeThread(): Worker {
  const w = spare;
  spare = null;
  if (!w) return spawnThread(THREAD_URL);
  w.off('exit', forgetSpare);
  w.off('error', forgetSpare);
  w.ref();
  return w;
}

/** From now on, keep one training thread loaded ahead of the next job (the worker process calls this). */
export function keepSpareTrainingThread(): void {
  keepSpare = true;
  makeSpare();
}

/** Stops the spare thread (on shutdown). */
export async function stopSpareTrainingThread(): Promise<void> {
  keepSpare = false;
  const w = spare;
  spare = null;
  if (w) await w.terminate();
}

export function startTrainingThread(
  input: ThreadInput,
  /** Consecutive epochs in order, with the newest checkpoint among them (if any). */
  onEpochs: (reports: EpochReport[], state: Uint8Array | null) => Promise<'continue' | 'stop'>,
): ThreadHandle {
  const worker = takeThread();
  worker.postMessage({ type: 'start', input } satisfies ThreadRequest);
  makeSpare();
  let settled = false;
  let aborted = false;
  let killTimer: NodeJS.Timeout | null = null;
  let stopTimer: NodeJS.Timeout | null = null;
  let resolve!: (r: ThreadResult) => void;
  const result = new Promise<ThreadResult>((res) => (resolve = res));
  const finish = (r: ThreadResult) => {
    if (settled) return;
    settled = true;
    if (killTimer) clearTimeout(killTimer);
    if (stopTimer) clearTimeout(stopTimer);
    resolve(aborted && r.kind !== 'done' ? { kind: 'aborted', message: 'training stopped on request' } : r);
    void worker.terminate();
  };
  const send = (msg: ThreadRequest) => {
    if (!settled) worker.postMessage(msg);
  };

  // Epochs are persisted in order; those that arrive while a write is under way are written
  // together next, so a slow Redis costs round trips per batch, not per epoch.
  let pending: { report: EpochReport; state: Uint8Array | null }[] = [];
  let chain: Promise<void> = Promise.resolve();
  const drain = async () => {
    if (settled || pending.length === 0) return;
    const batch = pending;
    pending = [];
    const withState = batch.filter((m) => m.state !== null);
    try {
      const answer = await onEpochs(
        batch.map((m) => m.report),
        withState.length > 0 ? withState[withState.length - 1].state : null,
      );
      // The thread waits after a checkpoint epoch only; a stop reaches it either way.
      if (withState.length > 0 || answer === 'stop') send({ type: answer });
    } catch (err) {
      // Persisting the epoch failed (Redis or disk): stop here and let the job be retried.
      const e = err instanceof Error ? err : new Error(String(err));
      finish({ kind: 'internal', message: e.message, stack: e.stack });
    }
  };
  worker.on('message', (msg: ThreadMessage) => {
    if (msg.type === 'epoch') {
      pending.push({ report: msg.report, state: msg.state });
      chain = chain.then(drain);
    } else {
      // The result waits for the epochs before it, so the record has them all when it settles.
      chain = chain.then(() => finish(msg.type === 'done' ? { kind: 'done', outcome: msg.outcome } : msg));
    }
  });
  worker.on('error', (err) => finish({ kind: 'internal', message: err.message, stack: err.stack }));
  worker.on('exit', (code) =>
    finish({ kind: 'internal', message: `training thread exited with code ${code}` }),
  );

  const handle: ThreadHandle = {
    result,
    checkpointAndStop(withinMs) {
      if (settled || aborted || stopTimer) return;
      send({ type: 'checkpointAndStop' });
      stopTimer = setTimeout(() => handle.abort(), withinMs);
    },
    abort() {
      if (settled || aborted) return;
      aborted = true;
      send({ type: 'abort' });
      killTimer = setTimeout(
        () => finish({ kind: 'aborted', message: 'training stopped on request' }),
        ABORT_GRACE_MS,
      );
    },
  };
  return handle;
}
