// What `npm start` does, as a function: make sure Redis answers (starting a private one if it must),
// run the API and one worker as child processes, report the docs URL once /healthz answers, and
// take everything down together: on a signal, or as soon as one child dies on its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { Config } from '../config.js';
import { dataPaths } from '../storage/files.js';
import { isLoopback, parseRedisUrl, redisAnswers, startPrivateRedis, type PrivateRedis } from './redis.js';

/** Stop requests closer together than this are one request delivered twice (see stop()). */
const DUPLICATE_SIGNAL_MS = 1000;
export interface ServiceSpec {
  name: string;
  /** Absolute path of the entry point: compiled .js (run by plain node) or .ts (run under tsx, in development). */
  script: string;
}

export interface SupervisorOptions {
  config: Config;
  services: ServiceSpec[];
  /** Environment of the children; undefined inherits this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Name of the redis-server binary looked up on the PATH. */
  redisBinary?: string;
  /** Where messages for the person at the terminal go. */
  print?: (line: string) => void;
  /** After a stop was asked for: how long children get before SIGKILL. */
  stopGraceMs?: number;
}

export interface Supervisor {
  /** Resolves with the docs URL once /healthz answered (never, if the API does not come up). */
  readonly ready: Promise<string>;
  /** Resolves with the exit code once every child and the private Redis are gone. */
  readonly done: Promise<number>;
  /** True when a private Redis was started. */
  readonly privateRedis: boolean;
  /** Forwards a signal to the children (the first asks them to stop; a second one kills them). */
  stop(signal?: NodeJS.Signals): void;
}

interface RunningChild {
  spec: ServiceSpec;
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The hook that stops a service whose supervisor died, resolved from this file so it works from any
 * working directory; under tsx (development, tests) also tsx's loader, so a .ts child runs too. The
 * compiled build (`npm start`) runs plain node.
 */
function runtimeArgs(): string[] {
  const fromSources = import.meta.url.endsWith('.ts');
  const exitWithParent = ['--import', import.meta.resolve(`./exit-with-parent.${fromSources ? 'ts' : 'js'}`)];
  return fromSources ? ['--import', import.meta.resolve('tsx'), ...exitWithParent] : exitWithParent;
}

/** Host to call for the health check and to print: a wildcard bind is reached on loopback. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Resolves when HOST:PORT can be bound now; rejects with a message for the person at the terminal
 * when something already listens there (another `npm start`, say), so that a second instance fails
 * before it starts anything, instead of finding the first instance's /healthz and calling itself ready.
 */
async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new Error(
            `Port ${port} on ${host} is already in use (is another Backprop running?). Stop it, or set PORT to a free port.`,
          ),
        );
      } else reject(new Error(`Cannot listen on ${host}:${port}: ${err.message}`));
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** Redis at REDIS_URL, or a private redis-server started when nothing answers on loopback (null: one answered). */
async function ensureRedis(
  config: Config,
  redisBinary: string,
  print: (line: string) => void,
): Promise<PrivateRedis | null> {
  const address = parseRedisUrl(config.REDIS_URL);
  if (await redisAnswers(address)) {
    print(`Redis answers at ${address.host}:${address.port}`);
    return null;
  }
  if (!isLoopback(address.host)) {
    throw new Error(
      `Nothing answers at REDIS_URL (${address.host}:${address.port}). Start that Redis, or unset REDIS_URL to use a local one.`,
    );
  }
  const dir = dataPaths(config.DATA_DIR).redis;
  print(
    `Nothing answers at ${address.host}:${address.port}: starting a private redis-server (files in ${dir})`,
  );
  const redis = await startPrivateRedis(
    { address, dir, binary: redisBinary },
    `${address.host}:${address.port}`,
  );
  print(`Private Redis ready (pid ${redis.pid}, append-only file on)`);
  return redis;
}

/** Starts one service as a child in its own process group, with an IPC channel (exit-with-parent.ts). */
function spawnService(spec: ServiceSpec, env: NodeJS.ProcessEnv | undefined, print: (line: string) => void) {
  const child = spawn(process.execPath, [...runtimeArgs(), spec.script], {
    env,
    // The IPC channel only tells the child when this process is gone (see exit-with-parent.ts).
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Own process group: a Ctrl-C reaches the children once, through us, not twice.
    detached: true,
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
    child.once('error', (err) => {
      print(`${spec.name} could not start: ${err.message}`);
      resolveExit({ code: 1, signal: null });
    });
  });
  return { spec, child, exit } satisfies RunningChild;
}

