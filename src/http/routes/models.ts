// /v1/models: trained models (written by the worker), their deletion, and prediction.
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  IdParamsSchema,
  ModelListQuerySchema,
  ModelSchema,
  PredictRequestSchema,
  PredictResponseSchema,
  pageSchema,
  type PredictRequest,
} from '../../domain/schemas.js';
import { ModelExportSchema } from '../../domain/model-export.js';
import type { ModelService } from '../../domain/services.js';
import { createOnceFromJson, IdempotencyKeyHeaderSchema, type IdempotencyRunner } from '../idempotency.js';
import { json, problems, tenantOf } from './common.js';

const ExportQuerySchema = z
  .object({
    format: z
      .enum(['json', 'onnx'])
      .default('json')
      .describe('`json`: the portable document for POST /v1/models/import; `onnx`: an ONNX model'),
  })
  .strict();

const EXPORT_DESCRIPTION = [
  '`format=json` (default): the versioned, self-contained document (`format: "backprop.model"`,',
  '`version: 1`): the model description with its metrics, the fitted encoder (imputation values,',
  'scaling, one-hot categories, classes, target scaling) and the network (layer sizes, activations,',
  'weights as base64 little-endian float32). `POST /v1/models/import` on any deployment takes it',
  'back and predicts exactly the same, bit for bit.',
  '',
  '`format=onnx`: `application/octet-stream`, an ONNX model (IR 7; opsets ai.onnx 13, ai.onnx.ml 2)',
  'of the whole pipeline. One input per feature named as its column: numeric `float32 [N, 1]` with',
  'NaN for missing, categorical `string [N, 1]` (exact category text; empty = missing). Outputs:',
  '`probabilities float32 [N, classes]` and `label string [N]` for classification, `value float32',
  '[N, 1]` in the target units for regression. Matches the service within 1e-5.',
].join('\n');

const IMPORT_DESCRIPTION = [
  'Creates a model of this tenant from a document of `GET /v1/models/{id}/export?format=json`. The',
  'encoder and network are checked to load and fit each other (422 naming what does not). The new',
  'model gets a new id; `importedFrom` keeps the original id and times. `Idempotency-Key` works as',
  'on `POST /v1/training-jobs`.',
].join('\n');

/** Prediction bodies hold up to 10,000 rows, more than the 1 MiB JSON default. */
export const PREDICT_BODY_LIMIT = 16 * 1024 * 1024;

const PREDICT_DESCRIPTION = [
  'Rows carry raw values as in the CSV, keyed by column name (any name the upload accepted:',
  '`constructor`, `__proto__`, names with spaces or dots); the model applies its own preprocessing.',
  'Numeric features take numbers or numeric strings; categorical ones strings (as written in the',
  'file, so `"02139"`, not `2139`); boolean ones JSON `true`/`false` or the strings true/false,',
  'yes/no, 1/0 in any case; datetime ones ISO dates. An absent, null or missing-marker value is',
  'imputed as in training; a category not seen in training is encoded exactly as a missing one',
  "(or refused with 400, if the model's `unknownCategory` is `error`). Each row that needed that,",
  'or that carries keys the model does not use, gets an entry in `warnings`',
  "(`imputed`, `unseenCategory`, `unknownColumns`). A row with none of the model's features is a 400",
  'naming the row, and a value of the wrong type a 400 naming `rows[i].column`. Classification',
  'answers `{label, probabilities}` per row with the labels as written in the file, regression `{value}`.',
].join('\n');

const importModelRoute = (maxImportBytes: number) => ({
  bodyLimit: maxImportBytes,
  schema: {
    tags: ['models'],
    operationId: 'importModel',
    summary: 'Import a model from an export document',
    description: IMPORT_DESCRIPTION,
    headers: z.looseObject({ 'idempotency-key': IdempotencyKeyHeaderSchema }),
    body: ModelExportSchema,
    response: {
      201: json('The imported model', ModelSchema),
      ...problems(400, 409, 413, 415, 422),
    },
  },
});

const exportModelRoute = {
  schema: {
    tags: ['models'],
    operationId: 'exportModel',
    summary: 'Export a model as portable JSON or ONNX',
    description: EXPORT_DESCRIPTION,
    params: IdParamsSchema,
    querystring: ExportQuerySchema,
    response: {
      200: {
        description: 'The export: JSON document, or ONNX bytes for format=onnx',
        content: {
          'application/json': { schema: ModelExportSchema },
          'application/octet-stream': { schema: z.string().describe('ONNX ModelProto bytes') },
        },
      },
      ...problems(400, 404, 422),
    },
  },
};

