// X-Request-Id: taken from the request when it is a sane token, otherwise a new UUID; echoed on
// every response. Fastify puts the id (`reqId`) in every log line of the request.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyTypeProvider } from 'fastify';
import type { HttpApp } from './types.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Visible ASCII without spaces, quotes or backslashes, 1-128 characters: safe in headers and logs. */
const ACCEPTED_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Fastify's genReqId: the client's X-Request-Id when acceptable, else a random UUID. */
export function requestIdFrom(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTED_ID.test(given) ? given : randomUUID();
}

/** Adds X-Request-Id to every response, errors and 404s included (hooks on the root instance). */
export function registerRequestIdHeader<T extends FastifyTypeProvider>(app: HttpApp<T>): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });
}
