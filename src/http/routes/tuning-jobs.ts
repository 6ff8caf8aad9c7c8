// /v1/tuning-jobs: hyperparameter searches (random search + ASHA), their live leaderboard, cancel.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdParamsSchema, ListQuerySchema, pageSchema } from '../../domain/schemas.js';
import {
  TuningJobSchema,
  TuningRequestSchema,
  type TuningJob,
  type TuningService,
} from '../../domain/tuning.js';
import type { PreflightService } from '../../domain/preflight-service.js';
import { TuningPreflightSchema } from '../../domain/tuning-preflight.js';
import { createOnceFromJson, IdempotencyKeyHeaderSchema, type IdempotencyRunner } from '../idempotency.js';
import { DryRunQuerySchema, json, problems, tenantOf } from './common.js';

const SUBMIT_DESCRIPTION = [
  'Starts a search: trial parameters are drawn from `searchSpace` (default: depth, width, learning',
  'rate, weight decay, dropout, batch size, scaling) with a generator seeded by `seed`; each trial run is an',
  'ordinary training job on the shared queue. Asynchronous successive halving: rung k trains',
  '`rungEpochs[k]` epochs and only the top 1/`reductionFactor` of a rung moves up. Then the best',
  'trial by the validation `metric` is refit (`stage` `refit`, the record in `refit`): its parameters',
  'trained as the default recipe trains, cross-validated folds of the non-test rows and its',
  'embedding, as one more training run on the queue. The refit’s model is the tuning job’s',
  '`modelId` (the best trial’s own when `refit` is false or the refit fails); `test` holds that',
  'model’s metrics on the test split, which no trial trained or validated on.',
  '',
  '`Idempotency-Key` (optional): a retry with the same key and body answers the first search instead',
  'of starting a second one.',
  '',
  '`?dryRun=true`: the same checks (same errors), then 200 with the pre-flight report — the rungs,',
  'every trial’s parameters, the pre-flight of the largest trial and of its refit, and upper bounds',
  'on trial runs, epochs and training seconds — and nothing is started or stored.',
].join('\n');

const tags = ['tuning-jobs'];

const createTuningJobRoute = {
  schema: {
    tags,
    operationId: 'createTuningJob',
    summary: 'Start a hyperparameter search',
    description: SUBMIT_DESCRIPTION,
    headers: z.looseObject({ 'idempotency-key': IdempotencyKeyHeaderSchema }),
    querystring: DryRunQuerySchema,
    body: TuningRequestSchema,
    response: {
      200: json('Dry run: the pre-flight report; nothing was started', TuningPreflightSchema),
      202: json('The search with its first trials', TuningJobSchema),
      ...problems(400, 409, 415, 422),
    },
  },
};

const listTuningJobsRoute = {
  schema: {
    tags,
    operationId: 'listTuningJobs',
    summary: 'List tuning jobs, newest first',
    querystring: ListQuerySchema,
    response: { 200: json('A page of tuning jobs', pageSchema(TuningJobSchema)), ...problems(400) },
  },
};

const getTuningJobRoute = {
  schema: {
    tags,
    operationId: 'getTuningJob',
    summary: 'Get a tuning job with its leaderboard (best first)',
    params: IdParamsSchema,
    response: { 200: json('The tuning job', TuningJobSchema), ...problems(400, 404) },
  },
};

const cancelTuningJobRoute = {
  schema: {
    tags,
    operationId: 'cancelTuningJob',
    summary: 'Cancel a search and every trial run under way; 409 when finished',
    params: IdParamsSchema,
    response: { 200: json('The tuning job', TuningJobSchema), ...problems(400, 404, 409) },
  },
};

const streamTuningJobEventsRoute = {
  schema: {
    tags,
    operationId: 'streamTuningJobEvents',
    summary: 'The tuning job as server-sent `status` events, one per change, until it is final',
    params: IdParamsSchema,
    response: {
      200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
      ...problems(400, 404),
    },
  },
};

export const tuningJobRoutes =
  (deps: {
    tuning: TuningService;
    preflight: PreflightService;
    idempotency: IdempotencyRunner;
    pollMs?: number;
  }): FastifyPluginAsyncZod =>
  async (app) => {
    const { tuning } = deps;
    const streams = new Set<AbortController>();
    app.addHook('preClose', async () => {
      for (const c of streams) c.abort();
    });

    app.post('/tuning-jobs', createTuningJobRoute, async (request, reply) => {
      const tenant = tenantOf(request);
      if (request.query.dryRun) {
        return reply.code(200).send(await deps.preflight.tuning(tenant, request.body));
      }
      const search = await createOnceFromJson(
        deps.idempotency,
        reply,
        {
          tenant,
          scope: 'tuning-jobs',
          key: request.headers['idempotency-key'],
          body: request.body,
          status: 202,
        },
        () => tuning.submit(tenant, request.body),
      );
      return reply.send(search);
    });

    app.get('/tuning-jobs', listTuningJobsRoute, async (request) =>
      tuning.list(tenantOf(request), request.query),
    );

    app.get('/tuning-jobs/:id', getTuningJobRoute, async (request) =>
      tuning.get(tenantOf(request), request.params.id),
    );

    app.post('/tuning-jobs/:id/cancel', cancelTuningJobRoute, async (request) =>
      tuning.cancel(tenantOf(request), request.params.id),
    );

    app.get('/tuning-jobs/:id/events', streamTuningJobEventsRoute, async (request, reply) => {
      const tenant = tenantOf(request);
      let current: TuningJob = await tuning.get(tenant, request.params.id);
      const controller = new AbortController();
      streams.add(controller);
      reply.hijack();
      const res = reply.raw;
      res.on('close', () => controller.abort());
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
      });
      let last = '';
      try {
        while (!controller.signal.aborted) {
          const text = JSON.stringify(current);
          if (text !== last) res.write(`event: status\ndata: ${text}\n\n`);
          last = text;
          if (['succeeded', 'failed', 'cancelled'].includes(current.status)) break;
          await new Promise((r) => setTimeout(r, deps.pollMs ?? 1000));
          current = await tuning.get(tenant, request.params.id);
        }
      } catch {
        // Redis gone mid-stream: the client reconnects.
      } finally {
        streams.delete(controller);
        if (!res.writableEnded) res.end();
      }
    });
  };
