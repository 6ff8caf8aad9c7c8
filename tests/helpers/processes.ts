// Child processes for the fault suite: the API (src/http/server.ts) and workers (src/worker/main.ts)
// started with their own env, waited for until ready, then signalled (SIGKILL, SIGSTOP, SIGCONT,
// SIGTERM) like an orchestrator or a crash would. Call stopAllProcesses() in afterAll: nothing
// started here may outlive the test file.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getFreePort } from './redis-server.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr, interleaved by line). */
  output(): string;
  /** Resolves with the first line (past or future) that matches; rejects after timeoutMs or on exit. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL, to its whole process group when it was started with detached: true. */
  kill(): void;
  /** Signals the whole process group (only for a process started with detached: true). */
  signalGroup(sig: NodeJS.Signals): void;
  /** Resolves when the process has exited (at once if it already has). */
  exited(): Promise<ExitInfo>;
  /** True until the process has exited. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves when it is gone. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

export interface ApiProcess extends ServiceProcess {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly url: string;
}

export interface StartOptions {
  /** Variables for the child; merged over the test profile below and this process's env. */
  env: Record<string, string | undefined>;
  /** How long to wait until ready, ms. */
  readyTimeoutMs?: number;
  /** Echo the child's output to this process's stderr (for debugging a test). */
  echo?: boolean;
  /** Run in a process group of its own, so signalGroup() reaches it the way a terminal's Ctrl-C does. */
  detached?: boolean;
}

export interface WorkerStartOptions extends StartOptions {
  /** A log line that means the worker takes jobs. */
  readyLine?: RegExp;
  /**
   * Start it as an operator would, with `npm run start:worker` (the compiled build; the process
   * is then npm's, started detached so that kill() takes node down with it).
   */
  viaNpm?: boolean;
}

/** Short locks and stall checks so a killed worker's job moves on in seconds. */
export const testProfile: Record<string, string> = {
  LOCK_DURATION_MS: '2000',
  STALLED_INTERVAL_MS: '1000',
  SHUTDOWN_GRACE_MS: '5000',
  LOG_LEVEL: 'info',
};

/** The startup line of src/worker/main.ts ("worker started"); pass readyLine for another. */
export const DEFAULT_WORKER_READY = /worker (started|ready)/i;

const MAX_LINES = 5000;
const started = new Set<ServiceProcess>();

