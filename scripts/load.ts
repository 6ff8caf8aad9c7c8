// `npm run load`: submits many small training jobs and checks that each ends succeeded exactly once
// (one model per job, no duplicate, none lost, every epoch in the history once), then prints the
// jobs per second from the first submit to the last finish, the submit→start and submit→finish latencies (median, p99) from the jobs' own timestamps.
//
//   npm run load                                   own stack: private Redis + API + 2 workers (temp dirs)
//   npm run load -- --url http://host:3000 --key K   against a running service (--key when API_KEYS is set)
//   options: --jobs 200  --epochs 3  --workers 2  --parallel 20  --timeout 900 (seconds)
//            --verbose (own stack: echo the API's and the workers' logs)
//
// Not a test: it runs for minutes. Its own stack lifts the rate limit and the per-tenant job cap so
// the 200 jobs queue at once; against a running service it retries on 429 with an Idempotency-Key.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { repoRoot, startApi, startWorker, stopAllProcesses } from '../tests/helpers/processes.js';
import { startRedisServer, type RedisServer } from '../tests/helpers/redis-server.js';

const { values: flags } = parseArgs({
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    jobs: { type: 'string', default: '200' },
    epochs: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    parallel: { type: 'string', default: '20' },
    timeout: { type: 'string', default: '900' },
    verbose: { type: 'boolean', default: false },
  },
});

const jobCount = Number(flags.jobs);
const epochs = Number(flags.epochs);
const workerCount = Number(flags.workers);
const parallel = Number(flags.parallel);
const timeoutMs = Number(flags.timeout) * 1000;
for (const [name, v] of Object.entries({
  jobs: jobCount,
  epochs,
  workers: workerCount,
  parallel,
  timeout: timeoutMs,
})) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
}

