// Implements the CsvDescriber port with a small pool of worker threads (piscina), so parsing an
// upload (tens of seconds for a large file) never blocks the API's event loop. Threads start on the
// first job and are kept for the next ones; jobs wait in order while every thread is busy; a thread
// that dies (crash, out of memory) fails its job and is replaced by the next job that needs one.
import { Piscina } from 'piscina';
import type { ResourceLimits } from 'node:worker_threads';
import { CsvError, type CsvErrorKind, type CsvLimits, type CsvOptions } from '../data/index.js';
import type { CsvDescriber, DescribedCsv } from '../domain/ports.js';
import { threadEntry, threadModule } from '../ts-thread.js';

const ENTRY = threadEntry(import.meta.url, 'csv-describe-thread');
/** An idle thread is kept this long for the next upload (loading one takes a moment). */
const IDLE_THREAD_MS = 10 * 60_000;
const CLOSED = 'the CSV describer was closed';

/** Main → thread: one file to parse and describe. */
export interface DescribeRequest {
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

/** Thread → main: the answer to one request. */
export type DescribeReply = ({ ok: true } & DescribedCsv) | { ok: false; error: DescribeError };

export interface CsvDescriberOptions {
  /** Worker threads at most (default 1: uploads are rare next to the requests they must not stall). */
  threads?: number;
  /** Start one thread now rather than on the first upload (loading it takes a moment). */
  prestart?: boolean;
  /** Heap limits of each thread; a thread over them dies and its job fails, the process lives on. */
  resourceLimits?: ResourceLimits;
}

export interface CsvDescriberPool extends CsvDescriber {
  /**
   * Threads alive now, started in all (more started than alive means some were replaced), and the
   * uploads being described (busy, at most one a thread) or waiting for a thread (queued).
   */
  stats(): { alive: number; started: number; busy: number; queued: number };
}

/** A pool of CSV threads (piscina): jobs wait in order while every thread is busy. */
export function createCsvDescriber(options: CsvDescriberOptions = {}): CsvDescriberPool {
  const size = Math.max(1, Math.floor(options.threads ?? 1));
  const pool = new Piscina({
    ...threadModule(ENTRY, {}),
    minThreads: options.prestart ? 1 : 0,
    maxThreads: size,
    idleTimeout: IDLE_THREAD_MS,
    atomics: 'disabled',
    resourceLimits: options.resourceLimits,
  });
  let started = 0;
  let inFlight = 0;
  let closed = false;
  pool.on('workerCreate', () => (started += 1));
  // A thread that died while idle: the next upload starts a new one.
  pool.on('error', () => {});

  async function describe(request: DescribeRequest): Promise<DescribedCsv> {
    inFlight += 1;
    let reply: DescribeReply;
    try {
      reply = (await pool.run(request)) as DescribeReply;
    } catch (err) {
      throw new Error(
        closed ? CLOSED : `the CSV thread stopped: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      inFlight -= 1;
    }
    if (!reply.ok) throw toError(reply.error);
    const { rowCount, columns, warnings, format } = reply;
    return { rowCount, columns, warnings, format };
  }

  return {
    describe(path, limits, options = {}, keepColumns = false) {
      if (closed) return Promise.reject(new Error(CLOSED));
      return describe({ path, limits, options, keepColumns });
    },

    async close() {
      closed = true;
      await pool.destroy();
    },

    stats() {
      const busy = Math.min(inFlight, size);
      return { alive: pool.threads.length, started, busy, queued: inFlight - busy };
    },
  };
}

/** Rebuilds the thread's error on this side: a CsvError with its kind, row and column, or an Error with its code. */
function toError(e: DescribeError): Error {
  if (e.csv) return new CsvError(e.kind, e.message, e.row, e.column);
  const err: NodeJS.ErrnoException = new Error(e.message);
  if (e.code !== undefined) err.code = e.code;
  return err;
}
