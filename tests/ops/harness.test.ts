// The fault-suite harness itself: a private Redis that survives SIGKILL through its AOF, and child
// processes that can be stopped, frozen, resumed and killed without leaving anything behind.
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runningProcesses, spawnScript, stopAllProcesses } from '../helpers/processes.js';
import { pingRedis, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const servers: RedisServer[] = [];
const clients: Redis[] = [];

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
  await stopAllProcesses();
});

function client(server: RedisServer): Redis {
  const c = new Redis(server.url, { maxRetriesPerRequest: 1, lazyConnect: false });
  c.on('error', () => undefined); // expected while the server is killed
  clients.push(c);
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('private redis-server', () => {
  it('when Redis is SIGKILLed and restarted on the same dir, then a key written before the kill is back', async () => {
    const server = await startRedisServer();
    servers.push(server);
    expect(await pingRedis(server.port)).toBe(true);
    const c = client(server);
    await c.set('harness:key', 'written-before-the-kill');
    expect(await c.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await c.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);

    const pidBefore = server.pid as number;
    await server.kill();
    expect(server.pid).toBeNull();
    expect(pidAlive(pidBefore)).toBe(false);
    expect(await pingRedis(server.port)).toBe(false);

    await server.restart();
    expect(server.pid).not.toBe(pidBefore);
    const fresh = client(server);
    expect(await fresh.get('harness:key')).toBe('written-before-the-kill');
  });

  it('when Redis is paused, then it does not answer until resumed', async () => {
    const server = await startRedisServer();
    servers.push(server);
    server.pause();
    expect(await pingRedis(server.port, '127.0.0.1', 300)).toBe(false);
    server.resume();
    expect(await pingRedis(server.port, '127.0.0.1', 2000)).toBe(true);
  });

  it('when stopped, then the process is gone and its temp dir removed', async () => {
    const server = await startRedisServer();
    const pid = server.pid as number;
    expect(existsSync(server.dir)).toBe(true);
    await server.stop();
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
    expect(await pingRedis(server.port)).toBe(false);
  });
});

describe('child processes', () => {
  it('when started with an env, then the child sees it and is ready', async () => {
    const p = spawnScript('ticker', 'tests/ops/fixtures/ticker.ts', {
      env: { FIXTURE_VALUE: 'from-the-test' },
    });
    const line = await p.waitForLine(/ready/);
    expect(line).toContain('FIXTURE_VALUE=from-the-test');
    await p.stop();
  });

  it('when SIGSTOPped, then it prints nothing until SIGCONT', async () => {
    const p = spawnScript('ticker', 'tests/ops/fixtures/ticker.ts', { env: {} });
    await p.waitForLine(/tick 2\b/);
    p.signal('SIGSTOP');
    await sleep(150); // lets ticks already in the pipe arrive
    const frozen = p.output();
    await sleep(400);
    expect(p.output()).toBe(frozen);
    p.signal('SIGCONT');
    const lastTick = Number(/tick (\d+)\s*$/.exec(frozen)?.[1]);
    await p.waitForLine(new RegExp(`tick ${lastTick + 2}\\b`), 5000);
    await p.stop();
  });

  it('when sent SIGTERM, then a graceful child exits 0; when sent SIGKILL, then it dies by the signal', async () => {
    const graceful = spawnScript('ticker', 'tests/ops/fixtures/ticker.ts', { env: {} });
    await graceful.waitForLine(/ready/);
    graceful.signal('SIGTERM');
    expect(await graceful.exited()).toEqual({ code: 0, signal: null });
    expect(graceful.output()).toContain('got SIGTERM');

    const crashed = spawnScript('ticker', 'tests/ops/fixtures/ticker.ts', { env: {} });
    await crashed.waitForLine(/ready/);
    crashed.signal('SIGKILL');
    expect(await crashed.exited()).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('when a child exits before its ready line, then the wait fails with its output', async () => {
    const p = spawnScript('ticker', 'tests/ops/fixtures/ticker.ts', { env: {} });
    const waiting = p.waitForLine(/a line that never comes/, 10_000);
    await p.waitForLine(/ready/);
    p.signal('SIGKILL');
    await expect(waiting).rejects.toThrow(/exited .*SIGKILL/);
  });

  it('when stopAllProcesses runs, then no child is left, frozen ones included', async () => {
    const a = spawnScript('ticker-a', 'tests/ops/fixtures/ticker.ts', { env: {} });
    const b = spawnScript('ticker-b', 'tests/ops/fixtures/ticker.ts', { env: {} });
    await Promise.all([a.waitForLine(/ready/), b.waitForLine(/ready/)]);
    b.signal('SIGSTOP');
    expect(runningProcesses().length).toBeGreaterThanOrEqual(2);
    await stopAllProcesses();
    expect(runningProcesses()).toEqual([]);
    expect(pidAlive(a.pid)).toBe(false);
    expect(pidAlive(b.pid)).toBe(false);
  });
});
