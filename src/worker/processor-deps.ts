// What the job processor (and its attempt runner and record writer) is built from: the stores, the
// event bus, the training thread pool and the settings. The worker's main.ts chooses them.
import type { CsvLimits } from '../data/index.js';
import type { ArtifactStore, CheckpointStore, JobEventBus, JobStore } from '../domain/ports.js';
import type { Logger } from '../logger.js';
import type { FileStoreSettings } from '../storage/file-store.js';
import type { JobAnnouncer } from './announcer.js';
import type { StartTraining } from './thread-runner.js';

export interface ProcessorDeps {
  jobs: JobStore;
  events: JobEventBus;
  checkpoints: CheckpointStore;
  artifacts: ArtifactStore;
  /** Where the training thread reads the dataset from (it builds its own FileStore). */
  files: FileStoreSettings;
  csvLimits: CsvLimits;
  logger: Logger;
  /** Runs a training on a thread: a TrainingPool's start (tests may pass their own). */
  startThread: StartTraining;
  now?: () => Date;
  /** Least time between checkpoints; default CHECKPOINT_INTERVAL_MS. */
  checkpointIntervalMs?: number;
  /** Threads the engine's large products may use in each training thread; default 1. */
  engineThreads?: number;
  /**
   * Announces a job's end once its final state is written: the webhook event, the next step of its
   * search for a trial run, then out of the outbox (announcer.ts). What fails here stays in the
   * outbox for the reconciler's sweep.
   */
  announce?: JobAnnouncer;
}
