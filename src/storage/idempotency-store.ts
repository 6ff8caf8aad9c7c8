// Idempotency keys in Redis (key layout: redisKeys().idempotency). A request claims its key with
// SET NX and a short-lived "pending" marker; when it finishes, the marker is replaced by the
// fingerprint of its body and the response it gave, kept for 24 h. The pending marker expires on
// its own, so a process that dies mid-request does not block the key for a day.
import type { IdempotencyStore, IdempotentResponse } from '../domain/ports.js';
import { redisKeys, type Redis } from './redis.js';

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export function createIdempotencyStore(deps: {
  redis: Redis;
  prefix: string;
  pendingTtlMs: number;
}): IdempotencyStore {
  const keys = redisKeys(deps.prefix);
  const PENDING = JSON.stringify({ state: 'pending' });
  return {
    async claim(tenant, scope, key) {
      const k = keys.idempotency(tenant, scope, key);
      const set = await deps.redis.set(k, PENDING, 'PX', deps.pendingTtlMs, 'NX');
      if (set === 'OK') return { state: 'claimed' };
      const raw = await deps.redis.get(k);
      // Expired between the two calls: report pending so the caller simply tries again.
      if (raw === null) return { state: 'pending' };
      const value = JSON.parse(raw) as { state: 'pending' } | ({ state: 'done' } & IdempotentResponse);
      if (value.state === 'pending') return { state: 'pending' };
      return {
        state: 'done',
        response: { fingerprint: value.fingerprint, status: value.status, body: value.body },
      };
    },
    async complete(tenant, scope, key, response) {
      await deps.redis.set(
        keys.idempotency(tenant, scope, key),
        JSON.stringify({ state: 'done', ...response }),
        'EX',
        IDEMPOTENCY_TTL_SECONDS,
      );
    },
    async release(tenant, scope, key) {
      await deps.redis.del(keys.idempotency(tenant, scope, key));
    },
  };
}
