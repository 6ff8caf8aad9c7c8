// The task a training thread (a piscina pool thread) runs, and the messages between it and the
// worker's main thread over the task's own MessagePort.
import type { MessagePort } from 'node:worker_threads';
import type { CsvLimits } from '../data/index.js';
import type { TrainingOutcome } from '../domain/training.js';
import type { TrainingSpec } from '../domain/schemas.js';
import type { EpochReport } from '../engine/index.js';
import type { FileStoreSettings } from '../storage/file-store.js';

export interface ThreadInput {
  spec: TrainingSpec;
  /** Where the dataset's file is (spec.datasetId names it); the thread opens its own FileStore. */
  files: FileStoreSettings;
  csvLimits: CsvLimits;
  /** An encoded TrainingState to continue from. */
  resume: Uint8Array | null;
  /**
   * The least time between two checkpoints, counted from the start of training: a job that ends
   * within it never writes one (a crash then repeats at most this much training).
   */
  checkpointIntervalMs: number;
  /** Threads the engine's large products may use (1 or 2; see config ENGINE_THREADS). */
  engineThreads: number;
  /** False for a search's trial run: its model gets no test metrics, baselines or importance. */
  scoreTest?: boolean;
}

export type ThreadErrorKind = 'diverged' | 'invalidData' | 'datasetDeleted' | 'aborted' | 'internal';

/** One job for a training thread: its input, and the port its messages go over (transferred). */
export interface TrainTask {
  input: ThreadInput;
  port: MessagePort;
}

/**
 * Thread → main, in order on the task's port; the last is 'done' or 'error'. An epoch with a state (a checkpoint) waits for a ThreadReply; one without goes on
 * at once, and a 'stop' sent later still stops it.
 */
export type ThreadMessage =
  | { type: 'epoch'; report: EpochReport; state: Uint8Array | null }
  | { type: 'done'; outcome: TrainingOutcome }
  | { type: 'error'; kind: ThreadErrorKind; message: string; stack?: string };

export type ThreadReply = { type: 'continue' } | { type: 'stop' };
/**
 * Main → thread: a reply to an epoch, abort (stop mid-epoch), or checkpointAndStop (finish the
 * current epoch, checkpoint it whatever the interval, then stop).
 */
export type ThreadRequest = ThreadReply | { type: 'abort' } | { type: 'checkpointAndStop' };
