// /v1/datasets: upload (multipart or text/csv, streamed, never buffered), list, get, delete.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  DatasetSchema,
  IdParamsSchema,
  ListQuerySchema,
  ReadOptionsSchema,
  pageSchema,
} from '../../domain/schemas.js';
import { ReadOptionsQuerySchema, readOptionsFrom } from './read-options.js';
import type { DatasetService } from '../../domain/services.js';
import { IdempotencyKeyHeaderSchema, type IdempotencyRunner } from '../idempotency.js';
import { DATASET_NAME_MAX, DatasetNameSchema, openUpload, requireUploadMediaType } from '../upload.js';
import { json, problems, tenantOf } from './common.js';

const UPLOAD_DESCRIPTION = [
  'Uploads a CSV whose first row is the header, either as `multipart/form-data` (the file in field',
  '`file`, an optional `name` field before or after it) or as the raw body with',
  '`Content-Type: text/csv` (optional `?name=`). The default name is the file name without its',
  'extension, else "dataset". Files beyond the upload, column, row or line limits are refused with',
  '413; a file that is no table (empty, header only, rows of the wrong width, broken quoting, not',
  'text) with 422 naming the row.',
  '',
  'Reading options, as query parameters or as multipart fields (before or after the file):',
  '`delimiter` (`,` `;` `\\t` or `|`, detected when absent), `decimal` (`.` or `,`; by default `.` in',
  'comma-separated files and either mark otherwise), `charset` (default utf-8, or the `charset` parameter',
  "of `Content-Type: text/csv; charset=…`, or in a form a `charset` field: the file part's own",
  'Content-Type is not read; utf-16le/be, windows-1252, iso-8859-1 and every WHATWG label; a BOM',
  'takes precedence), `missingValues` (a JSON array, or markers separated by `|`,',
  'replacing the defaults: empty, NA, N/A, #N/A, NaN, null, None, ? and -, in any case) and',
  '`columnTypes` (a JSON object, or `name:type` pairs separated by commas; types numeric, categorical,',
  'boolean, datetime). The dataset lists the format it was read with and its `warnings`.',
  '',
  '`Idempotency-Key` (optional, 1-255 visible ASCII characters, kept 24 h per tenant): a retry with',
  'the same key, name and bytes answers the original 201 and dataset without creating another; the',
  'same key with a different file or name answers 422. Concurrent requests with one key wait for the',
  'first, so exactly one dataset is created.',
].join('\n');

/**
 * The OpenAPI body of the upload (also the upload form of POST /v1/batch-predictions); Fastify does
 * not validate it (the route reads the stream itself).
 */
export const UPLOAD_OPENAPI_BODY = {
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['file'],
        properties: {
          name: {
            type: 'string',
            minLength: 1,
            maxLength: DATASET_NAME_MAX,
            description: 'Dataset name (default: the file name without its extension)',
          },
          file: { type: 'string', format: 'binary', description: 'The CSV file' },
        },
      },
    },
    'text/csv': { schema: { type: 'string', description: 'The CSV text, header first' } },
  },
};

const createDatasetRoute = {
  config: { openapiBody: UPLOAD_OPENAPI_BODY },
  preParsing: requireUploadMediaType,
  schema: {
    tags: ['datasets'],
    operationId: 'createDataset',
    summary: 'Upload a CSV dataset',
    description: UPLOAD_DESCRIPTION,
    querystring: ReadOptionsQuerySchema.extend({ name: DatasetNameSchema.optional() }).strict(),
    headers: z.looseObject({ 'idempotency-key': IdempotencyKeyHeaderSchema }),
    response: {
      201: json('The dataset with its column statistics', DatasetSchema),
      ...problems(400, 413, 415, 422),
    },
  },
};

const listDatasetsRoute = {
  schema: {
    tags: ['datasets'],
    operationId: 'listDatasets',
    summary: 'List datasets, newest first',
    querystring: ListQuerySchema,
    response: {
      200: json('A page of datasets, newest first', pageSchema(DatasetSchema)),
      ...problems(400),
    },
  },
};

const getDatasetRoute = {
  schema: {
    tags: ['datasets'],
    operationId: 'getDataset',
    summary: 'Get a dataset with its column statistics',
    params: IdParamsSchema,
    response: { 200: json('The dataset', DatasetSchema), ...problems(400, 404) },
  },
};

const updateDatasetRoute = {
  // columnTypes is keyed by column names, which may be `constructor` or `__proto__`.
  config: { nullPrototypeJson: true },
  schema: {
    tags: ['datasets'],
    operationId: 'updateDataset',
    summary: 'Rename a dataset, or read its file again with other options',
    description: [
      'Changes the name, and/or re-reads the stored file with changed reading options (the same',
      'as at upload): `columnTypes` are merged over the current ones, `missingValues` replaces',
      'them (null restores the defaults), `delimiter`, `decimal` and `charset` replace theirs.',
      'The answer carries the new column types, statistics and warnings. Jobs submitted before',
      'keep the format they were submitted with; a job can also set `columnTypes` for itself.',
    ].join('\n'),
    params: IdParamsSchema,
    body: ReadOptionsSchema.extend({ name: DatasetNameSchema.optional() }).strict(),
    response: {
      200: json('The dataset as it now reads', DatasetSchema),
      ...problems(400, 404, 413, 422),
    },
  },
};

const deleteDatasetRoute = {
  schema: {
    tags: ['datasets'],
    operationId: 'deleteDataset',
    summary: 'Delete a dataset and its file',
    description:
      'Refused with 409 while queued or running training jobs, tuning searches or batch predictions read the dataset; the problem lists their ids in `errors`.',
    params: IdParamsSchema,
    response: { 204: z.null().describe('Deleted'), ...problems(400, 404, 409) },
  },
};

export const datasetRoutes =
  (deps: { datasets: DatasetService; idempotency: IdempotencyRunner }): FastifyPluginAsyncZod =>
  async (app) => {
    const { datasets, idempotency } = deps;

    app.post('/datasets', createDatasetRoute, async (request, reply) => {
      const { name: queryName, ...query } = request.query;
      const upload = await openUpload(
        request,
        queryName,
        (body) => datasets.drain(body),
        readOptionsFrom(query, request.headers['content-type']),
      );
      const result = await idempotency.run({
        tenant: tenantOf(request),
        scope: 'datasets',
        key: request.headers['idempotency-key'],
        create: async () => ({
          status: 201,
          body: await datasets.create(tenantOf(request), {
            name: 'dataset',
            body: upload.body,
            resolveName: upload.name,
            resolveOptions: upload.options,
          }),
        }),
        fingerprint: upload.fingerprint,
      });
      await upload.finish();
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(result.status as 201).send(result.body as z.infer<typeof DatasetSchema>);
    });

    app.get('/datasets', listDatasetsRoute, async (request) =>
      datasets.list(tenantOf(request), request.query),
    );

    app.get('/datasets/:id', getDatasetRoute, async (request) =>
      datasets.get(tenantOf(request), request.params.id),
    );

    app.patch('/datasets/:id', updateDatasetRoute, async (request) =>
      datasets.update(tenantOf(request), request.params.id, request.body),
    );

    app.delete('/datasets/:id', deleteDatasetRoute, async (request, reply) => {
      await datasets.remove(tenantOf(request), request.params.id);
      return reply.code(204).send(null);
    });
  };
