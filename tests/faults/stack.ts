// A whole service for one fault test file: a private redis-server (AOF on), a temp DATA_DIR, the API
// as a child process and any number of worker processes, with a small HTTP client that speaks the
// public API. Nothing here touches the shared Redis.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  repoRoot,
  startApi,
  startWorker,
  stopAllProcesses,
  type ApiProcess,
  type ServiceProcess,
} from '../helpers/processes.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

export interface JobView {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress: { epoch: number; epochs: number };
  history: Array<{ epoch: number; loss: number }>;
  modelId: string | null;
  error: { code: string; message: string } | null;
  attempts: Array<{
    attempt: number;
    endedAt: string | null;
    outcome: string | null;
    resumedFromEpoch: number;
  }>;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  ms: number;
}

export interface Stack {
  redis: RedisServer;
  api: ApiProcess;
  dataDir: string;
  env: Record<string, string>;
  /** A direct client to the private Redis (CONFIG SET and the like). */
  admin(): Redis;
  /** A worker process; env entries override the stack's (another DATA_DIR, say). */
  startWorker(
    name?: string,
    options?: { viaNpm?: boolean; env?: Record<string, string> },
  ): Promise<ServiceProcess>;
  /** Kills every worker started so far (continuing a frozen one first): each test's own workers end with it. */
  stopWorkers(): Promise<void>;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  uploadFixture(name: string): Promise<string>;
  submit(spec: Record<string, unknown>): Promise<JobView>;
  /**
   * Submits as a client that follows a 503's Retry-After (up to 12 tries): on a loaded machine a
   * freshly started API's first enqueues can outlast their 900 ms bound.
   */
  submitRetrying(spec: Record<string, unknown>): Promise<JobView>;
  job(id: string): Promise<JobView>;
  waitFor(id: string, until: (job: JobView) => boolean, timeoutMs?: number): Promise<JobView>;
  /** The models the API lists for a job. */
  modelsOf(jobId: string): Promise<Array<{ id: string; jobId: string }>>;
  /** Model artifact files under DATA_DIR/models. */
  modelFiles(): string[];
  /** The network parameters of a model artifact, as stored (for byte-for-byte comparison). */
  networkParams(modelId: string): unknown;
  close(): Promise<void>;
}

/** The line a worker logs when it starts (or resumes) an attempt of a job. */
export const attemptStarted = (jobId: string, attempt: number) =>
  new RegExp(`"jobId":"${jobId}".*"attempt":${attempt}\\b.*training attempt started`);

/** Which of these workers runs the given attempt of a job (by its log line), and the others. */
export async function runnerOf(
  workers: ServiceProcess[],
  jobId: string,
  attempt: number,
  timeoutMs = 20_000,
): Promise<{ runner: ServiceProcess; others: ServiceProcess[] }> {
  const deadline = Date.now() + timeoutMs;
  const line = attemptStarted(jobId, attempt);
  while (Date.now() < deadline) {
    const runner = workers.find((w) => line.test(w.output()));
    if (runner) return { runner, others: workers.filter((w) => w !== runner) };
    await sleep(50);
  }
  throw new Error(`no worker logged attempt ${attempt} of ${jobId} within ${timeoutMs} ms`);
}

export const terminal = (j: JobView) => ['succeeded', 'failed', 'cancelled'].includes(j.status);
export const epochs1toN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startStack(
  extraEnv: Record<string, string> = {},
  /** Options of the private Redis (its fsync policy, say: `always` by default). */
  redisOptions: Parameters<typeof startRedisServer>[0] = {},
): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bp-faults-'));
  const redis = await startRedisServer(redisOptions);
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    REDIS_PREFIX: `faults-${randomUUID().slice(0, 8)}`,
    DATA_DIR: dataDir,
    API_KEYS: '',
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '100000',
    LOCK_DURATION_MS: '2000',
    STALLED_INTERVAL_MS: '1000',
    ...extraEnv,
  };
  const api = await startApi({ env });
  const admins: Redis[] = [];
  let workerCount = 0;
  const workers: ServiceProcess[] = [];

  const request = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const started = Date.now();
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (an event stream, say)
    }
    return { status: res.status, headers: res.headers, body: parsed, ms: Date.now() - started };
  };

  const expectStatus = (reply: Reply, status: number, what: string) => {
    if (reply.status !== status) {
      throw new Error(`${what}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    return reply.body;
  };

  const stack: Stack = {
    redis,
    api,
    dataDir,
    env,
    admin() {
      const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      c.on('error', () => undefined);
      admins.push(c);
      return c;
    },
    async startWorker(name, options) {
      workerCount += 1;
      const w = await startWorker(
        { ...options, env: { ...env, ...options?.env } },
        name ?? `worker-${workerCount}`,
      );
      workers.push(w);
      return w;
    },
    async stopWorkers() {
      for (const w of workers.splice(0)) {
        w.signal('SIGCONT');
        w.kill();
        await w.exited();
      }
    },
    request,
    async uploadFixture(name) {
      const csv = readFileSync(join(repoRoot, 'tests', 'fixtures', `${name}.csv`), 'utf8');
      const reply = await request('POST', `/v1/datasets?name=${name}`, csv, { 'content-type': 'text/csv' });
      return expectStatus(reply, 201, `upload ${name}`).id as string;
    },
    async submit(spec) {
      return expectStatus(await request('POST', '/v1/training-jobs', spec), 202, 'submit') as JobView;
    },
    async submitRetrying(spec) {
      for (let attempt = 1; ; attempt++) {
        const reply = await request('POST', '/v1/training-jobs', spec);
        if (reply.status !== 503 || attempt === 12) return expectStatus(reply, 202, 'submit') as JobView;
        await sleep(Number(reply.headers.get('retry-after') ?? '1') * 1000);
      }
    },
    async job(id) {
      return expectStatus(await request('GET', `/v1/training-jobs/${id}`), 200, `get ${id}`) as JobView;
    },
    async waitFor(id, until, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: JobView | null = null;
      while (Date.now() < deadline) {
        try {
          last = await stack.job(id);
          if (until(last)) return last;
        } catch {
          // Redis may be down on purpose: keep polling
        }
        await sleep(100);
      }
      throw new Error(
        `job ${id} did not reach the awaited state within ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
      );
    },
    async modelsOf(jobId) {
      const page = expectStatus(await request('GET', '/v1/models?limit=100'), 200, 'list models') as {
        data: Array<{ id: string; jobId: string }>;
      };
      return page.data.filter((m) => m.jobId === jobId);
    },
    modelFiles() {
      const dir = join(dataDir, 'models');
      return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
    },
    networkParams(modelId) {
      const artifact = JSON.parse(readFileSync(join(dataDir, 'models', `${modelId}.json`), 'utf8')) as {
        network: { params: unknown };
      };
      return artifact.network.params;
    },
    async close() {
      for (const c of admins) c.disconnect();
      await stopAllProcesses();
      await redis.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** A spec on friedman1 that trains long enough to be interrupted, deterministic for a fixed seed. */
export function longRegression(datasetId: string, epochs: number): Record<string, unknown> {
  return {
    datasetId,
    target: 'y',
    model: {
      layers: [
        { units: 32, activation: 'relu' },
        { units: 32, activation: 'relu' },
      ],
    },
    training: { epochs, batchSize: 16, earlyStopping: false, seed: 7 },
  };
}
