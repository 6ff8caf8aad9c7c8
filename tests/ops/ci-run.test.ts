// .ci/run's Redis probe, sourced from the script itself: it must see a Redis that answers and no
// Redis where none listens, both with redis-cli and with bash's /dev/tcp when redis-cli is missing.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/processes.js';
import { getFreePort, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const script = join(repoRoot, '.ci/run');
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
});

/** Runs redis_answers from .ci/run for a port; `withoutRedisCli` hides redis-cli by emptying PATH. */
function probe(port: number, withoutRedisCli: boolean): boolean {
  const code = [
    `source ${JSON.stringify(script)}`,
    `REDIS_PORT=${port}`,
    ...(withoutRedisCli ? ['PATH=/nonexistent'] : []),
    'if redis_answers; then echo yes; else echo no; fi',
  ].join('\n');
  return execFileSync('bash', ['-c', code], { encoding: 'utf8' }).trim() === 'yes';
}

describe('.ci/run Redis probe', () => {
  it('when sourced, then it only defines functions (no install, no tests run)', () => {
    const out = execFileSync(
      'bash',
      ['-c', `source ${JSON.stringify(script)}; type redis_answers >/dev/null && echo defined`],
      {
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe('defined');
  });

  for (const withoutRedisCli of [false, true]) {
    const how = withoutRedisCli ? 'over /dev/tcp (no redis-cli)' : 'with redis-cli';
    it(`${how}: a running Redis answers, a free port does not`, async () => {
      expect(probe(redis.port, withoutRedisCli)).toBe(true);
      expect(probe(await getFreePort(), withoutRedisCli)).toBe(false);
    });
  }
});
