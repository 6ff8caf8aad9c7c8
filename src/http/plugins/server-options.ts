// The Fastify server's own options, hardened as Fastify 5's production notes advise: timeouts,
// body and parameter limits, no trusted proxy, and request ids from X-Request-Id.
import type { FastifyHttpOptions, RawServerDefault } from 'fastify';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { MAX_PARAM_LENGTH, sendProblem, toProblem } from '../errors.js';
import { requestIdFrom } from './request-id.js';
import type { FastifyTypeProvider } from 'fastify';
import type { HttpApp } from './types.js';

/** Largest JSON body any route accepts (uploads stream past it), bytes. */
const JSON_BODY_LIMIT = 1024 * 1024;

/** Options for Fastify(): the logger, limits and timeouts (ms) from the config. */
export function serverOptions(
  config: Pick<Config, 'REQUEST_TIMEOUT_MS'>,
  logger: Logger,
): FastifyHttpOptions<RawServerDefault, Logger> {
  return {
    loggerInstance: logger,
    bodyLimit: JSON_BODY_LIMIT,
    connectionTimeout: 60_000,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: 72_000,
    maxRequestsPerSocket: 1000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    trustProxy: false,
    requestIdHeader: false,
    genReqId: requestIdFrom,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals (an over-long id: 414; a bad percent-encoding: 400) as problems too.
    frameworkErrors: (err, request, reply) => sendProblem(reply, toProblem(err, request.id)),
    // Node checks request timeouts every connectionsCheckingInterval (30 s by default): check at a
    // quarter of the timeout so a stalled client is cut off close to REQUEST_TIMEOUT_MS.
    http: { connectionsCheckingInterval: Math.max(250, Math.min(30_000, config.REQUEST_TIMEOUT_MS / 4)) },
  };
}

/**
 * Header timeout below the request timeout: Node enforces requestTimeout only while
 * headersTimeout is not above it (Node's http server docs).
 */
export function limitHeaderTime<T extends FastifyTypeProvider>(
  app: HttpApp<T>,
  config: Pick<Config, 'REQUEST_TIMEOUT_MS'>,
): void {
  app.server.headersTimeout = Math.min(60_000, config.REQUEST_TIMEOUT_MS);
}
