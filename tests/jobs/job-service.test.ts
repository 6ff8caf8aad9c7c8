import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDatasetService, datasetUsers } from '../../src/domain/datasets.js';
import { createJobService } from '../../src/domain/jobs.js';
import { TrainingSpecInputSchema } from '../../src/domain/schemas.js';
import type { JobEvent, JobService } from '../../src/domain/services.js';
import { createTrainingQueue } from '../../src/queue/training-queue.js';
import { createCsvDescriber } from '../../src/storage/csv-describer.js';
import { createDatasetStore } from '../../src/storage/dataset-store.js';
import { createLocalFileStore } from '../../src/storage/local-file-store.js';
import { createRedisJobEventBus, createRedisJobStore } from '../../src/storage/job-store.js';
import { createRedis, redisKeys, type Redis } from '../../src/storage/redis.js';
import { fixture } from '../worker/harness.js';

const config = loadConfig({
  REDIS_PREFIX: `test-jobs-${randomUUID()}`,
  MAX_ACTIVE_JOBS_PER_TENANT: '2',
  LOG_LEVEL: 'silent',
});
let redis: Redis;
let dataDir: string;
let irisId: string;
let jobs: JobService;
let queue: ReturnType<typeof createTrainingQueue>;
const closers: (() => Promise<unknown>)[] = [];

const spec = (extra: object = {}) =>
  TrainingSpecInputSchema.parse({ datasetId: irisId, target: 'species', ...extra });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bp-jobs-'));
  redis = createRedis(config.REDIS_URL, 'api');
  const store = createDatasetStore({
    redis,
    prefix: config.REDIS_PREFIX,
    dataDir,
    files: createLocalFileStore(dataDir),
  });
  const describer = createCsvDescriber();
  const datasets = createDatasetService({
    store,
    describer,
    limits: { MAX_UPLOAD_BYTES: 1e7, MAX_COLUMNS: 100, MAX_ROWS: 1e5, MAX_LINE_BYTES: 1e5 },
    users: datasetUsers({ jobs: createRedisJobStore({ redis, prefix: config.REDIS_PREFIX }) }),
  });
  irisId = (await datasets.create('t1', { name: 'iris', body: createReadStream(fixture('iris')) })).id;
  await describer.close();
  queue = createTrainingQueue({ connection: redis, config });
  jobs = createJobService({
    datasets: store,
    jobs: createRedisJobStore({ redis, prefix: config.REDIS_PREFIX }),
    queue,
    events: createRedisJobEventBus({ redis, prefix: config.REDIS_PREFIX }),
    limits: config,
  });
});

