// /v1/datasets: upload (multipart or text/csv, streamed, never buffered), list, get, delete.
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DomainError, InvalidRequestError, TooLargeError } from '../../domain/errors.js';
import {
  DatasetSchema,
  IdParamsSchema,
  ListQuerySchema,
  ReadOptionsSchema,
  pageSchema,
  type ReadOptions,
} from '../../domain/schemas.js';
import { READ_OPTION_FIELDS, ReadOptionsQuerySchema, readOptionsFrom } from './read-options.js';
import type { DatasetService } from '../../domain/services.js';
import { IdempotencyKeyHeaderSchema, type IdempotencyRunner } from '../idempotency.js';
import { json, problems, tenantOf } from './common.js';

export const DatasetNameSchema = z.string().trim().min(1).max(200);

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
  'of `Content-Type: text/csv; charset=…`; utf-16le/be, windows-1252, iso-8859-1 and every WHATWG',
  'label; a BOM takes precedence), `missingValues` (a JSON array, or markers separated by `|`,',
  'replacing the defaults: empty, NA, N/A, #N/A, NaN, null, None, ? and -, in any case) and',
  '`columnTypes` (a JSON object, or `name:type` pairs separated by commas; types numeric, categorical,',
  'boolean, datetime). The dataset lists the format it was read with and its `warnings`.',
  '',
  '`Idempotency-Key` (optional, 1-255 visible ASCII characters, kept 24 h per tenant): a retry with',
  'the same key, name and bytes answers the original 201 and dataset without creating another; the',
  'same key with a different file or name answers 422. Concurrent requests with one key wait for the',
  'first, so exactly one dataset is created.',
].join('\n');

/** The OpenAPI body of the upload; Fastify does not validate it (the route reads the stream itself). */
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
            maxLength: 200,
            description: 'Dataset name (default: the file name without its extension)',
          },
          file: { type: 'string', format: 'binary', description: 'The CSV file' },
        },
      },
    },
    'text/csv': { schema: { type: 'string', description: 'The CSV text, header first' } },
  },
};

interface Upload {
  body: Readable;
  /** The dataset name; final once the whole form is read (a `name` field may follow the file). */
  name: () => Promise<string>;
  /** The reading options (query, Content-Type charset and form fields), final once the form is read. */
  options: () => Promise<ReadOptions>;
  /** sha256 of the name and the bytes; reads whatever the service left unread. */
  fingerprint: () => Promise<string>;
  /** Waits until the rest of the request is consumed. */
  finish: () => Promise<void>;
}

