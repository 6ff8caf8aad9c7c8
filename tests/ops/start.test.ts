// `npm start` for real: on a machine where Redis is installed but not running, it starts a private
// Redis under DATA_DIR, the API and a worker, says where the docs are, and takes it all down on SIGTERM.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnScript, stopAllProcesses, type ServiceProcess } from '../helpers/processes.js';
import { getFreePort, pingRedis } from '../helpers/redis-server.js';

const dirs: string[] = [];
const starts: ServiceProcess[] = [];
const orphanRedis: number[] = [];

afterAll(async () => {
  // SIGTERM first: the API and the worker run in their own process groups, and only npm start
  // itself knows them, so it must be the one to stop them.
  await Promise.all(starts.map((s) => s.stop(40_000)));
  await stopAllProcesses();
  for (const port of orphanRedis) await shutdownRedis(port);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function shutdownRedis(port: number): Promise<void> {
  const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => undefined);
  await client
    .connect()
    .then(() => client.call('SHUTDOWN', 'NOSAVE'))
    .catch(() => undefined);
  client.disconnect();
}

async function launch(options: { detached?: boolean; logLevel?: string } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bp-npm-start-'));
  dirs.push(dataDir);
  const [apiPort, redisPort] = [await getFreePort(), await getFreePort()];
  const start = spawnScript('npm-start', 'src/cli/start.ts', {
    detached: options.detached,
    env: {
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      REDIS_PREFIX: `bp-start-test-${process.pid}`,
      DATA_DIR: dataDir,
      LOG_LEVEL: options.logLevel ?? 'warn',
    },
  });
  starts.push(start);
  await start.waitForLine(/API docs: /, 60_000);
  return { start, dataDir, apiPort, redisPort };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid a service logged in its pino line matching msg. */
async function loggedPid(start: ServiceProcess, name: string, msg: RegExp): Promise<number> {
  const line = await start.waitForLine(new RegExp(`"name":"${name}".*"msg":"${msg.source}`), 30_000);
  return (JSON.parse(line) as { pid: number }).pid;
}

describe('npm start', () => {
  it('when Redis is not running, then it runs everything on a private Redis and stops it all on SIGTERM', async () => {
    const { start, dataDir, apiPort, redisPort } = await launch();
    const readyLine = await start.waitForLine(/API docs: /);
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

  it('when Ctrl-C reaches its whole process group, then the services stop first and npm start stops Redis after them', async () => {
    const { start, dataDir, redisPort } = await launch({ detached: true });
    start.signalGroup('SIGINT');
    expect(await start.exited()).toEqual({ code: 0, signal: null });
    expect(await pingRedis(redisPort)).toBe(false);
    // Redis got npm start's SIGTERM after the services had exited, not the terminal's SIGINT.
    const redisLog = readFileSync(join(dataDir, 'redis', 'redis.log'), 'utf8');
    expect(redisLog).toMatch(/Received SIGTERM/);
    expect(redisLog).not.toMatch(/Received SIGINT/);
  });

  it('when npm start itself is SIGKILLed, then the API and the worker stop by themselves', async () => {
    const { start, apiPort, redisPort } = await launch({ logLevel: 'info' });
    orphanRedis.push(redisPort); // nobody is left to stop the private Redis
    const apiPid = await loggedPid(start, 'api', /Server listening/);
    const workerPid = await loggedPid(start, 'worker', /worker started/);
    start.signal('SIGKILL');
    await start.exited();
    const deadline = Date.now() + 30_000;
    while ((pidAlive(apiPid) || pidAlive(workerPid)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(pidAlive(apiPid)).toBe(false);
    expect(pidAlive(workerPid)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${apiPort}/healthz`)).rejects.toThrow();
  });
});
