// The training thread: a piscina pool thread that runs one job after another. Per job it loads the
// dataset (kept for the next jobs, see dataset-cache.ts), trains, and reports each epoch over the
// job's port to the worker's main thread, which persists it and answers continue or stop. Training
// runs here so the main thread's event loop stays free to renew the job's lock in Redis.
import type { MessagePort } from 'node:worker_threads';
import { workerData } from 'piscina';
import { CsvError, type Table } from '../data/index.js';
import { InvalidTrainingDataError, dataSettings, prepareData, trainPrepared } from '../domain/training.js';
import {
  TrainingAbortedError,
  TrainingDivergedError,
  decodeTrainingState,
  encodeTrainingState,
  setEngineThreads,
  type EpochReport,
  type TrainingState,
} from '../engine/index.js';
import { loadDatasetTable } from '../storage/dataset-table.js';
import { createFileStore, type FileStore, type FileStoreSettings } from '../storage/file-store.js';
import { fileKeys } from '../storage/file-keys.js';
import { createDatasetCache } from './dataset-cache.js';
import type { ThreadInput, ThreadMessage, ThreadReply, ThreadRequest, TrainTask } from './thread-protocol.js';

/** Thread-wide settings, from the pool's workerData. */
export interface TrainThreadData {
  /** Bytes of parsed and encoded datasets this thread keeps between jobs. */
  cacheBytes: number;
}

const cache = createDatasetCache((workerData as TrainThreadData | undefined)?.cacheBytes ?? 0);
// One FileStore per settings (an S3 client keeps its connections for the next job).
const stores = new Map<string, FileStore>();
function storeFor(settings: FileStoreSettings): FileStore {
  const key = JSON.stringify(settings);
  let store = stores.get(key);
  if (!store) stores.set(key, (store = createFileStore(settings)));
  return store;
}

/** One job's link to the main thread: its port, its abort signal, the checkpoint it waits on. */
class JobLink {
  readonly controller = new AbortController();
  /** Set on shutdown: the epoch under way ends with a checkpoint, then training stops. */
  checkpointThenStop = false;
  private answer: ((reply: ThreadReply) => void) | null = null;

  constructor(private readonly port: MessagePort) {
    port.on('message', (msg: ThreadRequest) => this.receive(msg));
    // The main thread closes the port when it gave up on the job: stop, and wait for nothing more.
    port.on('close', () => {
      this.controller.abort();
      this.receive({ type: 'stop' });
    });
  }

  /** Posts to the main thread (which closes the port after the result: later posts go nowhere). */
  post(msg: ThreadMessage): void {
    this.port.postMessage(msg);
  }

  /** Posts a checkpoint epoch and waits for the main thread to have stored it. */
  checkpoint(report: EpochReport, state: Uint8Array): Promise<ThreadReply> {
    const reply = new Promise<ThreadReply>((resolve) => (this.answer = resolve));
    this.post({ type: 'epoch', report, state });
    return reply;
  }

  private receive(msg: ThreadRequest): void {
    if (msg.type === 'checkpointAndStop') {
      this.checkpointThenStop = true;
      return;
    }
    // A stop while the epoch's checkpoint is still to come waits for that checkpoint.
    if (msg.type === 'abort' || (msg.type === 'stop' && (this.answer || !this.checkpointThenStop)))
      this.controller.abort();
    if (this.answer && msg.type !== 'abort') {
      const a = this.answer;
      this.answer = null;
      a(msg);
    }
  }
}

/** The piscina task: runs one job; its result (and every epoch before it) goes over task.port. */
export default async function train({ input, port }: TrainTask): Promise<void> {
  const link = new JobLink(port);
  try {
    link.post(await run(input, link));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    link.post({ type: 'error', kind: 'internal', message: e.message, stack: e.stack });
  }
}

/** The dataset's file is gone (the dataset was deleted after the job was queued). */
class DatasetGoneError extends Error {}

async function run(input: ThreadInput, link: JobLink): Promise<ThreadMessage> {
  setEngineThreads(input.engineThreads);
  let table: Table;
  try {
    table = await loadTable(input);
  } catch (err) {
    if (err instanceof CsvError) return { type: 'error', kind: 'invalidData', message: err.message };
    if (err instanceof DatasetGoneError)
      return { type: 'error', kind: 'datasetDeleted', message: 'the dataset file no longer exists' };
    throw err;
  }
  try {
    const settings = dataSettings(input.spec);
    const data = cache.data(table, settings, () => prepareData(table, settings));
    const outcome = await trainPrepared(data, input.spec, {
      signal: link.controller.signal,
      resume: input.resume ? decodeTrainingState(input.resume) : undefined,
      onEpoch: checkpointing(input.checkpointIntervalMs, link),
      scoreTest: input.scoreTest,
    });
    return { type: 'done', outcome };
  } catch (err) {
    if (err instanceof TrainingDivergedError)
      return { type: 'error', kind: 'diverged', message: err.message };
    if (err instanceof TrainingAbortedError || link.controller.signal.aborted)
      return { type: 'error', kind: 'aborted', message: 'training stopped on request' };
    if (err instanceof InvalidTrainingDataError)
      return { type: 'error', kind: 'invalidData', message: err.message };
    throw err;
  }
}

/**
 * The dataset as a table; DatasetGoneError when its files are gone. A cached table is only used
 * while the dataset is still stored, so a deleted dataset fails its jobs as it did before caching.
 */
async function loadTable(input: ThreadInput): Promise<Table> {
  const files = storeFor(input.files);
  const { datasetId, csv } = input.spec;
  // Deleting a dataset removes its CSV and its typed columns; either one left still trains.
  const stored =
    (await files.exists(fileKeys.dataset(datasetId))) ||
    (await files.exists(fileKeys.datasetColumns(datasetId)));
  if (!stored) throw new DatasetGoneError();
  // The format frozen in the spec at submit time: a later PATCH of the dataset does not change this
  // job, and the key holds it, so a PATCHed dataset's jobs never share a table read another way.
  const read = { csv: csv ?? {}, limits: input.csvLimits };
  return cache.table(datasetId, read, async () => {
    // The typed columns stored at upload when they were read with this format, else the CSV.
    const loaded = await loadDatasetTable(files, datasetId, csv, input.csvLimits);
    if (!loaded) throw new DatasetGoneError();
    return loaded.table;
  });
}

/**
 * The onEpoch hook: a checkpoint once checkpointIntervalMs has passed since training started or
 * since the last one (encoding and storing the full state every epoch would cost more than a small
 * epoch; a job shorter than the interval never writes one). The thread waits for each checkpoint
 * to be stored, so at most one interval of epochs is ever in flight.
 */
function checkpointing(intervalMs: number, link: JobLink) {
  let last = performance.now();
  return async (report: EpochReport, snapshot: () => TrainingState): Promise<void> => {
    if (!link.checkpointThenStop && performance.now() - last < intervalMs) {
      link.post({ type: 'epoch', report, state: null });
      return;
    }
    const reply = await link.checkpoint(report, encodeTrainingState(snapshot()));
    last = performance.now();
    if (reply.type === 'stop' || link.checkpointThenStop) link.controller.abort();
  };
}
