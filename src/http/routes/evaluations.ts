// /v1/evaluations: a model scored on a new labelled dataset, next to no-feature baselines.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  EvaluationRequestSchema,
  EvaluationSchema,
  type EvaluationService,
} from '../../domain/evaluations.js';
import { IdParamsSchema, ListQuerySchema, pageSchema } from '../../domain/schemas.js';
import { createOnceFromJson, IdempotencyKeyHeaderSchema, type IdempotencyRunner } from '../idempotency.js';
import { json, problems, tenantOf } from './common.js';

const CREATE_DESCRIPTION = [
  'Scores the model on every labelled row of the dataset and stores the result: the metrics of the',
  'model’s own test split (accuracy, F1, ROC and PR AUC, log loss, Brier score, calibration, the',
  'confusion matrix with class names; or MSE, RMSE, MAE, R², MAPE and residual quantiles) next to the',
  'same metrics of predicting without the features, computed on this data: its class frequencies',
  '(`majority`) and seeded draws from them (`stratified`), or its `mean` and `median`. A model that',
  'does not beat them has learned nothing useful for this data.',
  '',
  'The dataset needs the model’s feature columns and its target column (numeric for regression);',
  'rows whose target is missing, or a class the model was not trained on, are left out and counted',
  'in `rowsSkipped`. Answered in the request (201): at most 200,000 rows (413 beyond; score larger',
  'files with a batch prediction). 422 names the missing model, dataset, target or features.',
  '`Idempotency-Key` (optional): a retry with the same key and body answers the first evaluation.',
].join('\n');

export const evaluationRoutes =
  (deps: { evaluations: EvaluationService; idempotency: IdempotencyRunner }): FastifyPluginAsyncZod =>
  async (app) => {
    const { evaluations } = deps;
    const tags = ['evaluations'];

    app.post(
      '/evaluations',
      {
        schema: {
          tags,
          operationId: 'createEvaluation',
          summary: 'Evaluate a model on a new labelled dataset, against baselines',
          description: CREATE_DESCRIPTION,
          headers: z.looseObject({ 'idempotency-key': IdempotencyKeyHeaderSchema }),
          body: EvaluationRequestSchema,
          response: {
            201: json('The stored evaluation', EvaluationSchema),
            ...problems(400, 409, 413, 415, 422),
          },
        },
      },
      async (request, reply) => {
        const tenant = tenantOf(request);
        const evaluation = await createOnceFromJson(
          deps.idempotency,
          reply,
          {
            tenant,
            scope: 'evaluations',
            key: request.headers['idempotency-key'],
            body: request.body,
            status: 201,
          },
          () => evaluations.evaluate(tenant, request.body),
        );
        return reply.header('location', `/v1/evaluations/${evaluation.id}`).send(evaluation);
      },
    );

    app.get(
      '/evaluations',
      {
        schema: {
          tags,
          operationId: 'listEvaluations',
          summary: 'List evaluations, newest first',
          querystring: ListQuerySchema,
          response: { 200: json('A page of evaluations', pageSchema(EvaluationSchema)), ...problems(400) },
        },
      },
      async (request) => evaluations.list(tenantOf(request), request.query),
    );

    app.get(
      '/evaluations/:id',
      {
        schema: {
          tags,
          operationId: 'getEvaluation',
          summary: 'Get an evaluation',
          params: IdParamsSchema,
          response: { 200: json('The evaluation', EvaluationSchema), ...problems(400, 404) },
        },
      },
      async (request) => evaluations.get(tenantOf(request), request.params.id),
    );
  };
