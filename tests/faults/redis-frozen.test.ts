// Redis frozen (SIGSTOP: the host hangs, its sockets stay open) under a running API: creating
// requests still answer 503 with Retry-After in under a second, and all is well once it resumes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startStack, type Stack } from './stack.js';

let stack: Stack;
let iris: string;
beforeAll(async () => {
  stack = await startStack();
  iris = await stack.uploadFixture('iris');
}, 60_000);
afterAll(async () => {
  stack?.redis.resume();
  await stack?.close();
});

describe('Redis frozen', () => {
  it('when Redis stops answering without closing its sockets, then creating requests answer 503 in under a second', async () => {
    stack.redis.pause();
    try {
      const upload = await stack.request('POST', '/v1/datasets?name=frozen', 'a,b\n1,2\n', {
        'content-type': 'text/csv',
      });
      const submit = await stack.request('POST', '/v1/training-jobs', { datasetId: iris, target: 'species' });
      for (const [what, reply] of [
        ['POST /v1/datasets', upload],
        ['POST /v1/training-jobs', submit],
      ] as const) {
        expect(reply.status, what).toBe(503);
        expect(Number(reply.headers.get('retry-after')), what).toBeGreaterThanOrEqual(1);
        expect(reply.ms, what).toBeLessThan(1000);
      }
    } finally {
      stack.redis.resume();
    }
    await sleep(500);
    expect(
      (await stack.request('POST', '/v1/training-jobs', { datasetId: iris, target: 'species' })).status,
    ).toBe(202);
  }, 60_000);
});