export const datasetRoutes =
  (deps: {
    datasets: DatasetService;
    idempotency: IdempotencyRunner;
    maxUploadBytes: number;
  }): FastifyPluginAsyncZod =>
  async (app) => {
    const { datasets, idempotency } = deps;

    app.post(
      '/datasets',
      {
        config: { openapiBody: UPLOAD_OPENAPI_BODY },
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
      },
      async (request, reply) => {
        const { name: queryName, ...query } = request.query;
        const upload = await openUpload(
          request,
          queryName,
          deps.maxUploadBytes,
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
      },
    );

    app.get(
      '/datasets',
      {
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
      },
      async (request) => datasets.list(tenantOf(request), request.query),
    );

    app.get(
      '/datasets/:id',
      {
        schema: {
          tags: ['datasets'],
          operationId: 'getDataset',
          summary: 'Get a dataset with its column statistics',
          params: IdParamsSchema,
          response: { 200: json('The dataset', DatasetSchema), ...problems(400, 404) },
        },
      },
      async (request) => datasets.get(tenantOf(request), request.params.id),
    );

    app.patch(
      '/datasets/:id',
      {
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
      },
      async (request) => datasets.update(tenantOf(request), request.params.id, request.body),
    );

    app.delete(
      '/datasets/:id',
      {
        schema: {
          tags: ['datasets'],
          operationId: 'deleteDataset',
          summary: 'Delete a dataset and its file',
          description:
            'Refused with 409 while queued or running training jobs or tuning searches read the dataset; the problem lists their ids in `errors`.',
          params: IdParamsSchema,
          response: { 204: z.null().describe('Deleted'), ...problems(400, 404, 409) },
        },
      },
      async (request, reply) => {
        await datasets.remove(tenantOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };

/** Finds the CSV in the request and wraps it in a stream that hashes what passes through. */
async function openUpload(
  request: FastifyRequest,
  queryName: string | undefined,
  maxBytes: number,
  queryOptions: ReadOptions,
): Promise<Upload> {
  const contentType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (contentType === 'text/csv') {
    const name = queryName ?? 'dataset';
    return {
      ...hashed(
        request.body as Readable,
        maxBytes,
        async () => name,
        async () => queryOptions,
      ),
      finish: async () => undefined,
    };
  }
  if (contentType !== 'multipart/form-data' || !request.isMultipart()) {
    throw new UnsupportedMediaTypeError(
      `Content-Type must be multipart/form-data or text/csv, not ${contentType || 'missing'}`,
    );
  }
  let fieldName: string | undefined;
  const formOptions: Record<string, string> = {};
  const takeField = (part: { fieldname: string; value: unknown }) => {
    if (READ_OPTION_FIELDS.has(part.fieldname)) {
      formOptions[part.fieldname] = String(part.value);
      readOptionsFrom(formOptions); // refuses a bad value now, as a 400
      return;
    }
    if (part.fieldname !== 'name') return;
    const parsed = DatasetNameSchema.safeParse(part.value);
    if (!parsed.success) {
      throw new InvalidRequestError('name must be 1 to 200 characters', [
        { path: 'name', message: 'Invalid name' },
      ]);
    }
    fieldName = parsed.data;
  };
  type Part =
    | { type: 'field'; fieldname: string; value: unknown }
    | { type: 'file'; fieldname: string; filename: string; file: Readable };
  let parts: AsyncIterableIterator<unknown>;
  try {
    parts = request.parts() as AsyncIterableIterator<unknown>;
    for (;;) {
      const next = await parts.next();
      if (next.done || !next.value) break;
      const part = next.value as Part;
      if (part.type === 'field') {
        takeField(part);
        continue;
      }
      if (part.fieldname !== 'file') {
        part.file.resume();
        throw new InvalidRequestError(
          `Unexpected file field "${part.fieldname}"; send the CSV in field "file"`,
          [{ path: part.fieldname, message: 'Unexpected file field' }],
        );
      }
      const fromFile = part.filename
        ? part.filename
            .replace(/^.*[\\/]/, '')
            .replace(/\.[^.]*$/, '')
            .trim()
        : '';
      let restError: unknown = null;
      let rest: Promise<void> = Promise.resolve();
      const formDone = async () => {
        await rest;
        if (restError) throw restError;
      };
      const upload = hashed(
        part.file,
        maxBytes,
        async () => {
          await formDone();
          return fieldName ?? queryName ?? (fromFile ? fromFile.slice(0, 200) : 'dataset');
        },
        async () => {
          await formDone();
          return { ...queryOptions, ...readOptionsFrom(formOptions) };
        },
      );
      // Read the rest of the form now: a `name` field may follow the file, and busboy reports a
      // truncated body ("Unexpected end of multipart data") only to the iterator while the file
      // stream just stalls; destroying the upload with a 400 lets it fail instead of hanging.
      rest = (async () => {
        try {
          for (;;) {
            const next = await parts.next();
            if (next.done) break;
            const p = next.value as Part;
            if (p.type === 'file') p.file.resume();
            else takeField(p);
          }
        } catch (err) {
          restError = uploadError(err);
          if (!upload.body.readableEnded) upload.body.destroy(restError as Error);
        }
      })();
      return { ...upload, finish: () => rest };
    }
  } catch (err) {
    throw uploadError(err);
  }
  throw new InvalidRequestError('The multipart body has no "file" field', [
    { path: 'file', message: 'Required' },
  ]);
}

function hashed(
  source: Readable,
  maxBytes: number,
  name: () => Promise<string>,
  options: () => Promise<ReadOptions>,
): Omit<Upload, 'finish'> {
  const hash = createHash('sha256');
  let bytes = 0;
  const body = new PassThrough({
    transform(chunk: Buffer, _enc, callback) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        return callback(new TooLargeError(`The upload is larger than the limit of ${maxBytes} bytes`));
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  source.once('error', (err) => body.destroy(uploadError(err) as Error));
  source.once('aborted', () => body.destroy(new InvalidRequestError('The upload was interrupted')));
  source.pipe(body);
  let digest: Promise<string> | undefined;
  return {
    body,
    name,
    options,
    fingerprint() {
      digest ??= (async () => {
        if (!body.readableEnded) {
          body.resume();
          await finished(body);
        }
        const bytesDigest = hash.digest('hex');
        return createHash('sha256')
          .update(`${await name()}\0${optionsKey(await options())}${bytesDigest}`, 'utf8')
          .digest('hex');
      })();
      return digest;
    },
  };
}

/** The reading options' part of an upload's fingerprint: nothing when there are none (as before they existed). */
function optionsKey(options: ReadOptions): string {
  return Object.keys(options).length > 0 ? `${JSON.stringify(options)}\0` : '';
}

/** Errors raised while reading a multipart body are the client's: 400, or 413 for the limits. */
function uploadError(err: unknown): unknown {
  if (err instanceof DomainError) return err;
  const code = (err as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('FST_')) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/aborted|ECONNRESET/i.test(message)) return new InvalidRequestError('The upload was interrupted');
  return new InvalidRequestError(`Malformed multipart body: ${message}`);
}

export class UnsupportedMediaTypeError extends DomainError {
  readonly status = 415;
  readonly title = 'Unsupported Media Type';
}
