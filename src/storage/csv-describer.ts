// Implements the CsvDescriber port with a small pool of worker threads (piscina), so parsing an
// upload (tens of seconds for a large file) never blocks the API's event loop. Threads start on the
// first job and are kept for the next ones; jobs wait in order while every thread is busy; a thread
// that dies (crash, out of memory) fails its job and is replaced by the next job that needs one.
import { Piscina } from 'piscina';
import { statSync } from 'node:fs';
import { MessageChannel, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import { charsetName, CsvError, type CsvErrorKind, type CsvLimits, type CsvOptions } from '../data/index.js';
import type { CsvDescriber, DescribedCsv } from '../domain/ports.js';
import { threadEntry, threadModule } from '../ts-thread.js';

const ENTRY = threadEntry(import.meta.url, 'csv-describe-thread');
/** An idle thread is kept this long for the next upload (loading one takes a moment). */
const IDLE_THREAD_MS = 10 * 60_000;
const CLOSED = 'the CSV describer was closed';
/**
 * A UTF-8 upload of at least this many bytes is read by two threads (csv-split.ts): below it the
 * second thread's start-up and the merge cost more than half the read.
 */
export const SPLIT_MIN_BYTES = 8 << 20;
/**
 * Each thread's young generation (MB): a read makes garbage at a steady pace (each 64 KiB chunk's
 * text), and V8's default lets it pile up to several times this in every thread before a scavenge.
 * Measured on the 64.7 MB upload of bench/upload-data.ts with two threads, alternating runs: peak
 * memory 213-228 MB against 240-248 with V8's default, CPU time the same (2.23-2.35 s both).
 */
const YOUNG_GENERATION_MB = 16;

/** Main → thread: one file to parse and describe. */
export interface DescribeRequest {
  path: string;
  limits: CsvLimits;
  options: CsvOptions;
  /** Also write the typed columns beside the file (stagedColumnsPath). */
  keepColumns: boolean;
  /**
   * One of two threads reading the file together (csv-split.ts): the second sends its part
   * through `port` to the first, which replies as a lone thread does.
   */
  part?: { role: 'first' | 'second'; port: MessagePort };
}

/** An error as plain data: Error subclasses lose their class and fields across postMessage. */
export type DescribeError =
  | { csv: true; kind: CsvErrorKind; message: string; row?: number; column?: string }
  | { csv: false; message: string; code?: string };

/** Thread → main: the answer to one request. */
export type DescribeReply =
  ({ ok: true } & DescribedCsv) | { ok: true; part: 'second' } | { ok: false; error: DescribeError };

export interface CsvDescriberOptions {
  /**
   * Worker threads at most (default 1: uploads are rare next to the requests they must not
   * stall). With two or more, one large upload is read by two at once (see SPLIT_MIN_BYTES).
   */
  threads?: number;
  /** Files from this size (bytes) are read by two threads when the pool has two (default SPLIT_MIN_BYTES). */
  splitMinBytes?: number;
  /** Start the threads now rather than on the first upload (loading one takes a moment). */
  prestart?: boolean;
  /**
   * Heap limits of each thread; a thread over them dies and its job fails, the process lives on.
   * Default: only the young generation's size (YOUNG_GENERATION_MB).
   */
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
  const splitMinBytes = options.splitMinBytes ?? SPLIT_MIN_BYTES;
  const pool = new Piscina({
    ...threadModule(ENTRY, {}),
    minThreads: options.prestart ? size : 0,
    maxThreads: size,
    idleTimeout: IDLE_THREAD_MS,
    atomics: 'disabled',
    resourceLimits: options.resourceLimits ?? { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  let started = 0;
  let inFlight = 0;
  let closed = false;
  pool.on('workerCreate', () => (started += 1));
  // A thread that died while idle: the next upload starts a new one.
  pool.on('error', () => {});

  /**
   * One thread's read, or two threads' for a large UTF-8 file with no forced types: the second
   * part's task is queued first, so the first part's thread, which waits for it, never waits for
   * a task queued after its own (the pool runs tasks in order).
   */
  async function runRequest(request: DescribeRequest): Promise<DescribeReply> {
    if (!splits(request)) return (await pool.run(request)) as DescribeReply;
    const { port1, port2 } = new MessageChannel();
    const second = pool.run({ ...request, part: { role: 'second', port: port1 } }, { transferList: [port1] });
    // A second thread that dies closes its port: the first reads the whole file then.
    second.catch(() => undefined);
    return (await pool.run(
      { ...request, part: { role: 'first', port: port2 } },
      { transferList: [port2] },
    )) as DescribeReply;
  }

  /** Whether two threads read the file: the pool has two, the file is large UTF-8, no forced types. */
  function splits({ path, options }: DescribeRequest): boolean {
    if (size < 2 || Object.keys(options.columnTypes ?? {}).length > 0) return false;
    if (options.charset !== undefined && charsetName(options.charset) !== 'utf-8') return false;
    // One stat, synchronous so the task is queued at once (jobs keep the order they came in).
    return (statSync(path, { throwIfNoEntry: false })?.size ?? 0) >= splitMinBytes;
  }

  async function describe(request: DescribeRequest): Promise<DescribedCsv> {
    inFlight += 1;
    let reply: DescribeReply;
    try {
      reply = await runRequest(request);
    } catch (err) {
      throw new Error(
        closed ? CLOSED : `the CSV thread stopped: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      inFlight -= 1;
    }
    if (!reply.ok) throw toError(reply.error);
    if ('part' in reply) throw new Error('unreachable: a lone read answered as a second part');
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
