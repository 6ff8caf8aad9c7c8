// Readiness of Redis: it answers PING within 700 ms (below the API connection's command timeout) and will never evict keys
// (maxmemory-policy noeviction is the only policy BullMQ supports; BullMQ's production guide).
import type { HealthProbe } from '../domain/ports.js';
import type { Redis } from './redis.js';

export function createRedisHealthProbe(redis: Redis, timeoutMs = 700): HealthProbe {
  return {
    async ready() {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const info = await Promise.race([redis.ping().then(() => redis.info('memory')), deadline]);
        const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? 'unknown';
        if (policy !== 'noeviction') {
          return { ok: false, detail: `Redis maxmemory-policy is ${policy}; it must be noeviction` };
        }
        return { ok: true, detail: 'Redis is reachable and never evicts keys' };
      } catch (err) {
        const message = err instanceof Error ? err.message : '';
        const reason = message.startsWith('Redis did not answer')
          ? message
          : message === 'Command timed out' // ioredis's commandTimeout
            ? `Redis did not answer within ${timeoutMs} ms`
            : 'Redis is unreachable';
        return { ok: false, detail: reason };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
