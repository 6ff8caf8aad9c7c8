// The training thread: loads the CSV, trains, and reports each epoch to the worker's main thread,
// which persists it and answers continue or stop. Training runs here so the main thread's event
// loop stays free to renew the job's lock in Redis.
import { parentPort } from 'node:worker_threads';
import { CsvError } from '../data/index.js';
import { InvalidTrainingDataError, runTraining } from '../domain/training.js';
import {
  TrainingAbortedError,
  TrainingDivergedError,
  decodeTrainingState,
  encodeTrainingState,
  setEngineThreads,
} from '../engine/index.js';
import { createFileStore } from '../storage/file-store.js';
import { loadDatasetTable } from '../storage/dataset-table.js';
import type { ThreadInput, ThreadReply, ThreadRequest, ThreadMessage } from './thread-protocol.js';

const port = parentPort;
if (!port) throw new Error('train-thread.ts runs as a worker thread only');
const controller = new AbortController();
let answer: ((reply: ThreadReply) => void) | null = null;
let lastCheckpoint = 0;
/** Set on shutdown: the epoch under way ends with a checkpoint, then training stops. */
let checkpointThenStop = false;

// The thread may be started before there is a job for it (a warm spare); the job arrives as the
// first message.
let started = false;

port.on('message', (msg: ThreadRequest) => {
  if (msg.type === 'start') {
    if (started) return;
    started = true;
    main(msg.input).catch((err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      post({ type: 'error', kind: 'internal', message: e.message, stack: e.stack });
    });
    return;
  }
  if (msg.type === 'checkpointAndStop') {
    checkpointThenStop = true;
    return;
  }
  // A stop while the epoch's checkpoint is still to come waits for that checkpoint.
  if (msg.type === 'abort' || (msg.type === 'stop' && (answer || !checkpointThenStop))) controller.abort();
  if (answer && msg.type !== 'abort') {
    const a = answer;
    answer = null;
    a(msg);
  }
});

const post = (msg: ThreadMessage) => port.postMessage(msg);

async function main(input: ThreadInput): Promise<void> {
  setEngineThreads(input.engineThreads);
  let table;
  try {
    // The format frozen in the spec at submit time: a later PATCH of the dataset does not change this job.
    const files = createFileStore(input.files);
    const loaded = await loadDatasetTable(files, input.spec.datasetId, input.spec.csv, input.csvLimits);
    if (!loaded) {
      return post({ type: 'error', kind: 'datasetDeleted', message: 'the dataset file no longer exists' });
    }
    table = loaded.table;
  } catch (err) {
    if (err instanceof CsvError) return post({ type: 'error', kind: 'invalidData', message: err.message });
    throw err;
  }
  try {
    const outcome = await runTraining(table, input.spec, {
      signal: controller.signal,
      resume: input.resume ? decodeTrainingState(input.resume) : undefined,
      onEpoch: async (report, snapshot) => {
        // A checkpoint at most every CHECKPOINT_INTERVAL_MS (and after the first epoch): encoding and
        // fsyncing the full state every epoch would cost more than a small epoch itself. The thread
        // waits for the checkpoint to be stored, so at most one interval of epochs is ever in flight.
        const due =
          checkpointThenStop ||
          report.epoch === 1 ||
          performance.now() - lastCheckpoint >= input.checkpointIntervalMs;
        if (!due) {
          post({ type: 'epoch', report, state: null });
          return;
        }
        const state = encodeTrainingState(snapshot());
        lastCheckpoint = performance.now();
        const reply = new Promise<ThreadReply>((resolve) => (answer = resolve));
        post({ type: 'epoch', report, state });
        const r = await reply;
        if (r.type === 'stop' || checkpointThenStop) controller.abort();
      },
    });
    post({ type: 'done', outcome });
  } catch (err) {
    if (err instanceof TrainingDivergedError)
      return post({ type: 'error', kind: 'diverged', message: err.message });
    if (err instanceof TrainingAbortedError || controller.signal.aborted) {
      return post({ type: 'error', kind: 'aborted', message: 'training stopped on request' });
    }
    if (err instanceof InvalidTrainingDataError)
      return post({ type: 'error', kind: 'invalidData', message: err.message });
    throw err;
  }
}
