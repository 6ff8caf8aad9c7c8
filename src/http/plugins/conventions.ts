// HTTP conventions every route follows without repeating them:
// - 415 when a route that takes JSON is sent another media type (API.md: JSON bodies only);
// - 415 with Accept-Encoding: identity when a body comes content-coded (gzip …): no route decodes
//   one, and reading compressed bytes as JSON or CSV would only produce a misleading 400 or 422
//   (RFC 9110 §15.5.16);
// - Location on 201 and 202 (the new resource: POST /v1/xs answers /v1/xs/{id});
// - WWW-Authenticate on 401 (RFC 9110 §11.6.1 requires it).
import type { FastifyTypeProvider, RouteOptions } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import type { HttpApp } from './types.js';

export class UnsupportedMediaTypeError extends DomainError {
  readonly status = 415;
  readonly title = 'Unsupported Media Type';
}

export const WWW_AUTHENTICATE = 'Bearer realm="backprop"';

/** True when the Content-Type names JSON (application/json, with or without parameters). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  const essence = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return essence === 'application/json';
}

/** The request's content coding other than identity (e.g. "gzip"), or null when the body is plain. */
function contentCoding(header: string | string[] | undefined): string | null {
  const codings = [header ?? []]
    .flat()
    .flatMap((h) => h.split(','))
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  return codings.length > 0 ? codings.join(', ') : null;
}

function takesJsonBody(route: Pick<RouteOptions, 'config' | 'schema'>): boolean {
  const custom = (route.config as { openapiBody?: unknown } | undefined)?.openapiBody;
  return Boolean(route.schema?.body) && !custom;
}

/**
 * Registers the conventions on the root instance; call before any route is registered, since
 * the 415 check is attached to each JSON route as it is added.
 */
export function registerHttpConventions<T extends FastifyTypeProvider>(app: HttpApp<T>): void {
  app.addHook('preParsing', async (request, reply) => {
    const coding = contentCoding(request.headers['content-encoding']);
    if (coding === null) return;
    reply.header('accept-encoding', 'identity');
    throw new UnsupportedMediaTypeError(
      `Content-Encoding "${coding.slice(0, 50)}" is not supported; send the body uncompressed`,
    );
  });
  app.addHook('onRoute', (route) => {
    if (!takesJsonBody(route)) return;
    const check = async (request: { headers: Record<string, unknown> }) => {
      const type = request.headers['content-type'] as string | undefined;
      // A missing body is the schema's business (400 naming the required fields).
      if (type === undefined) return;
      if (!isJsonMediaType(type)) {
        throw new UnsupportedMediaTypeError(
          `Content-Type "${type.slice(0, 100)}" is not supported here; send application/json`,
        );
      }
    };
    const existing = route.preParsing;
    route.preParsing = existing ? [...(Array.isArray(existing) ? existing : [existing]), check] : [check];
  });

  app.addHook('preSerialization', async (request, reply, payload) => {
    const status = reply.statusCode;
    if ((status === 201 || status === 202) && request.method === 'POST' && !reply.hasHeader('location')) {
      const id = (payload as { id?: unknown } | null)?.id;
      if (typeof id === 'string') {
        const path = request.url.split('?')[0].replace(/\/+$/, '');
        reply.header('location', `${path}/${encodeURIComponent(id)}`);
      }
    }
    return payload;
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 401 && !reply.hasHeader('www-authenticate'))
      reply.header('www-authenticate', WWW_AUTHENTICATE);
    return payload;
  });
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The OpenAPI request body of a route that parses its own (an upload), in place of a schema's. */
    openapiBody?: unknown;
  }
}
