// Builds the API against the real Redis with a unique REDIS_PREFIX and a temporary DATA_DIR, and
// removes both afterwards. Jobs use the real service and queue unless a test passes its own.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import type { DatasetStore, ModelStore } from '../../src/domain/ports.js';
import type { JobService } from '../../src/domain/services.js';
import { buildApp, type App } from '../../src/http/app.js';
import { createApiDeps } from '../../src/http/server.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createCsvDescriber } from '../../src/storage/csv-describer.js';
import { createRedis, type Redis } from '../../src/storage/redis.js';

export interface TestApp {
  app: App;
  config: Config;
  redis: Redis;
  datasetStore: DatasetStore;
  modelStore: ModelStore;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  jobs?: JobService;
  sseHeartbeatMs?: number;
  /** The API's logger; silent unless a test reads the log lines. */
  logger?: Logger;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bp-http-'));
  const config = loadConfig({
    REDIS_PREFIX: `test-http-${randomUUID()}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const redis = createRedis(config.REDIS_URL, 'api');
  redis.on('error', () => {});
  // Wait for the connection (or its first failure) so the first request does not race it.
  await new Promise<void>((resolve) => {
    if (redis.status === 'ready') return resolve();
    redis.once('ready', () => resolve());
    redis.once('error', () => resolve());
  });
  const logger = options.logger ?? createLogger('silent', 'test');
  const csvDescriber = createCsvDescriber();
  const { deps, datasetStore, modelStore, queue, batchQueue, inspector, webhookQueue } = createApiDeps({
    config,
    logger,
    redis,
    describer: csvDescriber,
  });
  // A test's own job service replaces the real one; the rest of the wiring stays the server's.
  const app = await buildApp({
    ...deps,
    jobs: options.jobs ?? deps.jobs,
    sseHeartbeatMs: options.sseHeartbeatMs,
  });
  await app.ready();

  return {
    app,
    config,
    redis,
    datasetStore,
    modelStore,
    async close() {
      await app.close();
      await csvDescriber.close();
      await queue.close().catch(() => undefined);
      await batchQueue.close().catch(() => undefined);
      await inspector.close().catch(() => undefined);
      await webhookQueue.close().catch(() => undefined);
      if (redis.status === 'ready') {
        await deleteKeys(redis, `${config.REDIS_PREFIX}:*`);
        await redis.quit();
      } else {
        redis.disconnect();
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
