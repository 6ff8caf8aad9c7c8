// One place maps every error to an RFC 9457 problem (application/problem+json): domain errors,
// request validation, Fastify's and @fastify/multipart's own errors, and outages (503): the adapters
// decide from an error's type that a dependency is unavailable (src/storage/redis.ts) and throw
// DependencyUnavailableError; nothing here reads an error's message.
// A 5xx never echoes an internal message: the client gets a generic detail and the request id.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import {
  DependencyUnavailableError,
  DomainError,
  type FieldError,
  TooManyRequestsError,
  UnavailableError,
} from '../domain/errors.js';
import type { Problem } from '../domain/schemas.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemReply {
  problem: Problem;
  retryAfterSeconds?: number;
  /** Logged at error level (5xx); 4xx are the client's business and logged at info. */
  internal: boolean;
}

export function problem(status: number, detail: string, errors?: FieldError[]): Problem {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** `/training/epochs` or `/rows/3/age` → `training.epochs`, `rows[3].age`. */
export function pointerToPath(pointer: string, prefix = ''): string {
  const parts = pointer.split('/').filter((p) => p !== '');
  let out = prefix;
  for (const raw of parts) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}

// Errors of @fastify/multipart and busboy: their statuses (406, 500) are not what a client should see.
const MULTIPART_CODES: Record<string, number> = {
  FST_REQ_FILE_TOO_LARGE: 413,
  FST_FILES_LIMIT: 413,
  FST_FIELDS_LIMIT: 413,
  FST_PARTS_LIMIT: 413,
  FST_PROTO_VIOLATION: 400,
  FST_INVALID_MULTIPART_CONTENT_TYPE: 415,
};

/** Longest path parameter the router takes (serverOptions' maxParamLength), characters. */
export const MAX_PARAM_LENGTH = 100;

// Errors the router raises before any route runs (Fastify's frameworkErrors); their own messages
// repeat the whole path, which for a 414 is the over-long part.
const ROUTER_MESSAGES: Record<string, [number, string]> = {
  FST_ERR_MAX_PARAM_LENGTH: [
    414,
    `A path parameter is longer than ${MAX_PARAM_LENGTH} characters; no id or name in this API is that long`,
  ],
  FST_ERR_BAD_URL: [400, 'The URL path is not valid: a percent-encoded part does not decode to UTF-8'],
};

export function toProblem(err: unknown, requestId: string): ProblemReply {
  if (err instanceof DomainError) {
    const retryAfterSeconds =
      err instanceof TooManyRequestsError || err instanceof UnavailableError
        ? err.retryAfterSeconds
        : undefined;
    if (err.status >= 500) {
      return {
        problem: problem(err.status, `${err.message} (request ${requestId})`),
        retryAfterSeconds,
        internal: true,
      };
    }
    return { problem: problem(err.status, err.message, err.errors), retryAfterSeconds, internal: false };
  }

  if (hasZodFastifySchemaValidationErrors(err)) {
    const context = (err as { validationContext?: string }).validationContext;
    const where =
      context === 'querystring' ? 'query' : context === 'params' ? 'path' : (context ?? 'request');
    // One error per field: zod may report several for one value (1e20 is both past an int's safe
    // range and past the maximum), and the first says enough.
    const errors = err.validation
      .map((v) => ({
        path: pointerToPath(v.instancePath) || (context === 'body' ? '(body)' : `(${where})`),
        message: v.message ?? 'Invalid value',
      }))
      .filter((e, i, all) => all.findIndex((o) => o.path === e.path) === i);
    const fields = errors.map((e) => e.path).join(', ');
    return { problem: problem(400, `Invalid ${where}: ${fields}`, errors), internal: false };
  }

  if (err instanceof DependencyUnavailableError) {
    return {
      problem: problem(503, `A dependency is unavailable; retry shortly (request ${requestId})`),
      retryAfterSeconds: 5,
      internal: true,
    };
  }

  const fe = err as Partial<FastifyError> & { statusCode?: number };
  if (typeof fe.code === 'string' && fe.code in MULTIPART_CODES) {
    return {
      problem: problem(MULTIPART_CODES[fe.code], fe.message ?? 'Invalid multipart body'),
      internal: false,
    };
  }
  if (typeof fe.code === 'string' && fe.code in ROUTER_MESSAGES) {
    const [status, detail] = ROUTER_MESSAGES[fe.code];
    return { problem: problem(status, detail), internal: false };
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { problem: problem(400, fe.message ?? 'Malformed JSON body'), internal: false };
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // Fastify's own 4xx messages describe the request, never the server.
    return { problem: problem(status, fe.message || STATUS_CODES[status] || 'Bad request'), internal: false };
  }
  return { problem: problem(500, `An internal error occurred (request ${requestId})`), internal: true };
}

export function sendProblem(reply: FastifyReply, p: ProblemReply): FastifyReply {
  if (p.retryAfterSeconds !== undefined)
    reply.header('retry-after', String(Math.max(1, Math.ceil(p.retryAfterSeconds))));
  return reply.code(p.problem.status).type(PROBLEM_CONTENT_TYPE).send(p.problem);
}

export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const p = toProblem(err, request.id);
  if (p.internal) request.log.error({ err }, 'request failed');
  else request.log.info({ status: p.problem.status, detail: p.problem.detail }, 'request refused');
  return sendProblem(reply, p);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, {
    problem: problem(404, `No route ${request.method} ${request.url.split('?')[0]}`),
    internal: false,
  });
}
