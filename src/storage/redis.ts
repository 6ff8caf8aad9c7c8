// Redis connections and the key layout. Every key starts with the configured prefix, so test files
// and deployments can share one Redis without seeing each other's data.
import { Redis as IoRedis, ReplyError, type Command, type RedisOptions } from 'ioredis';
import { DependencyUnavailableError } from '../domain/errors.js';

/**
 * RESP error prefixes with which a reachable Redis refuses to serve for now: out of memory, no
 * persistence (MISCONF), still loading its data, a busy script, a replica without its primary. Any
 * other error reply (WRONGTYPE, ERR …) is a caller's bug and stays one.
 */
const REFUSING_NOW = new Set(['OOM', 'MISCONF', 'LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'NOREPLICAS']);
/** Node's errno codes of a socket that cannot reach its server. */
const UNREACHABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * The one decision "Redis is unreachable", from the failure's type: an adapter's
 * DependencyUnavailableError, a Redis error reply whose RESP prefix says it refuses to serve for
 * now, or a socket errno. Message text is never read.
 */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof DependencyUnavailableError) return true;
  if (err instanceof ReplyError) return REFUSING_NOW.has(String((err as Error).message).split(' ', 1)[0]);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNREACHABLE_ERRNO.has(code);
}

/**
 * What a Redis command's rejection means. A command is rejected with a ReplyError only when Redis
 * answered; every other rejection (connection closed, offline, timed out, retries exhausted) is
 * ioredis saying no answer came, so it becomes a DependencyUnavailableError, as does a reply that
 * refuses to serve for now.
 */
export function commandFailure(err: Error): Error {
  if (err instanceof DependencyUnavailableError) return err;
  if (err instanceof ReplyError && !isUnreachable(err)) return err;
  return new DependencyUnavailableError('redis', err);
}

/**
 * An ioredis client whose failed commands (pipelines and scripts included) reject with
 * commandFailure's translation, so stores and services see a typed DependencyUnavailableError;
 * duplicates are the same kind of client.
 */
export class Redis extends IoRedis {
  override sendCommand(command: Command, stream?: Parameters<IoRedis['sendCommand']>[1]): unknown {
    const reject = command.reject;
    command.reject = (err: Error) => reject(commandFailure(err));
    return super.sendCommand(command, stream);
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    return new Redis({ ...this.options, ...override });
  }
}

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
