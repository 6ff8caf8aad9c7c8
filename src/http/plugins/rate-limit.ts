// Request budgets per API key (per client address without auth): RATE_LIMIT_PER_MINUTE for
// everything, and PREDICT_RATE_LIMIT_PER_MINUTE per prediction route instead (a page may predict
// many times a second). Over budget: 429 with Retry-After, as a problem.
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../../config.js';
import { TooManyRequestsError } from '../../domain/errors.js';
import type { Redis } from '../../storage/redis.js';
import type { FastifyTypeProvider } from 'fastify';
import type { HttpApp } from './types.js';

/** Routes whose requests count against PREDICT_RATE_LIMIT_PER_MINUTE instead of the general budget. */
const PREDICTION_ROUTE = /\/predict(\.csv)?$/;

/**
 * Registers the limiter on `app` (the /v1 scope, after the auth hooks that set request.principal).
 * `store` shares the counts between API processes (keys under `${REDIS_PREFIX}:rl:`); without one
 * each process counts on its own (the OpenAPI generator, which serves no request).
 */
export async function registerRateLimit<T extends FastifyTypeProvider>(
  app: HttpApp<T>,
  config: Pick<Config, 'RATE_LIMIT_PER_MINUTE' | 'PREDICT_RATE_LIMIT_PER_MINUTE' | 'REDIS_PREFIX'>,
  store?: Redis,
): Promise<void> {
  // The limiter keys a route with its own config apart from the rest.
  app.addHook('onRoute', (route) => {
    if (!PREDICTION_ROUTE.test(route.url)) return;
    const limit = { max: config.PREDICT_RATE_LIMIT_PER_MINUTE, timeWindow: 60_000 };
    route.config = { ...(route.config as object), rateLimit: limit } as typeof route.config;
  });
  await app.register(rateLimit, {
    max: config.RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    ...(store ? { redis: store, nameSpace: `${config.REDIS_PREFIX}:rl:` } : {}),
    keyGenerator: (request) =>
      request.principal?.keyId ? `key:${request.principal.keyId}` : `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) =>
      new TooManyRequestsError(
        `Rate limit of ${context.max} requests a minute exceeded; retry in ${context.after}`,
        Math.ceil(context.ttl / 1000),
      ),
  });
}
