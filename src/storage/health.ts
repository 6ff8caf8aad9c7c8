// Readiness of Redis: it answers PING within 700 ms (below the API connection's command timeout) and will never evict keys
// (maxmemory-policy noeviction is the only policy BullMQ supports; BullMQ's production guide).
import type { HealthProbe } from '../domain/ports.js';
import type { Redis } from './redis.js';

export function createRedisHealthProbe(redis: Redis, timeoutMs = 700): HealthProbe {
  return {
    async ready() {
      let timer: NodeJS.Timeout | undefined;
      const noAnswer = new Error(`Redis did not answer within ${timeoutMs} ms`);
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(noAnswer), timeoutMs);
      });
      try {
        const info = await Promise.race([redis.ping().then(() => redis.info('memory')), deadline]);
        const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? 'unknown';
        if (policy !== 'noeviction') {
          return { ok: false, detail: `Redis maxmemory-policy is ${policy}; it must be noeviction` };
        }
        return { ok: true, detail: 'Redis is reachable and never evicts keys' };
      } catch (err) {
        // The deadline is below the connection's command timeout, so a hung Redis ends here first.
        return { ok: false, detail: err === noAnswer ? noAnswer.message : 'Redis is unreachable' };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
