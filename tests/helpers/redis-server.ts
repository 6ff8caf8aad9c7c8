// A private redis-server for the fault suite: its own free port and temp dir, AOF on. It can be
// stopped cleanly, killed (SIGKILL, as a crash), paused (SIGSTOP) and restarted on the same port
// and dir, so Redis replays its append-only file the way a production restart would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** Folder for the AOF and the log; a new temp dir by default (removed by stop()). */
  dir?: string;
  /** A free loopback port by default. */
  port?: number;
  /** `always` by default: a test that kills Redis right after a write must find that write again. */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** Extra `--name value` arguments, e.g. ['--maxmemory', '50mb']. */
  args?: string[];
  /** How long to wait for PONG (the AOF replay counts), ms. */
  readyTimeoutMs?: number;
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** The pid of the running server, or null while it is down. */
  readonly pid: number | null;
  /** SIGKILL: no shutdown, no final fsync (a crash). Resolves when the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: Redis hangs without closing its sockets (a frozen host). */
  pause(): void;
  resume(): void;
  /** Kills the server if it runs, then starts it again on the same port and dir (AOF replayed). */
  restart(): Promise<void>;
  /** The server's log so far (to explain a failure). */
  log(): string;
  /** Clean shutdown (SIGTERM), then removes the temp dir unless the caller gave the dir. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

// Last line of defence: a test file that forgot stop() must not leave redis-servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A port that was free a moment ago (bind to port 0, read it, release it). */
export function getFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a probe socket'));
        return;
      }
      server.close(() => resolvePort(address.port));
    });
  });
}

/** Sends PING over a raw socket; true only for +PONG (not -LOADING while the AOF replays). */
export function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolvePing) => {
    const socket = createConnection({ port, host });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePing(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'bp-redis-'));
  const port = options.port ?? (await getFreePort());
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const logFile = join(dir, 'redis.log');
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    options.appendfsync ?? 'always',
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    '--logfile',
    logFile,
    '--daemonize',
    'no',
    ...(options.args ?? []),
  ];

  let child: ChildProcess | null = null;

  const launch = async () => {
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    let spawnFailed = false;
    const spawnError = new Promise<never>((_, reject) =>
      proc.once('error', (err) => {
        spawnFailed = true;
        reject(
          new Error(
            `cannot start redis-server (is it installed? apt-get install redis-server): ${err.message}`,
          ),
        );
      }),
    );
    child = proc;
    const deadline = Date.now() + readyTimeoutMs;
    const ready = (async () => {
      while (Date.now() < deadline) {
        if (proc.exitCode !== null || spawnFailed) break;
        if (await pingRedis(port)) return;
        await sleep(50);
      }
      proc.kill('SIGKILL');
      throw new Error(
        `redis-server on port ${port} did not answer PING within ${readyTimeoutMs} ms:\n${readLog()}`,
      );
    })();
    ready.catch(() => undefined); // when the spawn error wins the race, this one is reported instead
    await Promise.race([ready, spawnError]);
  };

  const readLog = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '(no log)';
    }
  };

  const kill = async () => {
    const proc = child;
    if (proc === null) return;
    child = null;
    proc.kill('SIGKILL');
    await waitForExit(proc);
  };

  await launch();

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get pid() {
      return child?.pid ?? null;
    },
    kill,
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async restart() {
      await kill();
      await launch();
    },
    log: readLog,
    async stop() {
      const proc = child;
      child = null;
      if (proc !== null) {
        proc.kill('SIGCONT'); // a paused server cannot act on SIGTERM
        proc.kill('SIGTERM');
        const exited = await Promise.race([
          waitForExit(proc).then(() => true),
          sleep(5000).then(() => false),
        ]);
        if (!exited) {
          proc.kill('SIGKILL');
          await waitForExit(proc);
        }
      }
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