// Last line of defence if a test file forgot stopAllProcesses().
process.once('exit', () => {
  for (const p of started) if (p.alive()) p.kill();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a TypeScript file of this repo under tsx (node --import tsx), as `npm run dev` does. */
export function spawnScript(name: string, script: string, options: StartOptions): ServiceProcess {
  return spawnCommand(name, [process.execPath, '--import', 'tsx', join(repoRoot, script)], options);
}

/** Runs a command (program and arguments) in the repository's folder, e.g. `npm run start:worker`. */
export function spawnCommand(name: string, command: string[], options: StartOptions): ServiceProcess {
  const [program, ...args] = command;
  const child = spawn(program, args, {
    cwd: repoRoot,
    env: { ...process.env, ...testProfile, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${name} (${command.join(' ')})`);
  const pid = child.pid;

  const lines: string[] = [];
  const waiters = new Set<(line: string) => void>();
  let exitInfo: ExitInfo | null = null;
  const exitWaiters: Array<(info: ExitInfo) => void> = [];

  const onChunk = (stream: NodeJS.ReadableStream) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > MAX_LINES) lines.shift();
        if (options.echo) process.stderr.write(`[${name}] ${line}\n`);
        for (const w of waiters) w(line);
      }
    });
  };
  onChunk(child.stdout as NodeJS.ReadableStream);
  onChunk(child.stderr as NodeJS.ReadableStream);

  child.once('exit', (code, signal) => {
    exitInfo = { code, signal };
    for (const w of exitWaiters.splice(0)) w(exitInfo);
  });

  const exited = () =>
    exitInfo !== null ? Promise.resolve(exitInfo) : new Promise<ExitInfo>((r) => exitWaiters.push(r));

  const proc: ServiceProcess = {
    name,
    pid,
    child,
    output: () => lines.join('\n'),
    waitForLine(pattern, timeoutMs = 20_000) {
      const past = lines.find((l) => pattern.test(l));
      if (past !== undefined) return Promise.resolve(past);
      return new Promise((resolveLine, reject) => {
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(onLine);
        };
        const onLine = (line: string) => {
          if (!pattern.test(line)) return;
          cleanup();
          resolveLine(line);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `${name}: no line matching ${pattern} within ${timeoutMs} ms. Output:\n${proc.output()}`,
            ),
          );
        }, timeoutMs);
        waiters.add(onLine);
        void exited().then((info) => {
          if (!waiters.has(onLine)) return;
          cleanup();
          reject(
            new Error(
              `${name} exited (code ${info.code}, signal ${info.signal}) before a line matching ${pattern}. Output:\n${proc.output()}`,
            ),
          );
        });
      });
    },
    signal(sig) {
      if (exitInfo === null) child.kill(sig);
    },
    kill() {
      // A detached process may have children of its own (npm runs node): the whole group goes.
      if (exitInfo !== null) return;
      if (options.detached) process.kill(-pid, 'SIGKILL');
      else child.kill('SIGKILL');
    },
    signalGroup(sig) {
      if (!options.detached) throw new Error(`${name} was not started with detached: true`);
      if (exitInfo === null) process.kill(-pid, sig);
    },
    exited,
    alive: () => exitInfo === null,
    async stop(graceMs = 10_000) {
      if (exitInfo !== null) return exitInfo;
      child.kill('SIGCONT'); // a stopped process cannot act on SIGTERM
      child.kill('SIGTERM');
      const info = await Promise.race([exited(), sleep(graceMs).then(() => null)]);
      if (info !== null) return info;
      child.kill('SIGKILL');
      return exited();
    },
  };
  started.add(proc);
  void exited().then(() => started.delete(proc));
  return proc;
}

/** Polls url until it answers 2xx; rejects when the process exits first or after timeoutMs. */
export async function waitForHttp(url: string, proc: ServiceProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.alive()) {
      const info = await proc.exited();
      throw new Error(
        `${proc.name} exited (code ${info.code}, signal ${info.signal}) before ${url} answered. Output:\n${proc.output()}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms. Output of ${proc.name}:\n${proc.output()}`);
}

/** Starts `src/http/server.ts` on a free port and waits for GET /healthz. */
export async function startApi(options: StartOptions): Promise<ApiProcess> {
  const port = await getFreePort();
  const proc = spawnScript('api', 'src/http/server.ts', {
    ...options,
    env: { HOST: '127.0.0.1', ...options.env, PORT: String(port) },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/healthz`, proc, options.readyTimeoutMs ?? 30_000);
  } catch (err) {
    proc.signal('SIGKILL');
    throw err;
  }
  return Object.assign(proc, { port, url });
}

/** Starts `src/worker/main.ts` (or `npm run start:worker`) and waits for its ready line. */
export async function startWorker(options: WorkerStartOptions, name = 'worker'): Promise<ServiceProcess> {
  const proc = options.viaNpm
    ? spawnCommand(name, ['npm', 'run', '--silent', 'start:worker'], { ...options, detached: true })
    : spawnScript(name, 'src/worker/main.ts', options);
  try {
    await proc.waitForLine(options.readyLine ?? DEFAULT_WORKER_READY, options.readyTimeoutMs ?? 30_000);
  } catch (err) {
    proc.kill();
    throw err;
  }
  return proc;
}

/** SIGKILLs every process started here that still runs, and waits until all have exited. */
export async function stopAllProcesses(): Promise<void> {
  const all = [...started];
  for (const p of all) {
    p.child.kill('SIGCONT');
    p.kill();
  }
  await Promise.all(all.map((p) => p.exited()));
}

/** The processes started here that have not exited yet (a test can assert none are left). */
export function runningProcesses(): ServiceProcess[] {
  return [...started].filter((p) => p.alive());
}
