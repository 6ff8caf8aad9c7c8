// The OpenAPI document, generated from the route schemas by building the app with inert
// dependencies (nothing is connected or called; the rate limiter counts in memory). Keys are sorted so the file is stable.
import { loadConfig } from '../config.js';
import type { HealthProbe } from '../domain/ports.js';
import type { PreflightService } from '../domain/preflight-service.js';
import type { TuningService } from '../domain/tuning.js';
import type { WebhookService } from '../domain/webhooks.js';
import type { DatasetService, JobService, ModelService } from '../domain/services.js';
import { createLogger } from '../logger.js';
import type { IdempotencyStore } from '../domain/ports.js';
import { buildApp } from './app.js';

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The document as the text of openapi/openapi.json (two-space indent, trailing newline). */
export async function generateOpenApiDocument(): Promise<string> {
  const unused = () => {
    throw new Error('not available while generating the OpenAPI document');
  };
  const inert = new Proxy({}, { get: () => unused }) as never;
  const app = await buildApp({
    config: loadConfig({ API_KEYS: 'docs:unused' }),
    logger: createLogger('silent', 'openapi'),
    datasets: inert as DatasetService,
    jobs: inert as JobService,
    preflight: inert as PreflightService,
    webhooks: inert as WebhookService,
    tuning: inert as TuningService,
    models: inert as ModelService,
    health: inert as HealthProbe,
    idempotency: inert as IdempotencyStore,
  });
  try {
    await app.ready();
    return `${JSON.stringify(sortKeys(app.swagger()), null, 2)}\n`;
  } finally {
    await app.close();
  }
}
