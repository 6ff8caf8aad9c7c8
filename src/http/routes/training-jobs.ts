// /v1/training-jobs: submit (202), read, list, cancel, and a server-sent event stream of progress.
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { toProblem } from '../errors.js';
import {
  EpochEntrySchema,
  IdParamsSchema,
  JobListQuerySchema,
  JobSchema,
  TrainingSpecInputSchema,
  pageSchema,
} from '../../domain/schemas.js';
import { PreflightSchema } from '../../domain/preflight.js';
import type { PreflightService } from '../../domain/preflight-service.js';
import type { JobEvent, JobService } from '../../domain/services.js';
import { createOnceFromJson, IdempotencyKeyHeaderSchema, type IdempotencyRunner } from '../idempotency.js';
import { DryRunQuerySchema, json, problems, tenantOf } from './common.js';

const SUBMIT_DESCRIPTION = [
  'Validates the spec, fills in every default (echoed in `spec`), checks it against the limits and',
  'queues the job. Only `datasetId` and `target` are required.',
  '',
  '`Idempotency-Key` (optional, 1-255 visible ASCII characters, kept 24 h per tenant): a retry with',
  'the same key and the same body (compared after defaults are filled) answers the original 202 and',
  'job without queueing another; the same key with a different body answers 422. Concurrent',
  'requests with one key wait for the first, so exactly one job is created.',
  '',
  '`?dryRun=true`: the same checks (same errors), then 200 with the pre-flight report instead of a',
  'job: the resolved spec, parameter count, encoded input width, split sizes, an estimate of training',
  'time (from a short measured probe) and peak memory, and warnings. Nothing is queued or stored.',
].join('\n');

const EVENTS_DESCRIPTION = [
  '`text/event-stream`: first a `status` event with the job, then an `epoch` event per trained epoch',
  'and a `status` event per status change; the stream closes after the final status. Each event is',
  '`event: <type>` and `data: <json>`; a comment line is sent every 15 s to keep the connection open.',
].join('\n');

/** `?history=none` leaves the per-epoch history out (an empty array) of job documents. */
const HistoryViewSchema = z
  .enum(['all', 'none'])
  .default('all')
  .describe('`none` sends `history: []` (a long job has thousands of epochs); see GET …/history');
const JobGetQuerySchema = z.object({ history: HistoryViewSchema }).strict();
const JobListWithHistoryQuerySchema = JobListQuerySchema.extend({ history: HistoryViewSchema });
const HistoryQuerySchema = z
  .object({
    offset: z.coerce.number().min(0).max(1_000_000).int().default(0).describe('Entries to skip'),
    limit: z.coerce.number().min(1).max(1000).int().default(100).describe('Entries to return, 1 to 1000'),
  })
  .strict();
const HistoryPageSchema = z.object({
  data: z.array(EpochEntrySchema),
  total: z.number().int().min(0).describe('Epochs recorded so far'),
  nextOffset: z.number().int().min(0).nullable().describe('Offset of the next page; null at the end'),
});

type JobDocument = z.infer<typeof JobSchema>;
const withHistory = (job: JobDocument, view: 'all' | 'none'): JobDocument =>
  view === 'none' ? { ...job, history: [] } : job;

const createTrainingJobRoute = {
  // columnTypes is keyed by column names, which may be `constructor` or `__proto__`.
  config: { nullPrototypeJson: true },
  schema: {
    tags: ['training-jobs'],
    operationId: 'createTrainingJob',
    summary: 'Submit a training job',
    description: SUBMIT_DESCRIPTION,
    headers: z.looseObject({ 'idempotency-key': IdempotencyKeyHeaderSchema }),
    querystring: DryRunQuerySchema,
    body: TrainingSpecInputSchema,
    response: {
      200: json('Dry run: the pre-flight report; nothing was queued or stored', PreflightSchema),
      202: json('The queued job with its resolved spec', JobSchema),
      ...problems(400, 404, 409, 413, 415, 422),
    },
  },
};

const listTrainingJobsRoute = {
  schema: {
    tags: ['training-jobs'],
    operationId: 'listTrainingJobs',
    summary: 'List training jobs, newest first, optionally by status',
    description: [
      'The runs of hyperparameter searches (trial runs and refits) are left out unless `tuningJobId`',
      'names their search; then only that search’s runs are listed.',
    ].join('\n'),
    querystring: JobListWithHistoryQuerySchema,
    response: { 200: json('A page of jobs, newest first', pageSchema(JobSchema)), ...problems(400) },
  },
};

const getTrainingJobRoute = {
  schema: {
    tags: ['training-jobs'],
    operationId: 'getTrainingJob',
    summary: 'Get a training job with its progress and history',
    params: IdParamsSchema,
    querystring: JobGetQuerySchema,
    response: { 200: json('The job', JobSchema), ...problems(400, 404) },
  },
};

const getTrainingJobHistoryRoute = {
  schema: {
    tags: ['training-jobs'],
    operationId: 'getTrainingJobHistory',
    summary: 'Page through the per-epoch history of a job',
    description:
      'Epoch entries in training order, `limit` at a time from `offset`; poll with `offset` = the last `total` to get only new epochs.',
    params: IdParamsSchema,
    querystring: HistoryQuerySchema,
    response: { 200: json('A page of epoch entries', HistoryPageSchema), ...problems(400, 404) },
  },
};

