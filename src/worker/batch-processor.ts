// The batch prediction processor: an entry point like the training processor, with the same job
// ownership. It takes the job under a fresh lease (lifecycle.startAttempt), streams the dataset
// through the model one chunk of rows at a time, writes each chunk's CSV part, then records the
// progress with a compare-and-set on the lease. Parts are a pure function of the input rows, so a
// part written again after a crash (or by an attempt that lost its lease) is the same bytes; a
// resumed attempt skips the rows of the parts already recorded, so each row is in the result once.
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CsvError, readCsvRecords, writeCsvRows, type CsvLimits, type CsvRecord } from '../data/index.js';
import {
  batchEventData,
  type BatchErrorCode,
  type BatchFiles,
  type BatchPrediction,
  type BatchPredictionStore,
} from '../domain/batch-predictions.js';
import { createChunkScorer, loadPredictor, type ChunkScorer } from '../domain/batch-scoring.js';
import {
  decideAttemptEnd,
  finishJob,
  holdsLease,
  isTerminal,
  releaseAttempt,
  startAttempt,
  succeedAttempt,
  type FinalEnd,
  type StopReason,
  type WorkEnd,
} from '../domain/lifecycle.js';
import type { DatasetStore, ModelStore } from '../domain/ports.js';
import type { WebhookEmitter } from '../domain/webhooks.js';
import type { Logger } from '../logger.js';
import type { DeliveryOutcome, TrainingDelivery } from '../queue/training-queue.js';

/** Rows per part of the result: a resumed attempt repeats at most this many rows. */
export const BATCH_CHUNK_ROWS = 10_000;
const GENERIC_INTERNAL = 'the batch prediction failed because of an internal error';

export interface BatchProcessorDeps {
  store: BatchPredictionStore;
  models: Pick<ModelStore, 'get' | 'loadArtifact'>;
  datasets: Pick<DatasetStore, 'get'>;
  files: BatchFiles;
  csvLimits: Pick<CsvLimits, 'maxColumns' | 'maxLineBytes'>;
  logger: Logger;
  emit?: WebhookEmitter;
  /** Rows per part; default BATCH_CHUNK_ROWS. Every worker must use the same value. */
  chunkRows?: number;
  now?: () => Date;
}

export interface BatchProcessor {
  process(delivery: TrainingDelivery): Promise<DeliveryOutcome>;
  /** BullMQ gave up on a job that stalled too often: the record says so. */
  recordStalledOut(id: string, reason: string): Promise<void>;
  /** Running jobs stop after the part under way and go back to the queue. */
  shutdown(): void;
  readonly running: number;
}

/** A failure no retry fixes, with its code. */
class BatchFailure extends Error {
  constructor(
    readonly code: Exclude<BatchErrorCode, 'workerCrashed' | 'internal'>,
    message: string,
  ) {
    super(message);
  }
}

type Stored = NonNullable<Awaited<ReturnType<BatchPredictionStore['read']>>>;

/** What one attempt's scoring needs from its processor: the stores, and how to stop. */
interface AttemptContext {
  deps: BatchProcessorDeps;
  chunkRows: number;
  token: string;
  stop(reason: StopReason): void;
  stopped(): StopReason | null;
  shuttingDown(): boolean;
}

/** Opens the model and the dataset (the rows after the recorded parts); a missing one is a BatchFailure. */
async function openInput(deps: BatchProcessorDeps, stored: Stored, chunkRows: number) {
  const { tenant, job } = stored;
  const model = await deps.models.get(tenant, job.modelId);
  const artifact = model ? await deps.models.loadArtifact(job.modelId).catch(() => null) : null;
  if (!model || !artifact) throw new BatchFailure('modelDeleted', `model ${job.modelId} no longer exists`);
  const dataset = await deps.datasets.get(tenant, job.datasetId);
  const input = dataset ? await deps.files.openDataset(job.datasetId) : null;
  if (!dataset || !input)
    throw new BatchFailure('datasetDeleted', `dataset ${job.datasetId} no longer exists`);
  const skip = job.progress.chunks * chunkRows;
  const records = readCsvRecords(input, dataset.format, deps.csvLimits, skip);
  return { model, artifact, records };
}

/**
 * Writes part `index` of the result from these records, then records it under the attempt's
 * lease; false when the attempt must stop (lease lost, cancel requested, shutdown).
 */
