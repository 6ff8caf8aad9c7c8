// A batch prediction whose worker is killed with SIGKILL mid-file (a crash or an OOM kill): another
// worker process takes the job over when the queue lock expires and continues after the last
// recorded part. The result must be whole, every row once, in order. Workers are real processes
// (node --import tsx src/worker/main.ts) with short locks (tests/helpers/processes.ts).
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/engine/index.js';
import { startWorker, stopAllProcesses, type ServiceProcess } from '../helpers/processes.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { trainAndSave } from '../helpers/trained-model.js';
import { textBody } from '../helpers/text-body.js';

const ROWS = 200_000;
let t: TestApp;
let modelId: string;

beforeAll(async () => {
  t = await createTestApp();
  modelId = (await trainAndSave(t, 'default', 'iris.csv', { target: 'species', training: { epochs: 20 } }))
    .model.id;
}, 60_000);
afterAll(async () => {
  await stopAllProcesses();
  await t?.close();
});

const api = () => request(t.app.server);
const env = () => ({ REDIS_PREFIX: t.config.REDIS_PREFIX, DATA_DIR: t.config.DATA_DIR, LOG_LEVEL: 'info' });

/** Seeded rows in the ranges of the iris fixture, with an id column. */
function irisLike(rows: number, seed: number): string {
  const rng = createRng(seed);
  const u = (lo: number, hi: number) => (lo + (hi - lo) * rng.next()).toFixed(2);
  const lines = ['id,sepal_length,sepal_width,petal_length,petal_width'];
  for (let i = 0; i < rows; i++) lines.push(`r${i},${u(4.3, 7.9)},${u(2, 4.4)},${u(1, 6.9)},${u(0.1, 2.5)}`);
  return lines.join('\n') + '\n';
}

async function waitFor(id: string, until: (b: BatchBody) => boolean, timeoutMs: number): Promise<BatchBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api().get(`/v1/batch-predictions/${id}`);
    expect(res.status).toBe(200);
    if (until(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
interface BatchBody {
  id: string;
  status: string;
  progress: { rows: number; totalRows: number; chunks: number };
  rowsFailed: number;
  attempts: { outcome: string | null; resumedFromEpoch: number }[];
}

/** Peak resident memory of a live process in MB (VmHWM of /proc/<pid>/status). */
async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}

describe('batch prediction worker crash', () => {
  it('when the worker scoring a file is killed, then another worker finishes it and the result has every row exactly once, in order', async () => {
    const upload = await api()
      .post('/v1/datasets?name=big')
      .set('content-type', 'text/csv')
      .send(irisLike(ROWS, 7));
    expect(upload.status).toBe(201);
    const first: ServiceProcess = await startWorker({ env: env() }, 'batch-worker-1');
    const submitted = await api()
      .post('/v1/batch-predictions')
      .send({ modelId, datasetId: upload.body.id, keepColumns: ['id'] });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    await waitFor(id, (b) => b.status === 'running' && b.progress.chunks >= 3, 120_000);
    first.signal('SIGKILL');
    await first.exited();
    const killedAt = (await api().get(`/v1/batch-predictions/${id}`)).body as BatchBody;
    expect(killedAt.progress.chunks).toBeLessThan(20);

    const second = await startWorker({ env: env() }, 'batch-worker-2');
    const started = Date.now();
    const done = await waitFor(id, (b) => ['succeeded', 'failed', 'cancelled'].includes(b.status), 180_000);
    const seconds = (Date.now() - started) / 1000;
    const peak = await peakRssMb(second.pid);
    console.log(
      `batch crash test: killed after ${killedAt.progress.chunks} parts; the second worker scored ` +
        `${ROWS - killedAt.progress.rows} rows in ${seconds.toFixed(1)} s (lock expiry included); ` +
        `its peak RSS ${peak.toFixed(0)} MB`,
    );
    expect(done.status).toBe('succeeded');
    expect(done.progress).toEqual({ rows: ROWS, totalRows: ROWS, chunks: 20 });
    expect(done.rowsFailed).toBe(0);
    expect(done.attempts).toHaveLength(2);
    expect(done.attempts[0].outcome).toBe('workerCrashed');
    expect(done.attempts[1].resumedFromEpoch).toBeGreaterThanOrEqual(killedAt.progress.chunks);
    // A sanity bound, not a benchmark: a worker holding the 200,000 rows as objects would pass it too,
    // but one holding the input, the output and their parses together would not.
    expect(peak).toBeLessThan(1024);

    const res = await api().get(`/v1/batch-predictions/${id}/result`).buffer(true).parse(textBody);
    expect(res.status).toBe(200);
    const rows = parse(res.body as string) as string[][];
    expect(rows[0]).toEqual([
      'id',
      'label',
      'probability:setosa',
      'probability:versicolor',
      'probability:virginica',
      'error',
    ]);
    expect(rows.length).toBe(ROWS + 1);
    const ids = rows.slice(1).map((r) => r[0]);
    expect(ids).toEqual(Array.from({ length: ROWS }, (_, i) => `r${i}`));
    expect(rows.slice(1).every((r) => r.length === 6 && r[5] === '')).toBe(true);
  }, 400_000);
});