afterAll(async () => {
  for (const close of closers) await close().catch(() => undefined);
  await queue.close();
  const keys = await redis.keys(`${config.REDIS_PREFIX}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await rm(dataDir, { recursive: true, force: true });
});

describe('job service', () => {
  it("when the dataset does not exist (or is another tenant's), then submit answers 422 naming it", async () => {
    await expect(jobs.submit('t1', spec({ datasetId: 'ds_nope' }))).rejects.toMatchObject({
      status: 422,
      message: 'dataset ds_nope does not exist',
    });
    await expect(jobs.submit('t2', spec())).rejects.toMatchObject({ status: 422 });
  });

  it('when a job is submitted, then it is recorded queued with its resolved spec and enqueued under its own id', async () => {
    const job = await jobs.submit('t1', spec({ training: { epochs: 7 } }));
    expect(job).toMatchObject({
      status: 'queued',
      progress: { epoch: 0, epochs: 7 },
      history: [],
      attempts: [],
      modelId: null,
    });
    expect(job.spec.task).toBe('classification');
    expect(await jobs.get('t1', job.id)).toEqual(job);
    await expect(jobs.get('t2', job.id)).rejects.toMatchObject({ status: 404 });
    const queued = await redis.hgetall(`${redisKeys(config.REDIS_PREFIX).queuePrefix}:training:${job.id}`);
    expect(JSON.parse(queued.data)).toEqual({ jobId: job.id, tenant: 't1' });
    await jobs.cancel('t1', job.id);
  });

  it('when the tenant has the maximum of active jobs, then submit answers 429 until one ends', async () => {
    const a = await jobs.submit('t1', spec());
    const b = await jobs.submit('t1', spec());
    const refused = await jobs.submit('t1', spec()).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 429 });
    expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(0);
    const cancelled = await jobs.cancel('t1', a.id);
    expect(cancelled.status).toBe('cancelled');
    const c = await jobs.submit('t1', spec());
    await jobs.cancel('t1', b.id);
    await jobs.cancel('t1', c.id);
  });

  it('when a queued job is cancelled, then it leaves the queue; list filters by status, newest first', async () => {
    const job = await jobs.submit('t1', spec());
    await jobs.cancel('t1', job.id);
    expect(await redis.exists(`${redisKeys(config.REDIS_PREFIX).queuePrefix}:training:${job.id}`)).toBe(0);
    const page = await jobs.list('t1', { limit: 2, status: 'cancelled' });
    expect(page.data).toHaveLength(2);
    expect(page.data[0].id).toBe(job.id);
    expect(page.data.every((j) => j.status === 'cancelled')).toBe(true);
    expect(page.nextCursor).not.toBeNull();
    const rest = await jobs.list('t1', { limit: 100, status: 'cancelled', cursor: page.nextCursor! });
    expect(rest.data.map((j) => j.id)).not.toContain(job.id);
    expect(rest.data.length).toBeGreaterThan(0);
    expect((await jobs.list('t1', { limit: 100, status: 'running' })).data).toEqual([]);
    expect((await jobs.list('t2', { limit: 100 })).data).toEqual([]);
  });

  it('when the queue is unreachable, then submit answers 503 and leaves no job behind', async () => {
    const dead = createRedis('redis://127.0.0.1:1', 'api');
    dead.on('error', () => {});
    const deadQueue = createTrainingQueue({ connection: dead, config });
    closers.push(
      () => deadQueue.close(),
      async () => dead.disconnect(),
    );
    const store = createRedisJobStore({ redis, prefix: config.REDIS_PREFIX });
    const service = createJobService({
      datasets: createDatasetStore({
        redis,
        prefix: config.REDIS_PREFIX,
        dataDir,
        files: createLocalFileStore(dataDir),
      }),
      jobs: store,
      queue: deadQueue,
      events: createRedisJobEventBus({ redis, prefix: config.REDIS_PREFIX }),
      limits: config,
    });
    const before = (await jobs.list('t1', { limit: 100 })).data.length;
    await expect(service.submit('t1', spec())).rejects.toMatchObject({ status: 503 });
    expect((await jobs.list('t1', { limit: 100 })).data.length).toBe(before);
    expect((await store.activeJobs('t1')).length).toBe(0);
  });

  it('when events are streamed, then the current status comes first and the stream ends after the final status', async () => {
    const job = await jobs.submit('t1', spec());
    const controller = new AbortController();
    const seen: JobEvent[] = [];
    const reading = (async () => {
      for await (const event of jobs.events('t1', job.id, controller.signal)) seen.push(event);
    })();
    await new Promise((r) => setTimeout(r, 200));
    await jobs.cancel('t1', job.id);
    await reading;
    expect(seen.map((e) => e.type === 'status' && e.data.status)).toEqual(['queued', 'cancelled']);

    // A finished job: one status event, then the end.
    const again: JobEvent[] = [];
    for await (const event of jobs.events('t1', job.id, controller.signal)) again.push(event);
    expect(again).toHaveLength(1);
    await expect(
      jobs.events('t2', job.id, controller.signal)[Symbol.asyncIterator]().next(),
    ).rejects.toMatchObject({ status: 404 });
  });

  it('when the reader aborts, then the stream ends', async () => {
    const job = await jobs.submit('t1', spec());
    const controller = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const event of jobs.events('t1', job.id, controller.signal)) seen.push(event.type);
    })();
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    await reading;
    expect(seen).toEqual(['status']);
    await jobs.cancel('t1', job.id);
  });
});