async function writeAndRecordPart(
  ctx: AttemptContext,
  stored: Stored,
  index: number,
  records: CsvRecord[],
  scorer: ChunkScorer,
): Promise<boolean> {
  const { deps, token } = ctx;
  const id = stored.job.id;
  const scored = scorer.score(records);
  const rows = index === 0 ? [stored.job.columns, ...scored.rows] : scored.rows;
  await deps.files.writePart(id, index, writeCsvRows(rows));
  const res = await deps.store.update(id, (current) => {
    if (current.job.status !== 'running' || !holdsLease(current, token)) return null;
    const p = current.job.progress;
    if (p.chunks !== index) return null; // recorded already: never count a part twice
    return {
      job: {
        ...current.job,
        progress: { ...p, rows: p.rows + records.length, chunks: p.chunks + 1 },
        rowsFailed: current.job.rowsFailed + scored.failed,
      },
    };
  });
  if (!res.written) ctx.stop('lost');
  if (res.stored?.job.cancelRequested) ctx.stop('cancel');
  if (ctx.shuttingDown()) ctx.stop('shutdown');
  await yieldToLoop(); // lets BullMQ renew the job's lock between parts
  return ctx.stopped() === null;
}

/**
 * Scores the rest of the file part by part. True when every part is recorded; false when it
 * stopped early (the reason given to ctx.stop) after recording the part under way.
 */
async function scoreRemaining(ctx: AttemptContext, stored: Stored): Promise<boolean> {
  const { model, artifact, records } = await openInput(ctx.deps, stored, ctx.chunkRows);
  let scorer: ChunkScorer | null = null;
  let next = stored.job.progress.chunks;
  let pending: CsvRecord[] = [];
  for await (const item of records) {
    if (Array.isArray(item)) {
      const { network, encoder } = loadPredictor(artifact);
      scorer = createChunkScorer({
        network,
        encoder,
        model,
        header: item,
        keepColumns: stored.job.keepColumns,
      });
      continue;
    }
    pending.push(item);
    if (pending.length < ctx.chunkRows) continue;
    const going = await writeAndRecordPart(ctx, stored, next++, pending, scorer!);
    pending = [];
    if (!going) return false;
  }
  // The last, shorter part; or the header alone for a file without rows.
  if (pending.length > 0 || next === 0) await writeAndRecordPart(ctx, stored, next, pending, scorer!);
  return true;
}

/** The work's end in the lifecycle's terms, from how scoreRemaining ended. */
function workEnd(outcome: boolean | unknown, log: Logger): WorkEnd<BatchFailure['code']> {
  // An early stop is no result: decideAttemptEnd then follows the stop reason.
  if (typeof outcome === 'boolean') return outcome ? { kind: 'done' } : { kind: 'error' };
  if (outcome instanceof BatchFailure)
    return { kind: 'failed', code: outcome.code, message: outcome.message };
  if (outcome instanceof CsvError) return { kind: 'failed', code: 'invalidData', message: outcome.message };
  log.error({ err: outcome }, 'batch attempt failed');
  return { kind: 'error' };
}

/** The final-state writes of a processor: each followed, once, by the webhook event. */
function recordWriter(deps: BatchProcessorDeps, now: () => Date) {
  /** After the final state is written (by the writer whose CAS succeeded): cleanup and the event. */
  async function announceEnd(stored: Stored) {
    if (!isTerminal(stored.job)) return;
    if (stored.job.status !== 'succeeded')
      await deps.files.removeParts(stored.job.id, stored.job.progress.chunks + 1);
    await deps
      .emit?.(stored.tenant, 'batch-prediction.finished', batchEventData(stored.job))
      .catch((err: unknown) => {
        deps.logger.warn({ err, batchId: stored.job.id }, 'webhook event not emitted');
      });
  }
  /** Ends the job as failed or cancelled (lifecycle.finishJob); token null: whatever the lease. */
  async function finish(id: string, token: string | null, end: FinalEnd<BatchPrediction>) {
    const at = now().toISOString();
    const res = await deps.store.update(id, (current) => finishJob(current, { token, at, end }));
    if (res.written && res.stored) await announceEnd(res.stored);
    return res.written;
  }
  return { announceEnd, finish };
}

