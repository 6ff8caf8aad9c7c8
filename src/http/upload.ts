// A dataset upload as the route receives it: the CSV as a raw text/csv body or as the `file` part
// of a multipart form (with `name` and reading-option fields before or after it), wrapped in a
// stream that hashes what passes, so an Idempotency-Key can fingerprint the upload without holding
// it. Its bytes are counted against the limit once, by the dataset store that reads them (stored,
// or drained for a replay). Errors of the transport (a malformed or interrupted form) are the client's.
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DomainError, InvalidRequestError } from '../domain/errors.js';
import type { ReadOptions } from '../domain/schemas.js';
import { UnsupportedMediaTypeError } from './plugins/conventions.js';
import { READ_OPTION_FIELDS, readOptionsFrom } from './routes/read-options.js';

/** Longest dataset name, characters. */
export const DATASET_NAME_MAX = 200;
export const DatasetNameSchema = z.string().trim().min(1).max(DATASET_NAME_MAX);

export interface Upload {
  body: Readable;
  /** The dataset name; final once the whole form is read (a `name` field may follow the file). */
  name: () => Promise<string>;
  /** The reading options (query, Content-Type charset and form fields), final once the form is read. */
  options: () => Promise<ReadOptions>;
  /** sha256 of the name, the options and the bytes; reads whatever the service left unread. */
  fingerprint: () => Promise<string>;
  /** Waits until the rest of the request is consumed. */
  finish: () => Promise<void>;
}

type Part =
  | { type: 'field'; fieldname: string; value: unknown }
  | { type: 'file'; fieldname: string; filename: string; file: Readable };

/** What the query said; form fields override it. */
interface UploadDefaults {
  name: string | undefined;
  options: ReadOptions;
  /** Reads a body the service did not store to its end, under the upload limit (413). */
  drain: Drain;
}

/** Reads an unstored upload to its end, counting it against the upload limit (DatasetService.drain). */
export type Drain = (body: Readable) => Promise<void>;

/** How an upload must be sent, for the 415 that refuses any other media type. */
const UPLOAD_MEDIA_TYPES =
  'send the CSV as text/csv (the file itself as the body) or as multipart/form-data with the file in a "file" field';