const cancelTrainingJobRoute = {
  schema: {
    tags: ['training-jobs'],
    operationId: 'cancelTrainingJob',
    summary: 'Cancel a job: at once when queued, within one epoch when running; 409 when finished',
    params: IdParamsSchema,
    response: { 200: json('The job, cancelled or stopping', JobSchema), ...problems(400, 404, 409) },
  },
};

const streamTrainingJobEventsRoute = {
  schema: {
    tags: ['training-jobs'],
    operationId: 'streamTrainingJobEvents',
    summary: 'Stream progress as server-sent events',
    description: EVENTS_DESCRIPTION,
    params: IdParamsSchema,
    response: {
      200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
      ...problems(400, 404),
    },
  },
};

export const trainingJobRoutes =
  (deps: {
    jobs: JobService;
    preflight: PreflightService;
    idempotency: IdempotencyRunner;
    heartbeatMs?: number;
  }): FastifyPluginAsyncZod =>
  async (app) => {
    const { jobs, idempotency } = deps;
    const heartbeatMs = deps.heartbeatMs ?? 15_000;
    // Open event streams never go idle, so shutdown ends them instead of waiting out its grace period.
    const streams = new Set<AbortController>();
    app.addHook('preClose', async () => {
      for (const controller of streams) controller.abort();
    });

    app.post('/training-jobs', createTrainingJobRoute, async (request, reply) => {
      const tenant = tenantOf(request);
      if (request.query.dryRun) {
        return reply.code(200).send(await deps.preflight.training(tenant, request.body));
      }
      const job = await createOnceFromJson(
        idempotency,
        reply,
        {
          tenant,
          scope: 'training-jobs',
          key: request.headers['idempotency-key'],
          body: request.body,
          status: 202,
        },
        () => jobs.submit(tenant, request.body),
      );
      return reply.send(job);
    });

    app.get('/training-jobs', listTrainingJobsRoute, async (request) => {
      const { history, ...query } = request.query;
      const page = await jobs.list(tenantOf(request), query);
      return { ...page, data: page.data.map((job) => withHistory(job, history)) };
    });

    app.get('/training-jobs/:id', getTrainingJobRoute, async (request) =>
      withHistory(await jobs.get(tenantOf(request), request.params.id), request.query.history),
    );

    app.get('/training-jobs/:id/history', getTrainingJobHistoryRoute, async (request) => {
      const { history } = await jobs.get(tenantOf(request), request.params.id);
      return historyPage(history, request.query.offset, request.query.limit);
    });

    app.post('/training-jobs/:id/cancel', cancelTrainingJobRoute, async (request) =>
      jobs.cancel(tenantOf(request), request.params.id),
    );

    app.get('/training-jobs/:id/events', streamTrainingJobEventsRoute, async (request, reply) => {
      const controller = new AbortController();
      streams.add(controller);
      controller.signal.addEventListener('abort', () => streams.delete(controller));
      const stream = jobs.events(tenantOf(request), request.params.id, controller.signal);
      const iterator = stream[Symbol.asyncIterator]();
      let next: IteratorResult<JobEvent>;
      try {
        // The first item (or a 404) comes before any byte is sent, so errors are still problems.
        next = await iterator.next();
      } catch (err) {
        controller.abort();
        throw err;
      }
      await sendEventStream(
        { reply, requestId: request.id, log: request.log },
        iterator,
        next,
        controller,
        heartbeatMs,
      );
    });
  };

/** Epochs offset … offset+limit-1 of a history, with its length and where the next page starts. */
function historyPage<T>(history: T[], offset: number, limit: number) {
  const end = Math.min(history.length, offset + limit);
  return {
    data: history.slice(offset, end),
    total: history.length,
    nextOffset: end < history.length ? end : null,
  };
}

/**
 * Sends a job's events as text/event-stream, starting with `first` (already read, so a 404 could
 * still be a problem): a heartbeat comment every heartbeatMs, an `error` event with the problem if
 * the stream fails, and the end when the job is final, the client leaves or `controller` aborts.
 */
async function sendEventStream(
  to: { reply: FastifyReply; requestId: string; log: FastifyBaseLogger },
  iterator: AsyncIterator<JobEvent>,
  first: IteratorResult<JobEvent>,
  controller: AbortController,
  heartbeatMs: number,
): Promise<void> {
  to.reply.hijack();
  const res = to.reply.raw;
  res.on('close', () => controller.abort());
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
  let next = first;
  try {
    while (!next.done && !controller.signal.aborted) {
      res.write(`event: ${next.value.type}\ndata: ${JSON.stringify(next.value.data)}\n\n`);
      next = await iterator.next();
    }
  } catch (err) {
    const p = toProblem(err, to.requestId);
    if (p.internal) to.log.error({ err }, 'event stream failed');
    if (!res.writableEnded) res.write(`event: error\ndata: ${JSON.stringify(p.problem)}\n\n`);
  } finally {
    clearInterval(heartbeat);
    controller.abort();
    await iterator.return?.().catch(() => undefined);
    if (!res.writableEnded) res.end();
  }
}
