// The worker's Prometheus metrics, derived from the job events it publishes (so the processor
// needs no metrics code), and sent to Redis every few seconds for the API's /metrics to merge.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobEventBus } from '../domain/ports.js';
import type { WorkerMetricsStore } from '../domain/operations.js';
import type { Job } from '../domain/schemas.js';
import type { Logger } from '../logger.js';

/** How often a worker sends its metrics; the API counts a worker alive for 3 × this. */
export const WORKER_METRICS_INTERVAL_MS = 5000;

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const seconds = (from: string | null, to: string | null) =>
  from && to ? Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000) : null;

export interface WorkerMetrics {
  registry: Registry;
  /** The bus with every published event also counted. */
  observe(bus: JobEventBus): JobEventBus;
  /** Sends now and then every WORKER_METRICS_INTERVAL_MS until stop(). */
  start(): void;
  /** Stops sending and removes this worker's report (it no longer counts as a worker). */
  stop(): Promise<void>;
}

/** The worker's instruments, all registered in one registry. */
interface Instruments {
  registry: Registry;
  epochs: Counter;
  finished: Counter<'status'>;
  duration: Histogram<'status'>;
  wait: Histogram;
  running: Gauge;
}

/**
 * Creates the worker's Prometheus instruments in a fresh registry: epochs trained, jobs finished
 * and their run time (seconds) by final state, queue wait (seconds) and the jobs training now.
 */
function createInstruments(): Instruments {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    epochs: new Counter({
      name: 'backprop_training_epochs_total',
      help: 'Epochs trained (rate() gives epochs per second)',
      registers,
    }),
    finished: new Counter({
      name: 'backprop_jobs_finished_total',
      help: 'Training jobs that reached a final state, by state',
      labelNames: ['status'] as const,
      registers,
    }),
    duration: new Histogram({
      name: 'backprop_job_duration_seconds',
      help: 'Time from a job starting to run to its final state, by final state',
      labelNames: ['status'] as const,
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400],
      registers,
    }),
    wait: new Histogram({
      name: 'backprop_queue_wait_seconds',
      help: 'Time a job waited in the queue before a worker started it',
      buckets: [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600],
      registers,
    }),
    running: new Gauge({
      name: 'backprop_worker_running_jobs',
      help: 'Jobs the workers are training now',
      registers,
    }),
  };
}

/**
 * Counts one published job event: an epoch, a job's first start (its queue wait) or its final
 * state (its run time). `active` holds the ids of the jobs running now and is updated here.
 */
function countEvent(
  m: Instruments,
  active: Set<string>,
  jobId: string,
  event: Parameters<JobEventBus['publish']>[1],
): void {
  if (event.type === 'epoch') {
    m.epochs.inc();
    return;
  }
  if (event.type !== 'status') return;
  const job: Job = event.data;
  if (job.status === 'running' && !active.has(jobId)) {
    active.add(jobId);
    // The first start only: a resumed job's createdAt would count its earlier run as waiting.
    if (job.attempts.length <= 1) {
      const waited = seconds(job.createdAt, job.startedAt);
      if (waited !== null) m.wait.observe(waited);
    }
  } else if (TERMINAL.has(job.status)) {
    active.delete(jobId);
    m.finished.inc({ status: job.status });
    const took = seconds(job.startedAt, job.finishedAt);
    if (took !== null) m.duration.observe({ status: job.status }, took);
  }
  m.running.set(active.size);
}

/**
 * The worker's metrics: counted from the events published on the bus `observe` wraps, and sent
 * to the store under a per-process worker id (host:pid:random) every `intervalMs` (default
 * WORKER_METRICS_INTERVAL_MS) once started. A failed send is logged at debug and retried next time.
 */
export function createWorkerMetrics(deps: {
  store: WorkerMetricsStore;
  logger: Logger;
  intervalMs?: number;
}): WorkerMetrics {
  const instruments = createInstruments();
  const { registry } = instruments;
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const active = new Set<string>();

  let timer: NodeJS.Timeout | null = null;
  const send = async () => {
    try {
      await deps.store.publish({ workerId, at: Date.now(), metrics: await registry.getMetricsAsJSON() });
    } catch (err) {
      deps.logger.debug({ err: (err as Error).message }, 'metrics not sent; next interval tries again');
    }
  };
  return {
    registry,
    observe: (bus) => ({
      publish(jobId, event) {
        countEvent(instruments, active, jobId, event);
        return bus.publish(jobId, event);
      },
      subscribe: (jobId, onEvent) => bus.subscribe(jobId, onEvent),
    }),
    start() {
      void send();
      timer = setInterval(() => void send(), deps.intervalMs ?? WORKER_METRICS_INTERVAL_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      // Bounded: with Redis down the worker connection would wait for it forever.
      await Promise.race([
        deps.store.remove(workerId).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
    },
  };
}
