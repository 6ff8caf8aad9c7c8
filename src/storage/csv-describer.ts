// Implements the CsvDescriber port with a small pool of worker threads, so parsing an upload (tens
// of seconds for a large file) never blocks the API's event loop. Threads start on the first job
// and are kept for the next ones; jobs wait in order while every thread is busy; a thread that
// dies (crash, out of memory) fails its job and is replaced by the next job that needs one.
import type { Worker, ResourceLimits } from 'node:worker_threads';
import { CsvError, type CsvErrorKind, type CsvLimits, type CsvOptions } from '../data/index.js';
import type { CsvDescriber, DescribedCsv } from '../domain/ports.js';
import { spawnThread, threadEntry } from '../ts-thread.js';

const ENTRY = threadEntry(import.meta.url, 'csv-describe-thread');

/** Main → thread: one file to parse and describe. */
export interface DescribeRequest {
  id: number;
  path: string;
  limits: CsvLimits;
  options: CsvOptions;
  /** Also write the typed columns beside the file (stagedColumnsPath). */
  keepColumns: boolean;
}

/** An error as plain data: Error subclasses lose their class and fields across postMessage. */
export type DescribeError =
  | { csv: true; kind: CsvErrorKind; message: string; row?: number; column?: string }
  | { csv: false; message: string; code?: string };

/** Thread → main: the answer to the request with the same id. */
export type DescribeReply =
  ({ id: number; ok: true } & DescribedCsv) | { id: number; ok: false; error: DescribeError };

export interface CsvDescriberOptions {
  /** Worker threads at most (default 1: uploads are rare next to the requests they must not stall). */
  threads?: number;
  /** Start one thread now rather than on the first upload (loading it takes a moment). */
  prestart?: boolean;
  /** Heap limits of each thread; a thread over them dies and its job fails, the process lives on. */
  resourceLimits?: ResourceLimits;
}

export interface CsvDescriberPool extends CsvDescriber {
  /** Threads alive now, and started in all (more started than alive means some were replaced). */
  stats(): { alive: number; started: number; busy: number; queued: number };
}

interface Pending {
  request: DescribeRequest;
  resolve: (value: DescribedCsv) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Pending | null;
}

export function createCsvDescriber(options: CsvDescriberOptions = {}): CsvDescriberPool {
  const size = Math.max(1, Math.floor(options.threads ?? 1));
  const slots: Slot[] = [];
  const queue: Pending[] = [];
  let nextId = 1;
  let started = 0;
  let closed = false;

  function startSlot(): Slot {
    const worker = spawnThread(ENTRY, { resourceLimits: options.resourceLimits });
    started += 1;
    const slot: Slot = { worker, job: null };
    // An idle thread never keeps the process alive; a busy one does, until its job settles.
    worker.unref();
    worker.on('message', (reply: DescribeReply) => {
      const job = slot.job;
      if (!job || job.request.id !== reply.id) return;
      slot.job = null;
      worker.unref();
      if (reply.ok) {
        const { rowCount, columns, warnings, format } = reply;
        job.resolve({ rowCount, columns, warnings, format });
      } else job.reject(toError(reply.error));
      dispatch();
    });
    const lost = (reason: string) => {
      const at = slots.indexOf(slot);
      if (at < 0) return; // 'error' is followed by 'exit'; handle the first only
      slots.splice(at, 1);
      const job = slot.job;
      slot.job = null;
      job?.reject(new Error(closed ? 'the CSV describer was closed' : `the CSV thread stopped: ${reason}`));
      if (!closed) dispatch();
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`it exited with code ${code}`));
    slots.push(slot);
    return slot;
  }

  function dispatch(): void {
    while (queue.length > 0) {
      let slot = slots.find((s) => s.job === null);
      if (!slot) {
        if (slots.length >= size) return;
        slot = startSlot();
      }
      const job = queue.shift() as Pending;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(job.request);
    }
  }

  if (options.prestart) startSlot();

  return {
    describe(path, limits, options = {}, keepColumns = false) {
      if (closed) return Promise.reject(new Error('the CSV describer was closed'));
      return new Promise((resolve, reject) => {
        queue.push({ request: { id: nextId++, path, limits, options, keepColumns }, resolve, reject });
        dispatch();
      });
    },

    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new Error('the CSV describer was closed'));
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },

    stats: () => ({
      alive: slots.length,
      started,
      busy: slots.filter((s) => s.job !== null).length,
      queued: queue.length,
    }),
  };
}

/** Rebuilds the thread's error on this side: a CsvError with its kind, row and column, or an Error with its code. */
function toError(e: DescribeError): Error {
  if (e.csv) return new CsvError(e.kind, e.message, e.row, e.column);
  const err: NodeJS.ErrnoException = new Error(e.message);
  if (e.code !== undefined) err.code = e.code;
  return err;
}
