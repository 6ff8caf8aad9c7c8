// GET /metrics in the Prometheus text format (prom-client): the API's own metrics (HTTP request
// durations by route and status, prediction latency, process metrics), the training queue by state
// and its oldest wait, and every live worker's metrics merged (workers send theirs through Redis,
// see src/worker/metrics.ts), with the number of live workers.
import type { FastifyTypeProvider } from 'fastify';
import { AggregatorRegistry, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OperationsSource } from '../../domain/operations.js';
import type { HttpApp } from './types.js';

/** A worker counts as alive while its last report is younger than this (3 × its 5 s interval). */
export const WORKER_ALIVE_MS = 15_000;

function apiRegistry(ops: OperationsSource | null) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'backprop_api_' });
  const http = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const prediction = new Histogram({
    name: 'backprop_prediction_duration_seconds',
    help: 'Time to answer a prediction request (200 only), by response format',
    labelNames: ['format'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  if (ops) {
    const oldestWait = new Gauge({
      name: 'backprop_queue_oldest_wait_seconds',
      help: 'How long the oldest waiting training job has waited',
      registers: [registry],
    });
    new Gauge({
      name: 'backprop_queue_jobs',
      help: 'Training jobs in the queue, by queue state (waiting, active, delayed, completed, failed, …)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const stats = await ops.queueStats();
        this.reset();
        for (const [state, n] of Object.entries(stats.counts)) this.set({ state }, n);
        oldestWait.set(stats.oldestWaitingSeconds);
      },
    });
  }
  if (ops?.parserStats) {
    const parserStats = ops.parserStats.bind(ops);
    new Gauge({
      name: 'backprop_upload_parsers',
      help: "This API process's CSV parsing threads: alive, busy with an upload, uploads queued for one",
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const { alive, busy, queued } = parserStats();
        this.set({ state: 'alive' }, alive);
        this.set({ state: 'busy' }, busy);
        this.set({ state: 'queued' }, queued);
      },
    });
  }
  return { registry, http, prediction };
}

/**
 * Registers GET /metrics (no auth: keep it on an internal network, as with any exporter) and the
 * hook that times every request. `ops` null leaves out the queue and worker sections (tests).
 */
export function registerMetrics<T extends FastifyTypeProvider>(
  app: HttpApp<T>,
  ops: OperationsSource | null,
): void {
  const { registry, http, prediction } = apiRegistry(ops);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    const took = reply.elapsedTime / 1000;
    http.observe({ method: request.method, route, status_code: String(reply.statusCode) }, took);
    if (reply.statusCode === 200 && /\/predict(\.csv)?$/.test(route)) {
      prediction.observe({ format: route.endsWith('.csv') ? 'csv' : 'json' }, took);
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const parts = [await registry.metrics()];
    if (ops) {
      const reports = await ops.workerReports();
      parts.push(
        '# HELP backprop_workers Worker processes that sent metrics in the last 15 s\n' +
          `# TYPE backprop_workers gauge\nbackprop_workers ${reports.length}\n`,
      );
      if (reports.length > 0) {
        const merged = AggregatorRegistry.aggregate(reports.map((r) => r.metrics) as never);
        parts.push(await merged.metrics());
      }
    }
    return reply.type(registry.contentType).send(parts.join('\n'));
  });
}
