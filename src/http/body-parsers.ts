// Request body parsers. JSON: refuses `__proto__` and `constructor` keys (prototype poisoning) and
// nesting deeper than MAX_JSON_DEPTH (no schema here goes beyond a handful of levels), both as 400.
// Routes whose config says `nullPrototypeJson` (prediction rows, and the job spec's and PATCH's
// columnTypes, keyed by the dataset's column names) take every key instead, into objects without a prototype, so a column named `constructor`
// or `__proto__` is an ordinary key there and can pollute nothing.
// CSV: the raw request stream is handed to the route unread, so an upload is never buffered.
import type { FastifyInstance } from 'fastify';
import { InvalidRequestError } from '../domain/errors.js';

export const MAX_JSON_DEPTH = 32;

/** The deepest nesting of objects and arrays in JSON text, stopping early past max. */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}

/** A copy of a parsed JSON object without a prototype: every key, `__proto__` included, an own data property. */
function nullPrototype(value: object): object {
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    Object.defineProperty(out, key, {
      value: (value as Record<string, unknown>)[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

export function parseJsonSafely(text: string, maxDepth = MAX_JSON_DEPTH, anyKey = false): unknown {
  if (text.trim() === '') return undefined;
  if (jsonDepthExceeds(text, maxDepth)) {
    throw new InvalidRequestError(`JSON body is nested deeper than ${maxDepth} levels`);
  }
  try {
    return JSON.parse(text, function reviver(key, value: unknown) {
      if (anyKey)
        return value !== null && typeof value === 'object' && !Array.isArray(value)
          ? nullPrototype(value)
          : value;
      if (key === '__proto__' || key === 'constructor') throw new ForbiddenKeyError(key);
      return value;
    });
  } catch (err) {
    if (err instanceof ForbiddenKeyError) {
      throw new InvalidRequestError(`JSON body contains a forbidden key "${err.key}"`, [
        { path: err.key, message: 'Forbidden key' },
      ]);
    }
    throw new InvalidRequestError(`Malformed JSON body: ${(err as Error).message}`);
  }
}

class ForbiddenKeyError extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

export function registerBodyParsers(
  app: Pick<FastifyInstance, 'addContentTypeParser' | 'removeContentTypeParser'>,
): void {
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    try {
      const anyKey = req.routeOptions.config.nullPrototypeJson === true;
      done(null, parseJsonSafely(body as string, MAX_JSON_DEPTH, anyKey));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('text/csv', (_req, payload, done) => done(null, payload));
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's JSON body may use any key (null-prototype objects); see the header comment. */
    nullPrototypeJson?: boolean;
  }
}
