// Ports of the operations view (/metrics): what the API reads about the whole deployment, queue
// and workers, without knowing BullMQ or Redis.

/** One worker's latest metrics, as prom-client's `Registry.getMetricsAsJSON()` gave them. */
export interface WorkerMetricsReport {
  workerId: string;
  /** When the worker sent it, ms since the epoch. */
  at: number;
  metrics: unknown[];
}

/** Counts of the training queue by BullMQ state, and how long the oldest waiting job has waited. */
export interface QueueStats {
  /** waiting, active, delayed, prioritized, completed, failed, paused, … → number of jobs. */
  counts: Record<string, number>;
  /** Seconds the oldest waiting job has been in the queue; 0 when none waits. */
  oldestWaitingSeconds: number;
}

/** The API's CSV parsing threads: alive, busy with an upload, and uploads waiting for a thread. */
export interface ParserStats {
  alive: number;
  busy: number;
  queued: number;
}

export interface OperationsSource {
  queueStats(): Promise<QueueStats>;
  /** The upload parsing threads of this API process (absent: not reported). */
  parserStats?(): ParserStats;
  /** Reports of the workers alive now (sent within the last few intervals). */
  workerReports(): Promise<WorkerMetricsReport[]>;
}

/** Where workers publish their metrics and the API reads them back. */
export interface WorkerMetricsStore {
  publish(report: WorkerMetricsReport): Promise<void>;
  remove(workerId: string): Promise<void>;
  /** Reports newer than maxAgeMs; older ones (dead workers) are dropped from the store. */
  fresh(maxAgeMs: number, now?: number): Promise<WorkerMetricsReport[]>;
}
