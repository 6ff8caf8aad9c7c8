// Evaluations in Redis, in the record format of redis.ts, indexed per tenant by creation time.
import type { Evaluation, EvaluationStore } from '../domain/evaluations.js';
import { createRecordStore } from './record-store.js';
import type { Redis } from './redis.js';

export function createEvaluationStore(deps: { redis: Redis; prefix: string }): EvaluationStore {
  const records = createRecordStore<Evaluation>({
    redis: deps.redis,
    recordKey: (id) => `${deps.prefix}:evaluation:${id}`,
    indexKey: (tenant) => `${deps.prefix}:tenant:${tenant}:evaluations`,
  });
  return {
    put: (tenant, evaluation) => records.put(tenant, evaluation),
    get: (tenant, id) => records.get(tenant, id),
    list: (tenant, query) => records.list(tenant, query),
  };
}