/** The Content-Type's media type, lower case without parameters; '' when there is none. */
function mediaTypeOf(request: Pick<FastifyRequest, 'headers'>): string {
  return (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * A preParsing hook for upload routes: refuses any media type but text/csv and multipart/form-data
 * with a 415 that says how to send the file, before a body parser reads it (a CSV sent as
 * application/json would otherwise be a "Malformed JSON" 400, and curl's default
 * application/x-www-form-urlencoded Fastify's bare 415).
 */
export async function requireUploadMediaType(request: FastifyRequest): Promise<void> {
  const type = mediaTypeOf(request);
  if (type === 'text/csv' || type === 'multipart/form-data') return;
  throw new UnsupportedMediaTypeError(
    `Content-Type ${type ? `"${type.slice(0, 100)}"` : 'missing'} is not accepted for an upload; ${UPLOAD_MEDIA_TYPES}`,
  );
}

/** Finds the CSV in the request: 415 unless it is text/csv or multipart/form-data. */
export async function openUpload(
  request: FastifyRequest,
  queryName: string | undefined,
  drain: Drain,
  queryOptions: ReadOptions,
): Promise<Upload> {
  const defaults: UploadDefaults = { name: queryName, options: queryOptions, drain };
  const contentType = mediaTypeOf(request);
  if (contentType === 'text/csv') {
    const name = queryName ?? 'dataset';
    const upload = hashed(
      request.body as Readable,
      drain,
      async () => name,
      async () => queryOptions,
    );
    return { ...upload, finish: async () => undefined };
  }
  if (contentType !== 'multipart/form-data' || !request.isMultipart()) {
    throw new UnsupportedMediaTypeError(
      `Content-Type ${contentType ? `"${contentType.slice(0, 100)}"` : 'missing'} is not accepted for an upload; ${UPLOAD_MEDIA_TYPES}`,
    );
  }
  return formUpload(request.parts() as AsyncIterableIterator<unknown>, defaults);
}

/** The form's fields as they arrive: the name and the reading options, each checked at once (400). */
function formFields() {
  const fields: { name?: string; options: Record<string, string> } = { options: {} };
  const take = (part: { fieldname: string; value: unknown }) => {
    if (READ_OPTION_FIELDS.has(part.fieldname)) {
      fields.options[part.fieldname] = String(part.value);
      readOptionsFrom(fields.options); // refuses a bad value now, as a 400
      return;
    }
    if (part.fieldname !== 'name') return;
    const parsed = DatasetNameSchema.safeParse(part.value);
    if (!parsed.success) {
      throw new InvalidRequestError(`name must be 1 to ${DATASET_NAME_MAX} characters`, [
        { path: 'name', message: 'Invalid name' },
      ]);
    }
    fields.name = parsed.data;
  };
  return { fields, take };
}

/** Reads the form up to its `file` part and returns the upload of that file. */
async function formUpload(parts: AsyncIterableIterator<unknown>, defaults: UploadDefaults): Promise<Upload> {
  const form = formFields();
  try {
    for (;;) {
      const next = await parts.next();
      if (next.done || !next.value) break;
      const part = next.value as Part;
      if (part.type === 'field') {
        form.take(part);
        continue;
      }
      if (part.fieldname !== 'file') {
        part.file.resume();
        throw new InvalidRequestError(
          `Unexpected file field "${part.fieldname}"; send the CSV in field "file"`,
          [{ path: part.fieldname, message: 'Unexpected file field' }],
        );
      }
      return fileUpload(part, parts, form, defaults);
    }
  } catch (err) {
    throw uploadError(err);
  }
  throw new InvalidRequestError('The multipart body has no "file" field', [
    { path: 'file', message: 'Required' },
  ]);
}

/** The file part's upload; the rest of the form is read alongside (a `name` may follow the file). */
function fileUpload(
  part: Extract<Part, { type: 'file' }>,
  parts: AsyncIterableIterator<unknown>,
  form: ReturnType<typeof formFields>,
  defaults: UploadDefaults,
): Upload {
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
    defaults.drain,
    async () => {
      await formDone();
      return (
        form.fields.name ?? defaults.name ?? (fromFile ? fromFile.slice(0, DATASET_NAME_MAX) : 'dataset')
      );
    },
    async () => {
      await formDone();
      return { ...defaults.options, ...readOptionsFrom(form.fields.options) };
    },
  );
  // Busboy reports a truncated body ("Unexpected end of multipart data") only to the iterator
  // while the file stream just stalls; destroying the upload with a 400 lets it fail instead of hanging.
  rest = (async () => {
    try {
      for (;;) {
        const next = await parts.next();
        if (next.done) break;
        const p = next.value as Part;
        if (p.type === 'file') p.file.resume();
        else form.take(p);
      }
    } catch (err) {
      restError = uploadError(err);
      if (!upload.body.readableEnded) upload.body.destroy(restError as Error);
    }
  })();
  return { ...upload, finish: () => rest };
}

/**
 * The upload's body: `source` passed through and hashed. The bytes are counted where they are
 * read: by the store as it stages the file, or, for a replayed request whose body only the
 * fingerprint needs, by `drain`.
 */
function hashed(
  source: Readable,
  drain: Drain,
  name: () => Promise<string>,
  options: () => Promise<ReadOptions>,
): Omit<Upload, 'finish'> {
  const hash = createHash('sha256');
  const body = new PassThrough({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  source.once('error', (err) => body.destroy(uploadError(err) as Error));
  source.once('aborted', () => body.destroy(new InvalidRequestError('The upload was interrupted')));
  source.pipe(body);
  let digest: Promise<string> | undefined;
  const fingerprint = () => {
    digest ??= (async () => {
      if (!body.readableEnded) await drain(body);
      const bytesDigest = hash.digest('hex');
      return createHash('sha256')
        .update(`${await name()}\0${optionsKey(await options())}${bytesDigest}`, 'utf8')
        .digest('hex');
    })();
    return digest;
  };
  return { body, name, options, fingerprint };
}

/** The reading options' part of an upload's fingerprint: nothing when there are none (as before they existed). */
function optionsKey(options: ReadOptions): string {
  return Object.keys(options).length > 0 ? `${JSON.stringify(options)}\0` : '';
}

/** Node's errno codes of a client connection that went away mid-upload. */
const INTERRUPTED = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Errors raised while reading a multipart body are the client's: 400, or 413 for the limits. */
function uploadError(err: unknown): unknown {
  if (err instanceof DomainError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  // The form's limit is one file: a second file part is a malformed upload, not a large one.
  if (code === 'FST_FILES_LIMIT')
    return new InvalidRequestError('Send one file per upload: the form has more than one file part', [
      { path: 'file', message: 'one file per upload' },
    ]);
  if (typeof code === 'string' && code.startsWith('FST_')) return err;
  if (typeof code === 'string' && INTERRUPTED.has(code))
    return new InvalidRequestError('The upload was interrupted');
  const message = err instanceof Error ? err.message : String(err);
  return new InvalidRequestError(`Malformed multipart body: ${message}`);
}
