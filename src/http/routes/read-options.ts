// The reading options of an upload as they arrive over HTTP: query parameters or multipart fields
// (strings), and the charset parameter of `Content-Type: text/csv; charset=…`.
import { z } from 'zod';
import { charsetName } from '../../domain/datasets.js';
import { InvalidRequestError } from '../../domain/errors.js';
import { ColumnTypeSchema, ReadOptionsSchema, type ReadOptions } from '../../domain/schemas.js';

export const READ_OPTION_FIELDS: ReadonlySet<string> = new Set([
  'delimiter',
  'decimal',
  'charset',
  'missingValues',
  'columnTypes',
]);

/** The options as query parameters (documented in the upload's description). */
export const ReadOptionsQuerySchema = z.object({
  delimiter: z.string().max(10).optional().describe('`,` `;` `\\t` (or a tab) or `|`; detected when absent'),
  decimal: z.string().max(1).optional().describe('`.` or `,`'),
  charset: z.string().max(40).optional().describe('e.g. windows-1252; overrides the Content-Type charset'),
  missingValues: z.string().max(10_000).optional().describe('JSON array, or markers separated by `|`'),
  columnTypes: z
    .string()
    .max(100_000)
    .optional()
    .describe('JSON object, or `name:type` pairs separated by commas'),
});

const bad = (field: string, message: string) =>
  new InvalidRequestError(`${field}: ${message}`, [{ path: field, message }]);

function parseJson(field: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw bad(field, 'is not valid JSON');
  }
}

/** `zip:categorical,age:numeric` (the last `:` separates name and type) or a JSON object. */
function columnTypesFrom(text: string): unknown {
  if (text.trim().startsWith('{')) return parseJson('columnTypes', text);
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    if (pair.trim() === '') continue;
    const at = pair.lastIndexOf(':');
    if (at <= 0) throw bad('columnTypes', `"${pair}" is not name:type`);
    const type = pair.slice(at + 1).trim();
    if (!ColumnTypeSchema.safeParse(type).success)
      throw bad('columnTypes', `"${type}" is not one of ${ColumnTypeSchema.options.join(', ')}`);
    Object.defineProperty(out, pair.slice(0, at).trim(), {
      value: type,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** The charset parameter of a Content-Type header, if any. */
function contentTypeCharset(header: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(header ?? '');
  return m ? m[1] : undefined;
}

/**
 * ReadOptions from string fields (query or form) and the Content-Type's charset (a `charset` field
 * wins). Throws a 400 InvalidRequestError naming the field when a value cannot be used.
 */
export function readOptionsFrom(fields: Partial<Record<string, string>>, contentType?: string): ReadOptions {
  const raw: Record<string, unknown> = {};
  const delimiter = fields.delimiter;
  if (delimiter !== undefined) raw.delimiter = delimiter === '\\t' || delimiter === 'tab' ? '\t' : delimiter;
  if (fields.decimal !== undefined) raw.decimal = fields.decimal;
  const charset = fields.charset ?? contentTypeCharset(contentType);
  if (charset !== undefined) {
    const name = charsetName(charset);
    if (name === null)
      throw bad('charset', `"${charset}" is not a known charset (e.g. utf-8, utf-16le, windows-1252)`);
    raw.charset = name;
  }
  const missing = fields.missingValues;
  if (missing !== undefined)
    raw.missingValues = missing.trim().startsWith('[')
      ? parseJson('missingValues', missing)
      : missing.split('|');
  if (fields.columnTypes !== undefined) raw.columnTypes = columnTypesFrom(fields.columnTypes);
  const parsed = ReadOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw bad(issue.path.join('.') || 'options', issue.message);
  }
  return parsed.data;
}
