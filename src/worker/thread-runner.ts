// Runs trainings on a pool of worker threads (piscina) that stay loaded from one job to the next:
// loading the engine, data and storage modules in a new thread takes most of a second, far more
// than a small job's training. Each job gets its own MessagePort for its epochs and the answers to
// them; its result is the port's last message. A thread that dies is replaced by the pool.
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { EpochReport } from '../engine/index.js';
import type { TrainingOutcome } from '../domain/training.js';
import { threadEntry, threadModule } from '../ts-thread.js';
import type {
  ThreadErrorKind,
  ThreadInput,
  ThreadMessage,
  ThreadRequest,
  TrainTask,
} from './thread-protocol.js';
import type { TrainThreadData } from './train-thread.js';

const THREAD_URL = threadEntry(import.meta.url, 'train-thread');
/** How long an aborted thread may take to stop on its own before the pool terminates it. */
const ABORT_GRACE_MS = 3000;
/** After the task returned, how long its last port message may take to arrive (it was posted first). */
const RESULT_GRACE_MS = 10_000;

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

/** Consecutive epochs in order, with the newest checkpoint among them (if any); answers continue or stop. */
export type OnEpochs = (reports: EpochReport[], state: Uint8Array | null) => Promise<'continue' | 'stop'>;

/** Starts one training and returns its handle at once. */
export type StartTraining = (input: ThreadInput, onEpochs: OnEpochs) => ThreadHandle;

export interface TrainingPoolOptions {
  /** Threads kept loaded: one per job the worker runs at once (WORKER_CONCURRENCY). */
  threads: number;
  /** Bytes of parsed and encoded datasets each thread keeps between jobs (0: none). */
  cacheBytes?: number;
  /** The thread module; default train-thread next to this module (.ts under tsx, else .js). */
  entry?: URL;
}

export interface TrainingPool {
  start: StartTraining;
  /** Threads alive now. */
  stats(): { threads: number };
  /** Terminates the threads; a training still running ends as an internal error. */
  close(): Promise<void>;
}

/** A pool of training threads, loaded now so the first job does not wait for them. */
export function createTrainingPool(options: TrainingPoolOptions): TrainingPool {
  const threads = Math.max(1, Math.floor(options.threads));
  const pool = new Piscina({
    ...threadModule(options.entry ?? THREAD_URL, {
      cacheBytes: options.cacheBytes ?? 0,
    } satisfies TrainThreadData),
    // Exactly one thread per job at once: a job whose thread is still stopping an aborted one waits
    // for it (at most ABORT_GRACE_MS) rather than loading a thread and a dataset cache of its own.
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: Infinity,
    // Threads keep a normal event loop between tasks (an S3 client's sockets, the port of a job).
    atomics: 'disabled',
  });
  // A thread that died between tasks: the pool replaces it; a running task hears of it through run().
  pool.on('error', () => {});
  return {
    start: (input, onEpochs) => runOn(pool, input, onEpochs),
    stats: () => ({ threads: pool.threads.length }),
    close: () => pool.destroy(),
  };
}

function runOn(pool: Piscina, input: ThreadInput, onEpochs: OnEpochs): ThreadHandle {
  const { port1: port, port2 } = new MessageChannel();
  const kill = new AbortController();
  const task: TrainTask = { input, port: port2 };
  const running = pool.run(task, { transferList: [port2], signal: kill.signal });
  let taskEnded = false;
  let settled = false;
  let aborted = false;
  const timers: NodeJS.Timeout[] = [];
  const later = (ms: number, fn: () => void) => timers.push(setTimeout(fn, ms));
  const tidy = () => {
    if (settled && taskEnded) for (const t of timers.splice(0)) clearTimeout(t);
  };
  let resolve!: (r: ThreadResult) => void;
  const result = new Promise<ThreadResult>((res) => (resolve = res));
  const stoppedOnRequest: ThreadResult = { kind: 'aborted', message: 'training stopped on request' };
  const finish = (r: ThreadResult) => {
    if (settled) return;
    settled = true;
    resolve(aborted && r.kind !== 'done' ? stoppedOnRequest : r);
    // Closing the port stops a job still under way (e.g. its epochs could not be stored); one that
    // does not stop within the grace is terminated with its thread.
    port.close();
    if (!taskEnded) later(ABORT_GRACE_MS, () => kill.abort());
    tidy();
  };
  const send = (msg: ThreadRequest) => {
    if (!settled) port.postMessage(msg);
  };
  const chain = epochChain(onEpochs, send, finish, () => settled);
  port.on('message', (msg: ThreadMessage) => chain.receive(msg));
  running.then(
    // The result was posted on the port before the task returned; it is on its way.
    () =>
      later(RESULT_GRACE_MS, () => finish({ kind: 'internal', message: 'training thread gave no result' })),
    (err: unknown) => {
      const message = `training thread stopped: ${err instanceof Error ? err.message : String(err)}`;
      if (aborted) finish(stoppedOnRequest);
      else chain.then(() => finish({ kind: 'internal', message }));
    },
  );
  void running
    .catch(() => undefined)
    .finally(() => {
      taskEnded = true;
      tidy();
    });

  const handle: ThreadHandle = {
    result,
    checkpointAndStop(withinMs) {
      if (settled || aborted) return;
      send({ type: 'checkpointAndStop' });
      later(withinMs, () => handle.abort());
    },
    abort() {
      if (settled || aborted) return;
      aborted = true;
      send({ type: 'abort' });
      later(ABORT_GRACE_MS, () => kill.abort());
    },
  };
  return handle;
}

/**
 * Epochs are persisted in order; those that arrive while a write is under way are written together
 * next, so a slow Redis costs round trips per batch, not per epoch. The job's last message (its
 * result) waits for the epochs before it, so the record has them all when the job settles.
 */
function epochChain(
  onEpochs: OnEpochs,
  send: (msg: ThreadRequest) => void,
  finish: (r: ThreadResult) => void,
  settled: () => boolean,
) {
  let pending: { report: EpochReport; state: Uint8Array | null }[] = [];
  let chain: Promise<void> = Promise.resolve();
  const drain = async () => {
    if (settled() || pending.length === 0) return;
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
  return {
    receive(msg: ThreadMessage) {
      if (msg.type === 'epoch') {
        pending.push({ report: msg.report, state: msg.state });
        chain = chain.then(drain);
      } else {
        chain = chain.then(() => finish(msg.type === 'done' ? { kind: 'done', outcome: msg.outcome } : msg));
      }
    },
    then(next: () => void) {
      chain = chain.then(next);
    },
  };
}
