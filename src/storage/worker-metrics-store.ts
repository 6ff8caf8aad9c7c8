// Workers' metrics in one Redis hash (`${prefix}:metrics:workers`, field = worker id, value = the
// JSON report), so the API's /metrics shows the whole deployment from one scrape target and a
// worker needs no port of its own. A worker that stops removes its field; one that dies stops
// updating it and is dropped once its report is older than the freshness window.
import type { WorkerMetricsReport, WorkerMetricsStore } from '../domain/operations.js';
import type { Redis } from './redis.js';

export function createWorkerMetricsStore(deps: { redis: Redis; prefix: string }): WorkerMetricsStore {
  const key = `${deps.prefix}:metrics:workers`;
  return {
    async publish(report) {
      await deps.redis.hset(key, report.workerId, JSON.stringify(report));
    },
    async remove(workerId) {
      await deps.redis.hdel(key, workerId);
    },
    async fresh(maxAgeMs, now = Date.now()) {
      const all = await deps.redis.hgetall(key);
      const alive: WorkerMetricsReport[] = [];
      const stale: string[] = [];
      for (const [field, text] of Object.entries(all)) {
        let report: WorkerMetricsReport | null = null;
        try {
          report = JSON.parse(text) as WorkerMetricsReport;
        } catch {
          report = null;
        }
        if (report && now - report.at <= maxAgeMs) alive.push(report);
        else stale.push(field);
      }
      if (stale.length > 0) await deps.redis.hdel(key, ...stale);
      return alive.sort((a, b) => a.workerId.localeCompare(b.workerId));
    },
  };
}
