// /v1/batch-predictions: score a whole dataset with a model in a queued job; follow it, cancel it,
// download its result CSV as a stream.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  BatchListQuerySchema,
  BatchPredictionRequestSchema,
  BatchPredictionSchema,
  type BatchPredictionService,
} from '../../domain/batch-predictions.js';
import { InvalidRequestError } from '../../domain/errors.js';
import { IdParamsSchema, pageSchema } from '../../domain/schemas.js';
import type { DatasetService } from '../../domain/services.js';
import {
  canonicalJson,
  createOnceFromJson,
  IdempotencyKeyHeaderSchema,
  sha256Hex,
  type IdempotencyRunner,
} from '../idempotency.js';
import { isJsonMediaType } from '../plugins/conventions.js';
import { DatasetNameSchema, openUpload } from '../upload.js';
import { json, problems, tenantOf } from './common.js';
import { UPLOAD_OPENAPI_BODY } from './datasets.js';
import { ReadOptionsQuerySchema, readOptionsFrom } from './read-options.js';

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
  '',
  'To score a file not uploaded yet, send it in the same call, as for POST /v1/datasets (multipart',
  'field `file`, or the raw body with `Content-Type: text/csv`), with `?modelId=` and optionally',
  '`?keepColumns=id,name` (or a JSON array), `?name=` and the reading options. The file is stored as',
  'a dataset of its own (its id is the job’s `datasetId`) with the upload’s limits and checks (413,',
  '422 naming the row); a job that cannot be submitted removes it again.',
].join('\n');

/** The query of a submit that uploads its file: the model, the kept columns, the upload's options. */
const UploadQuerySchema = ReadOptionsQuerySchema.extend({
  modelId: z.string().min(1).max(100).optional().describe('With an uploaded file: the model that scores it'),
  keepColumns: z
    .string()
    .max(100_000)
    .optional()
    .describe('With an uploaded file: columns to keep, separated by commas, or a JSON array'),
  name: DatasetNameSchema.optional().describe('With an uploaded file: the name of its dataset'),
}).strict();

const requestJsonSchema = (
  z.toJSONSchema(BatchPredictionRequestSchema, { io: 'input' }) as {
    $defs: Record<string, unknown>;
  }
).$defs.BatchPredictionRequest;

/** The OpenAPI body: the JSON request, or an upload of the file to score (validated by the handler). */
const SUBMIT_OPENAPI_BODY = {
  required: true,
  content: { 'application/json': { schema: requestJsonSchema }, ...UPLOAD_OPENAPI_BODY.content },
};

/** keepColumns of the query: a JSON array of names, or names separated by commas. */
function keepColumnsFrom(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  let list: unknown = text.split(',').map((c) => c.trim());
  if (text.trim().startsWith('[')) {
    try {
      list = JSON.parse(text);
    } catch {
      list = null;
    }
  }
  const parsed = BatchPredictionRequestSchema.shape.keepColumns.safeParse(list);
  if (!parsed.success)
    throw new InvalidRequestError('keepColumns: a JSON array or comma-separated column names', [
      { path: 'keepColumns', message: parsed.error.issues[0]?.message ?? 'Invalid value' },
    ]);
  return parsed.data;
}

/** The JSON body checked against the request schema; 400 naming each bad field. */
function jsonRequest(body: unknown) {
  const parsed = BatchPredictionRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
  throw new InvalidRequestError(`Invalid body: ${errors.map((e) => e.path).join(', ')}`, errors);
}

interface SubmitDeps {
  batch: BatchPredictionService;
  datasets: DatasetService;
  idempotency: IdempotencyRunner;
}

/** A submit with the file in the request: stored as a dataset, then scored. */
async function submitUpload(
  deps: SubmitDeps,
  request: FastifyRequest,
  query: z.infer<typeof UploadQuerySchema>,
  reply: FastifyReply,
) {
  const { modelId, keepColumns: keepText, name, ...options } = query;
  const key = request.headers['idempotency-key'] as string | undefined;
  if (!modelId)
    throw new InvalidRequestError('modelId is required in the query when the file is uploaded', [
      { path: 'modelId', message: 'Required' },
    ]);
  const keepColumns = keepColumnsFrom(keepText);
  const upload = await openUpload(
    request,
    name,
    (body) => deps.datasets.drain(body),
    readOptionsFrom(options, request.headers['content-type']),
  );
  const tenant = tenantOf(request);
  const result = await deps.idempotency.run({
    tenant,
    scope: 'batch-predictions',
    key,
    create: async () => ({
      status: 202,
      body: await deps.batch.submitUpload(tenant, {
        modelId,
        keepColumns,
        dataset: {
          name: 'dataset',
          body: upload.body,
          resolveName: upload.name,
          resolveOptions: upload.options,
        },
      }),
    }),
    fingerprint: async () => sha256Hex(canonicalJson({ modelId, keepColumns }), await upload.fingerprint()),
  });
  await upload.finish();
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(result.status).send(result.body as z.infer<typeof BatchPredictionSchema>);
}

/** POST /batch-predictions: a JSON request naming a stored dataset, or the file itself. */
function registerSubmit(app: FastifyInstance, deps: SubmitDeps) {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/batch-predictions',
    {
      config: { openapiBody: SUBMIT_OPENAPI_BODY },
      schema: {
        tags: ['batch-predictions'],
        operationId: 'createBatchPrediction',
        summary: 'Score a whole dataset (stored, or uploaded in this call) with a model, as a queued job',
        description: SUBMIT_DESCRIPTION,
        querystring: UploadQuerySchema,
        headers: z.looseObject({ 'idempotency-key': IdempotencyKeyHeaderSchema }),
        response: {
          202: json('The queued job', BatchPredictionSchema),
          ...problems(400, 409, 413, 415, 422),
        },
      },
    },
    async (request, reply) => {
      if (!isJsonMediaType(request.headers['content-type'] ?? ''))
        return submitUpload(deps, request, request.query, reply);
      if (Object.keys(request.query).length > 0)
        throw new InvalidRequestError(
          'query parameters are for uploads; a JSON request names everything in its body',
        );
      const body = jsonRequest(request.body);
      const tenant = tenantOf(request);
      const job = await createOnceFromJson(
        deps.idempotency,
        reply,
        { tenant, scope: 'batch-predictions', key: request.headers['idempotency-key'], body, status: 202 },
        () => deps.batch.submit(tenant, body),
      );
      return reply.header('location', `/v1/batch-predictions/${job.id}`).send(job);
    },
  );
}

export const batchPredictionRoutes =
  (deps: SubmitDeps): FastifyPluginAsyncZod =>
  async (app) => {
    registerSubmit(app, deps);
    const { batch } = deps;
    const tags = ['batch-predictions'];

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
    registerResult(app, batch);
  };

/** GET /batch-predictions/{id}/result: the result CSV, streamed part after part. */
function registerResult(app: FastifyInstance, batch: BatchPredictionService) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/batch-predictions/:id/result',
    {
      schema: {
        tags: ['batch-predictions'],
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
}
