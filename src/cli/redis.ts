// Redis for `npm start`: is one answering at REDIS_URL, and if not, a private redis-server with its
// files under DATA_DIR/redis (AOF on, noeviction: the settings BullMQ needs, as BullMQ's production guide asks).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';

export interface RedisAddress {
  host: string;
  port: number;
  password?: string;
  tls: boolean;
}

/** Host, port and password of a redis:// or rediss:// URL (defaults as ioredis: 127.0.0.1:6379). */
export function parseRedisUrl(url: string): RedisAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`REDIS_URL is not a URL: expected redis://host:port, got "${url}"`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must start with redis:// or rediss://, got "${parsed.protocol}//"`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  return { host, port, password, tls: parsed.protocol === 'rediss:' };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * True when something speaking RESP answers PING (+PONG, or an error such as -NOAUTH or -LOADING:
 * a Redis is there, the services will wait for it). Plain TCP, so it needs no client library.
 */
export function redisAnswers(address: RedisAddress, timeoutMs = 1000): Promise<boolean> {
  if (address.tls) return tcpOpen(address, timeoutMs);
  return new Promise((resolveAnswer) => {
    const socket = createConnection({ host: address.host, port: address.port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolveAnswer(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+') || reply.startsWith('-'));
    });
  });
}

/** Only whether the port accepts a connection (for rediss://, where a PING needs TLS). */
function tcpOpen(address: RedisAddress, timeoutMs: number): Promise<boolean> {
  return new Promise((resolveOpen) => {
    const socket = createConnection({ host: address.host, port: address.port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolveOpen(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

export class RedisNotInstalledError extends Error {
  constructor(url: string, binary: string) {
    super(
      [
        `Nothing answers at ${url}, and there is no ${binary} to start a private Redis.`,
        'Backprop keeps its queue and metadata in Redis (6.2 or newer). Any one of these will do:',
        '  - install it, then run npm start again (it starts and stops a private Redis itself):',
        '      Debian/Ubuntu: sudo apt-get install redis-server      macOS: brew install redis',
        '  - run one in Docker:',
        '      docker run -d --name backprop-redis -p 6379:6379 redis:7 redis-server --appendonly yes --maxmemory-policy noeviction',
        '  - or point REDIS_URL at a Redis you already run, e.g. REDIS_URL=redis://host:6379 npm start',
      ].join('\n'),
    );
    this.name = 'RedisNotInstalledError';
  }
}

export interface PrivateRedis {
  readonly pid: number;
  readonly dir: string;
  /** Resolves when the server process exits, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Clean shutdown (SIGTERM: Redis flushes its AOF), SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface PrivateRedisOptions {
  address: RedisAddress;
  dir: string;
  /** The binary to run; found on the PATH by spawn. */
  binary?: string;
  readyTimeoutMs?: number;
}

/** A value for redis.conf: double-quoted, with backslashes and quotes escaped. */
const confValue = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * Starts redis-server with its config on stdin (`redis-server -`), so a password never shows in
 * the process list, and waits until it answers. Throws RedisNotInstalledError when the binary is missing.
 */
export async function startPrivateRedis(options: PrivateRedisOptions, url: string): Promise<PrivateRedis> {
  const { address, dir } = options;
  const binary = options.binary ?? 'redis-server';
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  await mkdir(dir, { recursive: true });
  const logFile = join(dir, 'redis.log');
  const conf = [
    `port ${address.port}`,
    `bind ${address.host === 'localhost' ? '127.0.0.1' : address.host}`,
    `dir ${confValue(dir)}`,
    `logfile ${confValue(logFile)}`,
    'daemonize no',
    'appendonly yes',
    'appendfsync everysec',
    'maxmemory-policy noeviction',
    'save ""',
    ...(address.password ? [`requirepass ${confValue(address.password)}`] : []),
  ];

  const child: ChildProcess = spawn(binary, ['-'], {
    stdio: ['pipe', 'ignore', 'pipe'],
    // Own process group: a Ctrl-C must not stop Redis before the services have handed their jobs back.
    detached: true,
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderr += s;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  const spawnFailed = new Promise<NodeJS.ErrnoException>((resolveFail) => child.once('error', resolveFail));
  child.stdin?.on('error', () => undefined); // EPIPE when the binary is missing: reported below
  child.stdin?.end(`${conf.join('\n')}\n`);

  const readLog = async () => {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    return (log + stderr).trim().split('\n').slice(-15).join('\n');
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const outcome = await Promise.race([
      spawnFailed.then((err) => ({ kind: 'spawnError' as const, err })),
      exited.then((info) => ({ kind: 'exited' as const, info })),
      redisAnswers(address, 500).then((ok) => ({ kind: 'ping' as const, ok })),
    ]);
    if (outcome.kind === 'spawnError') {
      if (outcome.err.code === 'ENOENT') throw new RedisNotInstalledError(url, binary);
      throw new Error(`could not start ${binary}: ${outcome.err.message}`);
    }
    if (outcome.kind === 'exited') {
      throw new Error(
        `${binary} exited at start (code ${outcome.info.code}, signal ${outcome.info.signal}):\n${await readLog()}`,
      );
    }
    if (outcome.ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `${binary} did not answer on port ${address.port} within ${readyTimeoutMs} ms:\n${await readLog()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    pid: child.pid as number,
    dir,
    exited,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