/** Carries out what lifecycle.decideAttemptEnd decided for the attempt, and answers the queue. */
async function settle(
  deps: BatchProcessorDeps,
  writer: ReturnType<typeof recordWriter>,
  attempt: { stored: Stored; token: string; reason: StopReason | null; work: WorkEnd<BatchFailure['code']> },
  delivery: TrainingDelivery,
  at: string,
): Promise<DeliveryOutcome> {
  const { stored, token } = attempt;
  const id = stored.job.id;
  const end = decideAttemptEnd(attempt.reason, attempt.work, {
    lastDelivery: delivery.attemptsMade + 1 >= delivery.maxAttempts,
    timeoutMessage: GENERIC_INTERNAL,
    internalMessage: GENERIC_INTERNAL,
  });
  switch (end.kind) {
    case 'lost':
      return { kind: 'done' };
    case 'cancel':
      await writer.finish(id, token, { status: 'cancelled' });
      return { kind: 'done' };
    case 'succeed': {
      const res = await deps.store.update(id, (current) =>
        succeedAttempt(current, { token, at, result: {} }),
      );
      if (res.written && res.stored) await writer.announceEnd(res.stored);
      return { kind: 'done' };
    }
    case 'fail':
      await writer.finish(id, token, {
        status: 'failed',
        error: { code: end.code === 'timeout' ? 'internal' : end.code, message: end.message },
      });
      return { kind: 'fail', message: end.message };
    case 'release':
      await deps.store.update(id, (current) => releaseAttempt(current, { token, at, outcome: end.outcome }));
      return end.delivery === 'handBack'
        ? { kind: 'handBack' }
        : { kind: 'retry', error: new Error(end.message) };
  }
}

export function createBatchProcessor(deps: BatchProcessorDeps): BatchProcessor {
  const now = deps.now ?? (() => new Date());
  const chunkRows = deps.chunkRows ?? BATCH_CHUNK_ROWS;
  const active = new Map<string, { stop(reason: StopReason): void }>();
  const writer = recordWriter(deps, now);
  let shuttingDown = false;

  /** Opens an attempt under a fresh lease; null when there is nothing to run (final, cancelled, taken). */
  async function start(id: string, token: string): Promise<Stored | null> {
    const started = await deps.store.update(id, (current) =>
      startAttempt(current, {
        token,
        at: now().toISOString(),
        resumedFromEpoch: current.job.progress.chunks,
      }),
    );
    if (started.written && started.stored) return started.stored;
    const current = started.stored?.job;
    if (current && !isTerminal(current) && current.cancelRequested)
      await writer.finish(id, null, { status: 'cancelled' });
    return null;
  }

  async function process(delivery: TrainingDelivery): Promise<DeliveryOutcome> {
    const { jobId: id } = delivery.data;
    const first = await deps.store.read(id);
    if (!first || isTerminal(first.job)) return { kind: 'done' };
    if (first.tenant !== delivery.data.tenant)
      return { kind: 'fail', message: `queue entry for ${id} names another tenant` };
    if (first.job.cancelRequested) {
      await writer.finish(id, null, { status: 'cancelled' });
      return { kind: 'done' };
    }
    if (shuttingDown) return { kind: 'handBack' };
    const token = randomUUID();
    const stored = await start(id, token);
    if (!stored) return { kind: 'done' };
    const log = deps.logger.child({ batchId: id });
    log.info(
      { attempt: stored.lease?.attempt, fromChunk: stored.job.progress.chunks },
      'batch attempt started',
    );
    let reason: StopReason | null = null;
    const ctx: AttemptContext = {
      deps,
      chunkRows,
      token,
      stop: (r) => (reason ??= r),
      stopped: () => reason,
      shuttingDown: () => shuttingDown,
    };
    active.set(id, ctx);
    const outcome = await scoreRemaining(ctx, stored).catch((err: unknown) => err);
    active.delete(id);
    const work = workEnd(outcome, log);
    return settle(deps, writer, { stored, token, reason, work }, delivery, now().toISOString());
  }

  return {
    process,
    async recordStalledOut(id, reason) {
      const written = await writer.finish(id, null, {
        status: 'failed',
        error: {
          code: 'workerCrashed',
          message: 'the workers running this batch prediction stopped responding too many times',
        },
      });
      if (written)
        deps.logger.warn({ batchId: id, reason }, 'batch prediction failed after repeated worker crashes');
    },
    shutdown() {
      shuttingDown = true;
      for (const run of active.values()) run.stop('shutdown');
    },
    get running() {
      return active.size;
    },
  };
}