const listModelsRoute = {
  schema: {
    tags: ['models'],
    operationId: 'listModels',
    summary: 'List models, newest first',
    description: [
      "Models of a hyperparameter search's trial runs are left out unless `tuningJobId` names their",
      'search; then only that search’s models are listed (its trial runs’ and its refit, the result).',
    ].join('\n'),
    querystring: ModelListQuerySchema,
    response: {
      200: json('A page of models, newest first', pageSchema(ModelSchema)),
      ...problems(400),
    },
  },
};

const getModelRoute = {
  schema: {
    tags: ['models'],
    operationId: 'getModel',
    summary: 'Get a model with its metrics',
    params: IdParamsSchema,
    response: { 200: json('The model with its metrics', ModelSchema), ...problems(400, 404) },
  },
};

const deleteModelRoute = {
  schema: {
    tags: ['models'],
    operationId: 'deleteModel',
    summary: 'Delete a model and its weights',
    params: IdParamsSchema,
    response: { 204: z.null().describe('Deleted'), ...problems(400, 404) },
  },
};

const predictRoute = {
  bodyLimit: PREDICT_BODY_LIMIT,
  config: { nullPrototypeJson: true },
  preValidation: keepRawRows,
  schema: {
    tags: ['models'],
    operationId: 'predict',
    summary: 'Predict with a model',
    description: PREDICT_DESCRIPTION,
    params: IdParamsSchema,
    body: PredictRequestSchema,
    response: {
      200: json('One prediction per row, in order', PredictResponseSchema),
      ...problems(400, 404, 413, 415, 422),
    },
  },
};

const predictCsvRoute = {
  bodyLimit: PREDICT_BODY_LIMIT,
  config: { nullPrototypeJson: true },
  preValidation: keepRawRows,
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
};

export const modelRoutes =
  (deps: {
    models: ModelService;
    idempotency: IdempotencyRunner;
    maxImportBytes: number;
  }): FastifyPluginAsyncZod =>
  async (app) => {
    const { models, idempotency } = deps;

    app.post('/models/import', importModelRoute(deps.maxImportBytes), async (request, reply) => {
      const tenant = tenantOf(request);
      const model = await createOnceFromJson(
        idempotency,
        reply,
        {
          tenant,
          scope: 'model-import',
          key: request.headers['idempotency-key'],
          body: request.body,
          status: 201,
        },
        () => models.importModel(tenant, request.body),
      );
      // The new model lives at /v1/models/{id}, not under the /import action the generic
      // Location convention would append the id to (conventions.ts).
      const modelsPath = request.url.split('?')[0].replace(/\/import\/*$/, '');
      reply.header('location', `${modelsPath}/${encodeURIComponent(model.id)}`);
      return reply.send(model);
    });

    app.get('/models/:id/export', exportModelRoute, async (request, reply) => {
      const tenant = tenantOf(request);
      const { id } = request.params;
      if (request.query.format === 'onnx') {
        const bytes = await models.exportOnnx(tenant, id);
        return reply
          .type('application/octet-stream')
          .header('content-disposition', `attachment; filename="${id}.onnx"`)
          .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as never); // bytes skip the JSON serializer
      }
      const doc = await models.exportJson(tenant, id);
      return reply.header('content-disposition', `attachment; filename="${id}.json"`).send(doc);
    });

    app.get('/models', listModelsRoute, async (request) => models.list(tenantOf(request), request.query));

    app.get('/models/:id', getModelRoute, async (request) =>
      models.get(tenantOf(request), request.params.id),
    );

    app.delete('/models/:id', deleteModelRoute, async (request, reply) => {
      await models.remove(tenantOf(request), request.params.id);
      return reply.code(204).send(null);
    });

    app.post('/models/:id/predict', predictRoute, async (request) =>
      models.predict(tenantOf(request), request.params.id, withRawRows(request)),
    );

    app.post('/models/:id/predict.csv', predictCsvRoute, async (request, reply) => {
      const csv = await models.predictCsv(tenantOf(request), request.params.id, withRawRows(request));
      return reply.type('text/csv; charset=utf-8').send(csv);
    });
  };

// The body as parsed (null-prototype rows with every key), before schema validation rebuilds the
// rows as plain objects, where a `__proto__` key would be lost.
const rawRows = new WeakMap<object, unknown>();

async function keepRawRows(request: FastifyRequest): Promise<void> {
  const body = request.body as { rows?: unknown } | null;
  if (body && typeof body === 'object' && Array.isArray(body.rows)) rawRows.set(request, body.rows);
}

/** The validated request with the rows exactly as parsed. */
function withRawRows(request: FastifyRequest & { body: PredictRequest }): PredictRequest {
  const rows = rawRows.get(request);
  return rows ? { ...request.body, rows: rows as PredictRequest['rows'] } : request.body;
}
