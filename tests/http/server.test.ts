// The composition root: `src/http/server.ts` starts against the real Redis, prints the docs URL,
// serves, and on SIGTERM finishes and exits cleanly. API keys never reach the log.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/storage/redis.js';
import { deleteKeys } from '../helpers/app.js';
import { startApi, stopAllProcesses, type ApiProcess } from '../helpers/processes.js';

describe('API server process', () => {
  const prefix = `test-http-server-${randomUUID()}`;
  let dataDir: string;
  let api: ApiProcess;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'bp-http-server-'));
    api = await startApi({
      env: { REDIS_PREFIX: prefix, DATA_DIR: dataDir, API_KEYS: 'acme:secret-key-123', LOG_LEVEL: 'info' },
    });
  });
  afterAll(async () => {
    await stopAllProcesses();
    const redis = createRedis('redis://127.0.0.1:6379', 'api');
    await new Promise((r) => redis.once('ready', r));
    await deleteKeys(redis, `${prefix}:*`);
    await redis.quit();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('when started, then it logs the docs URL and serves authenticated requests; SIGTERM exits 0', async () => {
    await api.waitForLine(new RegExp(`http://127\\.0\\.0\\.1:${api.port}/docs`), 10_000);
    const denied = await fetch(`${api.url}/v1/datasets`);
    expect(denied.status).toBe(401);
    const ok = await fetch(`${api.url}/v1/datasets`, { headers: { authorization: 'Bearer secret-key-123' } });
    expect(ok.status).toBe(200);
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
    const exit = await api.stop(10_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(api.output()).not.toContain('secret-key-123');
  });

  it('when API_KEYS is unset, then it warns once that auth is off and serves tenant "default" without a key', async () => {
    const open = await startApi({
      env: { REDIS_PREFIX: prefix, DATA_DIR: dataDir, API_KEYS: '', LOG_LEVEL: 'info' },
    });
    await open.waitForLine(/authentication is off/, 10_000);
    expect((await fetch(`${open.url}/v1/datasets`)).status).toBe(200);
    expect(open.output().match(/authentication is off/g)).toHaveLength(1);
    expect(await open.stop(10_000)).toEqual({ code: 0, signal: null });
  });
});
