// Runs one training in a worker thread and turns its messages into a promise. Under tsx (and
// vitest) the thread is a .ts file: Node 20 applies no `--import tsx` hooks to a worker's entry
// module, so a small bootstrap registers tsx's loader first, then imports the thread.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EpochReport } from '../engine/index.js';
import type { TrainingOutcome } from '../domain/training.js';
import type { ThreadErrorKind, ThreadInput, ThreadMessage, ThreadRequest } from './thread-protocol.js';

const isTs = import.meta.url.endsWith('.ts');
const THREAD_URL = new URL(isTs ? './train-thread.ts' : './train-thread.js', import.meta.url);
/** How long an aborted thread may take to stop on its own before it is terminated. */
const ABORT_GRACE_MS = 3000;

function tsBootstrap(): string {
  // tsx's ESM API (the .mjs build: the package's "import" export of tsx/esm/api).
  const api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(THREAD_URL.href)}); })`;
}

export type ThreadResult = { kind: 'done'; outcome: TrainingOutcome } | { kind: ThreadErrorKind; message: string; stack?: string };

export interface ThreadHandle {
  result: Promise<ThreadResult>;
  /** Stops the training mid-epoch; the result then is 'aborted'. */
  abort(): void;
}

export function startTrainingThread(
  input: ThreadInput,
  onEpoch: (report: EpochReport, state: Uint8Array) => Promise<'continue' | 'stop'>,
): ThreadHandle {
  const worker = isTs
    ? new Worker(tsBootstrap(), { eval: true, workerData: input })
    : new Worker(THREAD_URL, { workerData: input });
  let settled = false;
  let aborted = false;
  let killTimer: NodeJS.Timeout | null = null;
  let resolve!: (r: ThreadResult) => void;
  const result = new Promise<ThreadResult>((res) => (resolve = res));
  const finish = (r: ThreadResult) => {
    if (settled) return;
    settled = true;
    if (killTimer) clearTimeout(killTimer);
    resolve(aborted && r.kind !== 'done' ? { kind: 'aborted', message: 'training stopped on request' } : r);
    void worker.terminate();
  };
  const send = (msg: ThreadRequest) => {
    if (!settled) worker.postMessage(msg);
  };

  worker.on('message', (msg: ThreadMessage) => {
    if (msg.type === 'epoch') {
      onEpoch(msg.report, msg.state).then(
        (answer) => send({ type: answer }),
        (err: unknown) => {
          // Persisting the epoch failed (Redis or disk): stop here and let the job be retried.
          const e = err instanceof Error ? err : new Error(String(err));
          finish({ kind: 'internal', message: e.message, stack: e.stack });
        },
      );
    } else if (msg.type === 'done') {
      finish({ kind: 'done', outcome: msg.outcome });
    } else {
      finish({ kind: msg.kind, message: msg.message, stack: msg.stack });
    }
  });
  worker.on('error', (err) => finish({ kind: 'internal', message: err.message, stack: err.stack }));
  worker.on('exit', (code) => finish({ kind: 'internal', message: `training thread exited with code ${code}` }));

  return {
    result,
    abort() {
      if (settled || aborted) return;
      aborted = true;
      send({ type: 'abort' });
      killTimer = setTimeout(() => finish({ kind: 'aborted', message: 'training stopped on request' }), ABORT_GRACE_MS);
    },
  };
}