/** Sends a signal to every child still running. */
function signalChildren(children: RunningChild[], signal: NodeJS.Signals): void {
  for (const { child } of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Stopping the children: the first request signals them and starts the kill timer (stopGraceMs);
 * a second one kills them at once. A repeat within DUPLICATE_SIGNAL_MS is the same request (one
 * Ctrl-C under `npm start` arrives twice: from the terminal to the foreground group, and from npm).
 */
function createStopper(children: RunningChild[], stopGraceMs: number, print: (line: string) => void) {
  const state = { stopping: false, forced: false, failed: false };
  let signalsSent = 0;
  let firstStopAt = 0;
  let killTimer: NodeJS.Timeout | undefined;
  const kill = (message: string) => {
    print(message);
    state.forced = true;
    signalChildren(children, 'SIGKILL');
  };
  const stop = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (signalsSent > 0 && Date.now() - firstStopAt < DUPLICATE_SIGNAL_MS) return;
    signalsSent += 1;
    if (signalsSent > 1) return kill('Second stop request: killing the services now');
    firstStopAt = Date.now();
    state.stopping = true;
    print(`Stopping (${signal})…`);
    signalChildren(children, signal);
    killTimer = setTimeout(
      () => kill(`Services still running after ${stopGraceMs} ms: killing them`),
      stopGraceMs,
    );
    killTimer.unref();
  };
  /** Something died on its own: the run failed, and everything else stops. */
  const failed = (what: string) => {
    if (state.stopping) return;
    state.failed = true;
    print(`${what}: stopping the rest`);
    stop('SIGTERM');
  };
  return { state, stop, failed, clearKillTimer: () => killTimer && clearTimeout(killTimer) };
}

/** Resolves with the docs URL once GET /healthz answers 200; never, if stopping comes first. */
async function waitUntilReady(base: string, isStopping: () => boolean, print: (line: string) => void) {
  let waitedMs = 0;
  while (!isStopping()) {
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) {
        const docs = `${base}/docs`;
        print(`Backprop is ready. API docs: ${docs}`);
        return docs;
      }
    } catch {
      // not listening yet
    }
    await sleep(200);
    waitedMs += 200;
    if (waitedMs % 30_000 === 0) print(`Still waiting for ${base}/healthz…`);
  }
  return new Promise<string>(() => undefined); // stopped before it was ready: never resolves
}

export async function startSupervisor(options: SupervisorOptions): Promise<Supervisor> {
  const { config, services } = options;
  const print = options.print ?? ((line: string) => console.error(`[start] ${line}`));
  const stopGraceMs = options.stopGraceMs ?? config.SHUTDOWN_GRACE_MS + 5000;

  // 0. The API's port: taken means another instance (or program) is there; say so before starting anything.
  if (services.some((s) => s.name === 'api')) await assertPortFree(config.HOST, config.PORT);
  // 1. Redis; 2. the services, stopped together; 3. ready once /healthz answers.
  const redis = await ensureRedis(config, options.redisBinary ?? 'redis-server', print);
  const children = services.map((spec) => spawnService(spec, options.env, print));
  const stopper = createStopper(children, stopGraceMs, print);
  for (const { spec, exit } of children) {
    void exit.then(({ code, signal }) =>
      stopper.failed(`${spec.name} exited unexpectedly (code ${code}, signal ${signal})`),
    );
  }
  void redis?.exited.then(({ code, signal }) =>
    stopper.failed(`The private Redis exited unexpectedly (code ${code}, signal ${signal})`),
  );
  const base = `http://${reachableHost(config.HOST)}:${config.PORT}`;
  const ready = waitUntilReady(base, () => stopper.state.stopping, print);

  const done = (async () => {
    const exits = await Promise.all(children.map((c) => c.exit));
    stopper.clearKillTimer();
    if (redis !== null) {
      print('Stopping the private Redis');
      await redis.stop();
    }
    const unclean = exits.some((e) => e.code !== 0 && e.signal === null);
    return stopper.state.failed || stopper.state.forced || unclean ? 1 : 0;
  })();

  return { ready, done, privateRedis: redis !== null, stop: stopper.stop };
}
