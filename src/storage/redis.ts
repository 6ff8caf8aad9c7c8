// Redis connections and the key layout. Every key starts with the configured prefix, so test files
// and deployments can share one Redis without seeing each other's data.
import { Redis, type RedisOptions } from 'ioredis';

export type { Redis };

/**
 * role "api": fail fast while Redis is unreachable (requests answer 503 instead of hanging): a
 * refused connection fails at once, a hung Redis after commandTimeout, so a client hears 503 in < 1 s.
 * role "worker": wait and reconnect forever (BullMQ requires maxRetriesPerRequest: null).
 */
export function createRedis(url: string, role: 'api' | 'worker', extra: RedisOptions = {}): Redis {
  const base: RedisOptions =
    role === 'api'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 800 }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  return new Redis(url, {
    ...base,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...extra,
  });
}

/**
 * The key layout, in one place. Records (dataset, job, model) are JSON strings
 * `{"tenant": "...", "data": <resource>}` at their key; each tenant's index is a sorted set of ids
 * scored by creation time in ms (lists are newest first; a cursor encodes the last score and id).
 */
export function redisKeys(prefix: string) {
  return {
    dataset: (id: string) => `${prefix}:dataset:${id}`,
    datasets: (tenant: string) => `${prefix}:tenant:${tenant}:datasets`,
    job: (id: string) => `${prefix}:job:${id}`,
    jobs: (tenant: string) => `${prefix}:tenant:${tenant}:jobs`,
    model: (id: string) => `${prefix}:model:${id}`,
    models: (tenant: string) => `${prefix}:tenant:${tenant}:models`,
    idempotency: (tenant: string, scope: string, key: string) => `${prefix}:idem:${tenant}:${scope}:${key}`,
    /** BullMQ's own prefix: its keys are `${prefix}:q:<queue>:…`. */
    queuePrefix: `${prefix}:q`,
    events: (jobId: string) => `${prefix}:events:${jobId}`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;
