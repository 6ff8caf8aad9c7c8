// `npm start` for real: on a machine where Redis is installed but not running, it starts a private
// Redis under DATA_DIR, the API and a worker, says where the docs are, and takes it all down on SIGTERM.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnScript, stopAllProcesses, type ServiceProcess } from '../helpers/processes.js';
import { getFreePort, pingRedis } from '../helpers/redis-server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'bp-npm-start-'));
let start: ServiceProcess | undefined;

afterAll(async () => {
  // SIGTERM first: the API and the worker run in their own process groups, and only npm start
  // itself knows them, so it must be the one to stop them.
  await start?.stop(40_000);
  await stopAllProcesses();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('when Redis is not running, then it runs everything on a private Redis and stops it all on SIGTERM', async () => {
    const [apiPort, redisPort] = [await getFreePort(), await getFreePort()];
    start = spawnScript('npm-start', 'src/cli/start.ts', {
      env: {
        PORT: String(apiPort),
        HOST: '127.0.0.1',
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        REDIS_PREFIX: `bp-start-test-${process.pid}`,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      },
    });
    const readyLine = await start.waitForLine(/API docs: /, 60_000);
    expect(readyLine).toContain(`http://127.0.0.1:${apiPort}/docs`);
    expect(await pingRedis(redisPort)).toBe(true);

    const health = await fetch(`http://127.0.0.1:${apiPort}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${apiPort}/readyz`);
    expect(ready.status).toBe(200);
    const docs = await fetch(`http://127.0.0.1:${apiPort}/docs`);
    expect(docs.status).toBeLessThan(400);

    start.signal('SIGTERM');
    expect(await start.exited()).toEqual({ code: 0, signal: null });
    expect(await pingRedis(redisPort)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${apiPort}/healthz`)).rejects.toThrow();
    // The private Redis kept its append-only file under DATA_DIR/redis.
    expect(existsSync(join(dataDir, 'redis', 'appendonlydir'))).toBe(true);
    expect(readdirSync(join(dataDir, 'redis', 'appendonlydir')).some((f) => f.endsWith('.aof'))).toBe(true);
  });
});
