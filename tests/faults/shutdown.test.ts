// Graceful shutdown: SIGTERM on a worker mid-training hands the job back (another worker resumes it
// from the checkpoint) and the process exits 0 in time; SIGTERM on the API finishes the request in
// flight, then exits.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attemptStarted,
  epochs1toN,
  runnerOf,
  longRegression,
  sleep,
  startStack,
  terminal,
  type Stack,
} from './stack.js';
import { assertBuildIsFresh } from '../helpers/build.js';

let stack: Stack;
let friedman: string;

beforeAll(async () => {
  stack = await startStack();
  friedman = await stack.uploadFixture('friedman1');
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const EPOCHS = 250;

describe('SIGTERM on a worker', () => {
  it('when a worker is told to stop mid-training, then it hands the job back and exits 0 within 25 s, and another worker finishes it', async () => {
    const pair = [await stack.startWorker('worker-a'), await stack.startWorker('worker-b')];
    const job = await stack.submitRetrying(longRegression(friedman, EPOCHS));
    const { runner: leaving, others } = await runnerOf(pair, job.id, 1);
    const staying = others[0];
    await stack.waitFor(job.id, (j) => j.progress.epoch >= 5);

    const termAt = Date.now();
    leaving.signal('SIGTERM');
    const exit = await leaving.exited();
    const exitMs = Date.now() - termAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(25_000);
    // It handed the job back itself rather than leaving it to the stalled check.
    expect(leaving.output()).not.toMatch(/grace period over/);

    const done = await stack.waitFor(job.id, terminal, 60_000);
    expect(done.status).toBe('succeeded');
    expect(done.history.map((e) => e.epoch)).toEqual(epochs1toN(EPOCHS));
    expect(done.attempts).toHaveLength(2);
    expect(done.attempts[0].outcome).toBe('shutdown');
    // The hand-back checkpoints first, so the next attempt resumes from where this one stopped.
    expect(done.attempts[1].resumedFromEpoch).toBeGreaterThanOrEqual(5);
    expect(done.attempts[1].resumedFromEpoch).toBeLessThan(EPOCHS);
    expect(staying.output()).toMatch(attemptStarted(job.id, 2));
    expect(await stack.modelsOf(job.id)).toHaveLength(1);
    staying.signal('SIGKILL');
    await staying.exited();
  }, 120_000);
});

describe('SIGTERM to the npm process of `npm run start:worker`', () => {
  it('when npm is told to stop mid-training, then node (the compiled build) hands the job back as shutdown, not workerCrashed', async () => {
    assertBuildIsFresh();
    const viaNpm = await stack.startWorker('npm-worker', { viaNpm: true });
    const job = await stack.submitRetrying(longRegression(friedman, EPOCHS));
    await viaNpm.waitForLine(attemptStarted(job.id, 1));
    await stack.waitFor(job.id, (j) => j.progress.epoch >= 3);

    // Only npm gets the signal, as from a process manager that started `npm run start:worker`.
    viaNpm.signal('SIGTERM');
    const handedBack = await stack.waitFor(
      job.id,
      (j) => j.status === 'queued' && j.attempts[0]?.endedAt !== null,
      30_000,
    );
    expect(handedBack.attempts[0].outcome).toBe('shutdown');
    expect(await viaNpm.exited()).toEqual({ code: 0, signal: null });
    expect(viaNpm.output()).toMatch(/"signal":"SIGTERM".*shutting down/);

    // The job was not left behind: a fresh worker resumes it from the hand-back's checkpoint.
    await stack.startWorker('after-npm');
    const done = await stack.waitFor(job.id, terminal, 60_000);
    expect(done.status).toBe('succeeded');
    expect(done.attempts.map((a) => a.outcome)).toEqual(['shutdown', null]);
    expect(done.attempts[1].resumedFromEpoch).toBeGreaterThanOrEqual(3);
    await stack.stopWorkers();
  }, 120_000);
});

describe('SIGTERM on the API', () => {
  it('when the API is told to stop during an upload, then it finishes that upload with 201 and exits 0', async () => {
    const header = 'a,b,label\n';
    const rows = Array.from(
      { length: 200 },
      (_, i) => `${i},${(i * 7) % 13},${i % 2 ? 'odd' : 'even'}\n`,
    ).join('');
    const url = new URL('/v1/datasets?name=slow', stack.api.url);
    // One request on its own connection (Connection: close), as a client without keep-alive sends it.
    const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        url,
        { method: 'POST', headers: { 'content-type': 'text/csv' }, agent: false },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write(header);
      // The rest arrives after the signal: the request is in flight while the API shuts down.
      void stack.api.waitForLine(/shutting down/, 10_000).then(async () => {
        await sleep(300);
        req.end(rows);
      }, reject);
    });
    await sleep(300);
    stack.api.signal('SIGTERM');
    const answer = await reply;
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.body)).toMatchObject({ name: 'slow', rowCount: 200 });
    const exit = await stack.api.exited();
    expect(exit, stack.api.output()).toEqual({ code: 0, signal: null });
    // It took no new connections afterwards.
    await expect(fetch(`${stack.api.url}/healthz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  }, 60_000);
});
