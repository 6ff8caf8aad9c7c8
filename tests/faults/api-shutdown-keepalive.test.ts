// SIGTERM on the API while a keep-alive client (Node's default agent, browsers, load balancers) has
// a request in flight: the request finishes, and the process exits 0 without waiting out the grace.
import { request as httpRequest, Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startStack, type Stack } from './stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe('SIGTERM on the API with a keep-alive client', () => {
  it('when the API is told to stop during an upload on a keep-alive connection, then it answers 201 and exits 0 well within the grace period', async () => {
    const agent = new Agent({ keepAlive: true });
    const rows = Array.from({ length: 200 }, (_, i) => `${i},${i % 2 ? 'odd' : 'even'}\n`).join('');
    const reply = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = httpRequest(
        new URL('/v1/datasets?name=slow', stack.api.url),
        { method: 'POST', headers: { 'content-type': 'text/csv' }, agent },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
        },
      );
      req.on('error', reject);
      req.write('a,label\n');
      void stack.api.waitForLine(/shutting down/, 10_000).then(async () => {
        await sleep(300);
        req.end(rows);
      }, reject);
    });
    await sleep(300);
    const termAt = Date.now();
    stack.api.signal('SIGTERM');
    const answer = await reply;
    expect(answer.status).toBe(201);
    const exit = await stack.api.exited();
    const exitMs = Date.now() - termAt;
    agent.destroy();
    expect(exit, stack.api.output().split('\n').slice(-3).join('\n')).toEqual({ code: 0, signal: null });
    // SHUTDOWN_GRACE_MS is 5 s in the test profile: a clean exit comes well before it.
    expect(exitMs).toBeLessThan(4000);
  }, 60_000);
});
