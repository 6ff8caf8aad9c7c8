// /v1/batch-predictions: score a whole dataset with a model in a queued job; follow it, cancel it,
// download its result CSV as a stream.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  BatchListQuerySchema,
  BatchPredictionRequestSchema,
  BatchPredictionSchema,
  type BatchPredictionService,
} from '../../domain/batch-predictions.js';
import { IdParamsSchema, pageSchema } from '../../domain/schemas.js';
import { createOnceFromJson, IdempotencyKeyHeaderSchema, type IdempotencyRunner } from '../idempotency.js';
import { json, problems, tenantOf } from './common.js';

const SUBMIT_DESCRIPTION = [
  'Queues a job that scores every row of a dataset with a model; a worker streams the file through',
  'the model part by part (10,000 rows each), so any size the upload limits allow is scored without',
  'holding it in memory. The answer is the queued job; follow `progress` with GET, cancel it with',
  'POST …/cancel, and download the result from GET …/result once it has `succeeded`.',
  '',
  'The result is a CSV: the `keepColumns` (as written in the file), then `label` and one',
  '`probability:<class>` column per class (classification) or `value` (regression), the same',
  'predictions as POST /v1/models/{id}/predict gives for the row, then `error`. A row that cannot be',
  'scored (a value of the wrong type, a category refused by the model) keeps its place with empty',
  'prediction cells and the reason in `error`; `rowsFailed` counts them. A killed worker leaves the',
  'job to another, which continues after the last part written: every row appears once.',
  '',
  '422 when the model or the dataset does not exist, when the dataset has none of the model’s',
  'features, or when `keepColumns` names an unknown column, repeats one, or names one the result',
  'adds itself. `Idempotency-Key` (optional): a retry with the same key and body answers the first job.',
  'When it ends, the tenant’s webhooks get a `batch-prediction.finished` event.',
].join('\n');

export const batchPredictionRoutes =
  (deps: { batch: BatchPredictionService; idempotency: IdempotencyRunner }): FastifyPluginAsyncZod =>
  async (app) => {
    const { batch } = deps;
    const tags = ['batch-predictions'];

    app.post(
      '/batch-predictions',
      {
        schema: {
          tags,
          operationId: 'createBatchPrediction',
          summary: 'Score a whole dataset with a model, as a queued job',
          description: SUBMIT_DESCRIPTION,
          headers: z.looseObject({ 'idempotency-key': IdempotencyKeyHeaderSchema }),
          body: BatchPredictionRequestSchema,
          response: { 202: json('The queued job', BatchPredictionSchema), ...problems(400, 409, 415, 422) },
        },
      },
      async (request, reply) => {
        const tenant = tenantOf(request);
        const job = await createOnceFromJson(
          deps.idempotency,
          reply,
          {
            tenant,
            scope: 'batch-predictions',
            key: request.headers['idempotency-key'],
            body: request.body,
            status: 202,
          },
          () => batch.submit(tenant, request.body),
        );
        return reply.header('location', `/v1/batch-predictions/${job.id}`).send(job);
      },
    );

    app.get(
      '/batch-predictions',
      {
        schema: {
          tags,
          operationId: 'listBatchPredictions',
          summary: 'List batch predictions, newest first',
          querystring: BatchListQuerySchema,
          response: {
            200: json('A page of batch predictions', pageSchema(BatchPredictionSchema)),
            ...problems(400),
          },
        },
      },
      async (request) => batch.list(tenantOf(request), request.query),
    );

    app.get(
      '/batch-predictions/:id',
      {
        schema: {
          tags,
          operationId: 'getBatchPrediction',
          summary: 'Get a batch prediction and its progress',
          params: IdParamsSchema,
          response: { 200: json('The batch prediction', BatchPredictionSchema), ...problems(400, 404) },
        },
      },
      async (request) => batch.get(tenantOf(request), request.params.id),
    );

    app.post(
      '/batch-predictions/:id/cancel',
      {
        schema: {
          tags,
          operationId: 'cancelBatchPrediction',
          summary: 'Cancel a batch prediction; a running one stops after its current part. 409 when finished',
          params: IdParamsSchema,
          response: { 200: json('The batch prediction', BatchPredictionSchema), ...problems(400, 404, 409) },
        },
      },
      async (request) => batch.cancel(tenantOf(request), request.params.id),
    );

    app.get(
      '/batch-predictions/:id/result',
      {
        schema: {
          tags,
          operationId: 'getBatchPredictionResult',
          summary: 'Download the result CSV of a succeeded batch prediction (streamed)',
          description: [
            'The header (the job’s `columns`), then one line per data row of the dataset, in the',
            'file’s order. Text cells that a spreadsheet would run as a formula get a leading',
            'apostrophe. 409 while the job is not `succeeded`.',
          ].join('\n'),
          params: IdParamsSchema,
          response: {
            200: {
              description: 'The result as CSV',
              content: { 'text/csv': { schema: z.string() } },
            },
            ...problems(400, 404, 409),
          },
        },
      },
      async (request, reply) => {
        const stream = await batch.result(tenantOf(request), request.params.id);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${request.params.id}.csv"`)
          .send(stream as never); // a stream skips the serializer
      },
    );
  };
