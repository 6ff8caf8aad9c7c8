// "Redis is unreachable" is decided once, from the failure's type (src/storage/redis.ts): these
// tests make real ioredis clients fail against a port nobody listens on, a frozen (SIGSTOPped)
// private Redis and one out of memory, and check what the adapters throw and what HTTP answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../src/domain/errors.js';
import { toProblem } from '../../src/http/errors.js';
import { createRedis, isUnreachable, type Redis } from '../../src/storage/redis.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the command to fail');
}

function expectUnavailable(err: unknown): void {
  expect(err).toBeInstanceOf(DependencyUnavailableError);
  expect(isUnreachable(err)).toBe(true);
  const p = toProblem(err, 'req-1');
  expect(p.problem.status).toBe(503);
  expect(p.retryAfterSeconds).toBeGreaterThan(0);
  expect(p.problem.detail).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|Connection|Stream|timed out/);
}

describe('when nothing listens on the port', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createRedis('redis://127.0.0.1:1', 'api');
    redis.on('error', () => {});
  });
  afterAll(() => redis.disconnect());

  it('then a command, a pipeline and a script-bearing transaction fail as DependencyUnavailableError (503)', async () => {
    expectUnavailable(await failure(redis.get('k')));
    const piped = await redis
      .pipeline()
      .get('a')
      .get('b')
      .exec()
      .catch((err: unknown) => err);
    // A pipeline reports each command's failure in its result, or rejects as a whole.
    const errors = Array.isArray(piped) ? piped.map(([err]) => err as unknown) : [piped];
    expect(errors.length).toBeGreaterThan(0);
    for (const err of errors) expectUnavailable(err);
    expectUnavailable(await failure(redis.multi().set('a', '1').exec()));
  });

  it('then a duplicate connection translates its failures the same way', async () => {
    const dup = redis.duplicate();
    dup.on('error', () => {});
    try {
      expectUnavailable(await failure(dup.get('k')));
    } finally {
      dup.disconnect();
    }
  });
});

describe('a private Redis', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedis(server.url, 'api', { commandTimeout: 300, lazyConnect: true });
    redis.on('error', () => {});
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('when Redis answers with an error reply that is a bug (unknown command, WRONGTYPE), then it stays a 500', async () => {
    const unknown = await failure(redis.call('NO-SUCH-COMMAND'));
    expect(unknown).not.toBeInstanceOf(DependencyUnavailableError);
    expect(isUnreachable(unknown)).toBe(false);
    expect(toProblem(unknown, 'r').problem.status).toBe(500);
    await redis.set('a-string', 'x');
    const wrongType = await failure(redis.lpush('a-string', 'y'));
    expect(isUnreachable(wrongType)).toBe(false);
    expect(toProblem(wrongType, 'r').problem.status).toBe(500);
  });

  it('when Redis is out of memory under noeviction, then its OOM reply is a 503', async () => {
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    try {
      expectUnavailable(await failure(redis.set('big', 'x'.repeat(1000))));
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    expect(await redis.set('big', 'x')).toBe('OK');
  });

  it('when Redis is frozen (its sockets open, no answers), then a command times out as DependencyUnavailableError', async () => {
    server.pause();
    try {
      expectUnavailable(await failure(redis.get('k')));
    } finally {
      server.resume();
    }
    expect(await redis.ping()).toBe('PONG');
  });

  it('when an error is not Redis at all (a corrupt record, a bug), then it is not called unreachable', () => {
    let parseError: unknown;
    try {
      JSON.parse('{not json');
    } catch (err) {
      parseError = err;
    }
    expect(isUnreachable(parseError)).toBe(false);
    expect(toProblem(parseError, 'r').problem.status).toBe(500);
    // A socket errno is typed by its code, wherever it comes from.
    const refused = Object.assign(new Error('connect'), { code: 'ECONNREFUSED' });
    expect(isUnreachable(refused)).toBe(true);
  });
});