interface Job {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  history: Array<{ epoch: number }>;
  modelId: string | null;
  error: { code: string; message: string } | null;
}
interface Model {
  id: string;
  jobId: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(`[load] ${line}`);

interface Stack {
  url: string;
  /** Commands the stack's Redis has processed so far (own stack only). */
  redisCommands?: () => Promise<number>;
  stop: () => Promise<void>;
}

async function ownStack(): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bp-load-'));
  const redis: RedisServer = await startRedisServer({ appendfsync: 'everysec' });
  const env = {
    REDIS_URL: redis.url,
    REDIS_PREFIX: `bp-load-${process.pid}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    API_KEYS: '',
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_ACTIVE_JOBS_PER_TENANT: String(jobCount * 2),
    // Production lock timings: the point is throughput, not fast crash recovery.
    LOCK_DURATION_MS: '30000',
    STALLED_INTERVAL_MS: '15000',
  };
  log(`own stack: Redis ${redis.url}, DATA_DIR ${dataDir}, ${workerCount} workers`);
  const api = await startApi({ env, echo: flags.verbose });
  await Promise.all(
    Array.from({ length: workerCount }, (_, i) =>
      startWorker({ env: { ...env, LOG_LEVEL: 'info' }, echo: flags.verbose }, `worker-${i + 1}`),
    ),
  );
  const stats = new Redis(redis.url, { lazyConnect: true });
  return {
    url: api.url,
    async redisCommands() {
      const info = await stats.info('stats');
      return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
    },
    stop: async () => {
      stats.disconnect();
      await stopAllProcesses();
      await redis.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function client(base: string, key: string | undefined) {
  const headers = (extra: Record<string, string> = {}) => ({
    ...(key ? { authorization: `Bearer ${key}` } : {}),
    ...extra,
  });
  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: headers(body === undefined ? extra : { 'content-type': 'application/json', ...extra }),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if ((res.status === 429 || res.status === 503) && attempt < 200) {
        const retryAfter = Number(res.headers.get('retry-after') ?? '1');
        await sleep(Math.min(5, Number.isFinite(retryAfter) ? retryAfter : 1) * 1000);
        continue;
      }
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    }
  }
  async function uploadCsv(name: string, csv: string): Promise<{ id: string }> {
    const res = await fetch(`${base}/v1/datasets?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: headers({ 'content-type': 'text/csv' }),
      body: csv,
    });
    if (res.status !== 201) throw new Error(`upload → ${res.status}: ${await res.text()}`);
    return (await res.json()) as { id: string };
  }
  async function listAll<T>(path: string): Promise<T[]> {
    const all: T[] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page: { data: T[]; nextCursor: string | null } = await call(
        'GET',
        `${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      all.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  }
  return { call, uploadCsv, listAll };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  // Nearest-rank definition: the smallest value with at least q of the sample at or below it.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

async function main(): Promise<number> {
  const stack: Stack = flags.url
    ? { url: flags.url.replace(/\/$/, ''), stop: async () => undefined }
    : await ownStack();
  try {
    const api = client(stack.url, flags.key);
    const dataset = await api.uploadCsv(
      'iris-load',
      readFileSync(join(repoRoot, 'tests/fixtures/iris.csv'), 'utf8'),
    );
    log(
      `dataset ${dataset.id} uploaded; submitting ${jobCount} jobs of ${epochs} epochs (${parallel} at a time)`,
    );

    const spec = {
      datasetId: dataset.id,
      target: 'species',
      model: { layers: [{ units: 8, activation: 'relu' }] },
      training: { epochs, batchSize: 32, earlyStopping: false },
    };
    const submitted: Job[] = [];
    const commandsBefore = await stack.redisCommands?.();
    const loadBefore = loadavg()[0];
    const submitStarted = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < jobCount) {
          next += 1;
          const job = await api.call<Job>('POST', '/v1/training-jobs', spec, {
            'idempotency-key': randomUUID(),
          });
          submitted.push(job);
        }
      }),
    );
    log(`${submitted.length} jobs accepted in ${((Date.now() - submitStarted) / 1000).toFixed(1)} s`);

    const ids = new Set(submitted.map((j) => j.id));
    if (ids.size !== jobCount) throw new Error(`expected ${jobCount} distinct job ids, got ${ids.size}`);

    const deadline = Date.now() + timeoutMs;
    let finished: Job[] = [];
    for (;;) {
      const jobs = (await api.listAll<Job>('/v1/training-jobs')).filter((j) => ids.has(j.id));
      finished = jobs.filter(
        (j) => j.status === 'succeeded' || j.status === 'failed' || j.status === 'cancelled',
      );
      const running = jobs.filter((j) => j.status === 'running').length;
      log(`${finished.length}/${jobCount} finished, ${running} running`);
      if (finished.length === jobCount) break;
      if (Date.now() > deadline)
        throw new Error(`timed out with ${jobCount - finished.length} jobs unfinished`);
      await sleep(2000);
    }

    // Exactly once: every job succeeded, with one model of its own, and each epoch once in its history.
    const problems: string[] = [];
    for (const job of finished) {
      if (job.status !== 'succeeded')
        problems.push(`${job.id} ended ${job.status} ${JSON.stringify(job.error)}`);
      const epochsSeen = job.history.map((h) => h.epoch).join(',');
      const expected = Array.from({ length: epochs }, (_, i) => i + 1).join(',');
      if (epochsSeen !== expected)
        problems.push(`${job.id} history epochs [${epochsSeen}], expected [${expected}]`);
    }
    const models = (await api.listAll<Model>('/v1/models')).filter((m) => ids.has(m.jobId));
    const modelsByJob = new Map<string, string[]>();
    for (const m of models) modelsByJob.set(m.jobId, [...(modelsByJob.get(m.jobId) ?? []), m.id]);
    for (const job of finished) {
      const mine = modelsByJob.get(job.id) ?? [];
      if (mine.length !== 1) problems.push(`${job.id} has ${mine.length} models (${mine.join(', ')})`);
      else if (job.modelId !== mine[0])
        problems.push(`${job.id} modelId ${job.modelId} but its model is ${mine[0]}`);
    }

    const ms = (a: string | null, b: string | null) => (a && b ? Date.parse(b) - Date.parse(a) : NaN);
    const toStart = finished
      .map((j) => ms(j.createdAt, j.startedAt))
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    const toFinish = finished
      .map((j) => ms(j.createdAt, j.finishedAt))
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    // From the jobs' own timestamps (the first submit to the last finish), not from the polls below,
    // which see the end up to one poll interval late.
    const firstCreated = Math.min(...finished.map((j) => Date.parse(j.createdAt)));
    const lastFinished = Math.max(...finished.map((j) => Date.parse(j.finishedAt ?? j.createdAt)));
    const wall = (lastFinished - firstCreated) / 1000;
    const commandsAfter = await stack.redisCommands?.();

    console.log('');
    console.log(
      `jobs: ${jobCount}, epochs each: ${epochs}, first submit to last finish: ${wall.toFixed(2)} s, ${(jobCount / wall).toFixed(2)} jobs/s`,
    );
    console.log(
      `machine load average (1 min): ${loadBefore.toFixed(1)} at submit, ${loadavg()[0].toFixed(1)} at the end`,
    );
    console.log(`submit→start  median ${quantile(toStart, 0.5)} ms, p99 ${quantile(toStart, 0.99)} ms`);
    console.log(`submit→finish median ${quantile(toFinish, 0.5)} ms, p99 ${quantile(toFinish, 0.99)} ms`);
    console.log(`models: ${models.length} for ${jobCount} jobs`);
    if (commandsBefore !== undefined && commandsAfter !== undefined)
      console.log(`redis: ${((commandsAfter - commandsBefore) / jobCount).toFixed(1)} commands per job`);
    if (problems.length > 0) {
      console.log(`FAILED: ${problems.length} problems`);
      for (const p of problems.slice(0, 20)) console.log(`  ${p}`);
      return 1;
    }
    console.log(`OK: every job succeeded exactly once (one model each, no duplicates, none lost)`);
    return 0;
  } finally {
    await stack.stop();
  }
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(`[load] ${err instanceof Error ? err.message : String(err)}`);
    await stopAllProcesses();
    process.exit(1);
  },
);
