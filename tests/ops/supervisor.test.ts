// `npm start`'s supervisor with stand-in services: the private Redis, the docs URL once /healthz
// answers, stopping everything together, and the message when no Redis can be had.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startSupervisor, type ServiceSpec, type Supervisor } from '../../src/cli/supervisor.js';
import { loadConfig } from '../../src/config.js';
import { repoRoot } from '../helpers/processes.js';
import { getFreePort, pingRedis, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const fixture = (name: string) => join(repoRoot, 'tests/ops/fixtures', name);
const fakeApi: ServiceSpec = { name: 'api', script: fixture('fake-api.ts') };
const fakeWorker: ServiceSpec = { name: 'worker', script: fixture('ticker.ts') };

const dirs: string[] = [];
const supervisors: Supervisor[] = [];
const servers: RedisServer[] = [];

afterAll(async () => {
  for (const s of supervisors) s.stop('SIGKILL');
  await Promise.all(supervisors.map((s) => s.done));
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function setup(redisPort?: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bp-start-'));
  dirs.push(dataDir);
  const apiPort = await getFreePort();
  const port = redisPort ?? (await getFreePort());
  const env = { ...process.env, PORT: String(apiPort), HOST: '127.0.0.1' };
  const config = loadConfig({
    PORT: String(apiPort),
    REDIS_URL: `redis://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
  });
  const lines: string[] = [];
  return { dataDir, apiPort, redisPort: port, env, config, lines, print: (l: string) => lines.push(l) };
}

describe('npm start supervisor', () => {
  it('when no Redis answers, then it starts a private one under DATA_DIR, prints the docs URL, and stops it all on SIGTERM', async () => {
    const s = await setup();
    const sup = await startSupervisor({
      config: s.config,
      services: [fakeApi, fakeWorker],
      env: s.env,
      print: s.print,
    });
    supervisors.push(sup);
    expect(sup.privateRedis).toBe(true);
    expect(existsSync(join(s.dataDir, 'redis'))).toBe(true);

    const client = new Redis(`redis://127.0.0.1:${s.redisPort}`, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await client.config('GET', 'dir')).toEqual(['dir', join(s.dataDir, 'redis')]);
    client.disconnect();

    expect(await sup.ready).toBe(`http://127.0.0.1:${s.apiPort}/docs`);
    expect(s.lines.some((l) => l.includes(`http://127.0.0.1:${s.apiPort}/docs`))).toBe(true);

    sup.stop('SIGTERM');
    expect(await sup.done).toBe(0);
    expect(await pingRedis(s.redisPort)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${s.apiPort}/healthz`)).rejects.toThrow();
  });

  it('when Redis already answers, then it uses that one and leaves it running', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const s = await setup(server.port);
    const sup = await startSupervisor({
      config: s.config,
      services: [fakeApi, fakeWorker],
      env: s.env,
      print: s.print,
    });
    supervisors.push(sup);
    expect(sup.privateRedis).toBe(false);
    expect(existsSync(join(s.dataDir, 'redis'))).toBe(false);
    await sup.ready;
    sup.stop('SIGINT');
    expect(await sup.done).toBe(0);
    expect(await pingRedis(server.port)).toBe(true);
  });

  it('when one Ctrl-C arrives twice (terminal and npm), then the services still stop gracefully, exit code 0', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const s = await setup(server.port);
    const sup = await startSupervisor({
      config: s.config,
      services: [fakeApi, fakeWorker],
      env: s.env,
      print: s.print,
    });
    supervisors.push(sup);
    await sup.ready;
    sup.stop('SIGINT');
    sup.stop('SIGINT');
    expect(await sup.done).toBe(0);
    expect(s.lines.some((l) => l.includes('Second stop request'))).toBe(false);
  });

  it('when a child dies on its own, then the other is stopped, the private Redis too, and the exit code is 1', async () => {
    const s = await setup();
    const sup = await startSupervisor({
      config: s.config,
      services: [fakeApi, { name: 'worker', script: fixture('crash-soon.ts') }],
      env: s.env,
      print: s.print,
    });
    supervisors.push(sup);
    expect(await sup.done).toBe(1);
    expect(s.lines.some((l) => /worker exited unexpectedly \(code 3/.test(l))).toBe(true);
    expect(await pingRedis(s.redisPort)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${s.apiPort}/healthz`)).rejects.toThrow();
  });

  it('when the API port is already taken (a second npm start), then it fails before starting anything, naming the port', async () => {
    const s = await setup();
    const occupant = createServer();
    await new Promise<void>((resolve) => occupant.listen({ host: '127.0.0.1', port: s.apiPort }, resolve));
    try {
      await expect(
        startSupervisor({ config: s.config, services: [fakeApi, fakeWorker], env: s.env, print: s.print }),
      ).rejects.toThrow(`Port ${s.apiPort} on 127.0.0.1 is already in use`);
      // Nothing was started: no private Redis answers on the port it would have used.
      expect(await pingRedis(s.redisPort)).toBe(false);
      expect(existsSync(join(s.dataDir, 'redis'))).toBe(false);
    } finally {
      await new Promise((resolve) => occupant.close(resolve));
    }
  });

  it('when no Redis answers and no redis-server is installed, then it fails at once saying how to get Redis', async () => {
    const s = await setup();
    const started = Date.now();
    await expect(
      startSupervisor({
        config: s.config,
        services: [fakeApi, fakeWorker],
        env: s.env,
        print: s.print,
        redisBinary: 'redis-server-not-installed-here',
      }),
    ).rejects.toThrow(/apt-get install redis-server[\s\S]*brew install redis[\s\S]*docker run/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('when REDIS_URL names another host that does not answer, then it refuses to start a local Redis', async () => {
    const s = await setup();
    // .invalid never resolves (RFC 2606), so the probe fails without sending anything anywhere.
    const config = loadConfig({ REDIS_URL: 'redis://redis.invalid:6379', DATA_DIR: s.dataDir });
    await expect(
      startSupervisor({ config, services: [fakeApi], env: s.env, print: s.print }),
    ).rejects.toThrow(/Nothing answers at REDIS_URL/);
    expect(existsSync(join(s.dataDir, 'redis'))).toBe(false);
  });
});
