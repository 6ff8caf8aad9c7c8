// /v1/models: trained models (written by the worker), their deletion, and prediction.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  IdParamsSchema,
  ListQuerySchema,
  ModelSchema,
  PredictRequestSchema,
  PredictResponseSchema,
  pageSchema,
} from '../../domain/schemas.js';
import type { ModelService } from '../../domain/services.js';
import { json, problems, tenantOf } from './common.js';

/** Prediction bodies hold up to 10,000 rows, more than the 1 MiB JSON default. */
export const PREDICT_BODY_LIMIT = 16 * 1024 * 1024;

export const modelRoutes =
  (deps: { models: ModelService }): FastifyPluginAsyncZod =>
  async (app) => {
    const { models } = deps;

    app.get(
      '/models',
      {
        schema: {
          tags: ['models'],
          operationId: 'listModels',
          summary: 'List models, newest first',
          querystring: ListQuerySchema,
          response: {
            200: json('A page of models, newest first', pageSchema(ModelSchema)),
            ...problems(400),
          },
        },
      },
      async (request) => models.list(tenantOf(request), request.query),
    );

    app.get(
      '/models/:id',
      {
        schema: {
          tags: ['models'],
          operationId: 'getModel',
          summary: 'Get a model with its metrics',
          params: IdParamsSchema,
          response: { 200: json('The model with its metrics', ModelSchema), ...problems(400, 404) },
        },
      },
      async (request) => models.get(tenantOf(request), request.params.id),
    );

    app.delete(
      '/models/:id',
      {
        schema: {
          tags: ['models'],
          operationId: 'deleteModel',
          summary: 'Delete a model and its weights',
          params: IdParamsSchema,
          response: { 204: z.null().describe('Deleted'), ...problems(400, 404) },
        },
      },
      async (request, reply) => {
        await models.remove(tenantOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/models/:id/predict',
      {
        bodyLimit: PREDICT_BODY_LIMIT,
        schema: {
          tags: ['models'],
          operationId: 'predict',
          summary: 'Predict with a model',
          description: [
            'Rows carry raw values as in the CSV; the model applies its own preprocessing. An absent or',
            'null feature is missing and imputed as in training; keys the model does not use are ignored;',
            'a value of the wrong type is a 400 naming `rows[i].column`. An unknown category is treated',
            "as missing or refused with 400, as the model's `unknownCategory` says. Classification answers",
            '`{label, probabilities}` per row, regression `{value}`.',
          ].join('\n'),
          params: IdParamsSchema,
          body: PredictRequestSchema,
          response: {
            200: json('One prediction per row, in order', PredictResponseSchema),
            ...problems(400, 404, 413, 415, 422),
          },
        },
      },
      async (request) => models.predict(tenantOf(request), request.params.id, request.body),
    );

    app.post(
      '/models/:id/predict.csv',
      {
        bodyLimit: PREDICT_BODY_LIMIT,
        schema: {
          tags: ['models'],
          operationId: 'predictCsv',
          summary: 'Predict with a model, answered as CSV',
          description: [
            'The same request and predictions as `POST /v1/models/{id}/predict`, answered as',
            '`text/csv`: a header, then one line per row — `label` and `probability:<class>` for each',
            'class, or `value` for regression. Text cells that a spreadsheet would run as a formula',
            '(starting with `=`, `+`, `-`, `@`, a tab or a carriage return) get a leading apostrophe.',
          ].join('\n'),
          params: IdParamsSchema,
          body: PredictRequestSchema,
          response: {
            200: z.string().describe('text/csv: one line per row, after the header'),
            ...problems(400, 404, 413, 415, 422),
          },
        },
      },
      async (request, reply) => {
        const csv = await models.predictCsv(tenantOf(request), request.params.id, request.body);
        return reply.type('text/csv; charset=utf-8').send(csv);
      },
    );
  };
