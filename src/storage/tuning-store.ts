// Tuning jobs in Redis, in the record format of redis.ts (indexed per tenant), plus what the
// search coordinator needs: trial run → tuning job links, the set of searches not yet final, a
// lock per search (SET NX PX), a "dirty" note for the lock holder, and the cancel flag.
import type { TuningJob, TuningStore } from '../domain/tuning.js';
import { createRecordStore } from './record-store.js';
import type { Redis } from './redis.js';

const LINK_TTL_S = 30 * 24 * 3600;

export function createTuningStore(deps: { redis: Redis; prefix: string }): TuningStore {
  const { redis, prefix } = deps;
  const key = (id: string) => `${prefix}:tuning:${id}`;
  const records = createRecordStore<TuningJob>({
    redis,
    recordKey: key,
    indexKey: (tenant) => `${prefix}:tenant:${tenant}:tuning`,
  });
  const activeKey = `${prefix}:tuning:active`;
  return {
    put: (tenant, job) => records.put(tenant, job),
    get: (tenant, id) => records.get(tenant, id),
    async read(id) {
      const r = await records.getRecord(id);
      return r && { tenant: r.tenant, job: r.data };
    },
    list: (tenant, query) => records.list(tenant, query),
    async linkTrial(jobId, tuningId) {
      await redis.set(`${prefix}:tuning-trial:${jobId}`, tuningId, 'EX', LINK_TTL_S);
    },
    trialOf: (jobId) => redis.get(`${prefix}:tuning-trial:${jobId}`),
    activeIds: () => redis.smembers(activeKey),
    async setActive(id, active) {
      if (active) await redis.sadd(activeKey, id);
      else await redis.srem(activeKey, id);
    },
    async lock(id, ttlMs) {
      return (await redis.set(`${key(id)}:lock`, '1', 'PX', ttlMs, 'NX')) === 'OK';
    },
    async unlock(id) {
      await redis.del(`${key(id)}:lock`);
    },
    async markDirty(id) {
      await redis.set(`${key(id)}:dirty`, '1', 'EX', 3600);
    },
    async takeDirty(id) {
      return (await redis.del(`${key(id)}:dirty`)) === 1;
    },
    async requestCancel(id) {
      await redis.set(`${key(id)}:cancel`, '1', 'EX', 30 * 24 * 3600);
    },
    async cancelRequested(id) {
      return (await redis.exists(`${key(id)}:cancel`)) === 1;
    },
  };
}
