// buildApp(deps): the whole HTTP API as a Fastify instance that never listens (tests call it with
// supertest; server.ts listens). Each cross-cutting concern is a plugin of ./plugins (server
// options, closing connections, body parsers, conventions, metrics, CORS, uploads, the OpenAPI
// document, rate limits); this file only puts them and the routes in order.
import cors from '@fastify/cors';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from '../config.js';
import type { OperationsSource } from '../domain/operations.js';
import type { HealthProbe } from '../domain/ports.js';
import type { BatchPredictionService } from '../domain/batch-predictions.js';
import type { EvaluationService } from '../domain/evaluations.js';
import type { PreflightService } from '../domain/preflight-service.js';
import type { TuningService } from '../domain/tuning.js';
import type { WebhookService } from '../domain/webhooks.js';
import type { DatasetService, JobService, ModelService } from '../domain/services.js';
import type { Logger } from '../logger.js';
import type { IdempotencyStore } from '../domain/ports.js';
import type { Redis } from '../storage/redis.js';
import { authHooks, createAuthenticator, type Authenticator } from './auth.js';
import { registerBodyParsers } from './body-parsers.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { createIdempotencyRunner, type IdempotencyRunner } from './idempotency.js';
import { registerApiDocs } from './plugins/api-docs.js';
import { registerHttpConventions } from './plugins/conventions.js';
import { registerDashboard } from './plugins/dashboard.js';
import { registerMetrics } from './plugins/metrics.js';
import { registerQueueView, type ViewedQueue } from './plugins/queue-view.js';
import { registerRateLimit } from './plugins/rate-limit.js';
import { registerRequestIdHeader } from './plugins/request-id.js';
import { limitHeaderTime, serverOptions } from './plugins/server-options.js';
import { registerClosingConnections } from './plugins/shutdown.js';
import { registerMultipart } from './plugins/uploads.js';
import { batchPredictionRoutes } from './routes/batch-predictions.js';
import { datasetRoutes } from './routes/datasets.js';
import { evaluationRoutes } from './routes/evaluations.js';
import { healthRoutes } from './routes/health.js';
import { modelRoutes } from './routes/models.js';
import { trainingJobRoutes } from './routes/training-jobs.js';
import { tuningJobRoutes } from './routes/tuning-jobs.js';
import { webhookRoutes } from './routes/webhooks.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  datasets: DatasetService;
  jobs: JobService;
  preflight: PreflightService;
  webhooks: WebhookService;
  tuning: TuningService;
  models: ModelService;
  /** Batch predictions; without it the /v1/batch-predictions routes are absent. */
  batch?: BatchPredictionService;
  /** Evaluations; without it the /v1/evaluations routes are absent. */
  evaluations?: EvaluationService;
  health: HealthProbe;
  idempotency: IdempotencyStore;
  /** The rate limiter's shared store (keys under `${REDIS_PREFIX}:rl:`); per process without one. */
  redis?: Redis;
  /** Interval of the keep-alive comment on event streams; 15 s unless a test needs it shorter. */
  sseHeartbeatMs?: number;
  /** Queue and worker figures for /metrics; without it /metrics shows the API's own only. */
  operations?: OperationsSource;
  /** The training queue for the queue view at /queues; without it there is no queue view. */
  queueView?: ViewedQueue;
}

/** Headers a browser on another origin may read (CORS exposes only a few by default). */
const EXPOSED_HEADERS = [
  'location',
  'retry-after',
  'x-request-id',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'idempotent-replayed',
];

/** The API as a Fastify app with every plugin and route registered; it never listens. */
export async function buildApp(deps: AppDeps) {
  const { config, logger } = deps;
  const base = Fastify(serverOptions(config, logger));
  registerClosingConnections(base);
  registerBodyParsers(base);
  registerRequestIdHeader(base);
  registerHttpConventions(base);
  registerMetrics(base, deps.operations ?? null);
  const app = base.withTypeProvider<ZodTypeProvider>();
  limitHeaderTime(app, config);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.decorateRequest('principal', null as never);

  if (!config.API_KEYS) {
    logger.warn('API_KEYS is not set: authentication is off and every request belongs to tenant "default"');
  }
  if (config.CORS_ORIGINS.length > 0) {
    await app.register(cors, {
      origin: config.CORS_ORIGINS.includes('*') ? '*' : [...config.CORS_ORIGINS],
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });
  }
  await registerMultipart(app, config);
  await registerApiDocs(app);
  await registerDashboard(app);
  await app.register(healthRoutes(deps.health));

  const authenticate = createAuthenticator(config.API_KEYS);
  if (deps.queueView) {
    await registerQueueView(app, {
      queue: deps.queueView,
      authenticate,
      authOn: Boolean(config.API_KEYS),
      opsTenants: config.OPS_TENANTS,
    });
  }
  const idempotency = createIdempotencyRunner({
    store: deps.idempotency,
    waitTimeoutMs: config.REQUEST_TIMEOUT_MS,
  });
  await app.register(v1Api(deps, authenticate, idempotency), { prefix: '/v1' });
  return app;
}

/** /v1: authentication, rate limits, then the resource routes. */
function v1Api(deps: AppDeps, authenticate: Authenticator, idempotency: IdempotencyRunner) {
  const { config } = deps;
  return async (v1: App) => {
    const auth = authHooks(authenticate);
    v1.addHook('onRequest', auth.identify);
    v1.addHook('preParsing', auth.enforce);
    await registerRateLimit(v1, config, deps.redis);
    await v1.register(datasetRoutes({ datasets: deps.datasets, idempotency }));
    await v1.register(
      trainingJobRoutes({
        jobs: deps.jobs,
        preflight: deps.preflight,
        idempotency,
        heartbeatMs: deps.sseHeartbeatMs,
      }),
    );
    await v1.register(webhookRoutes({ webhooks: deps.webhooks }));
    await v1.register(tuningJobRoutes({ tuning: deps.tuning, preflight: deps.preflight, idempotency }));
    await v1.register(
      modelRoutes({ models: deps.models, idempotency, maxImportBytes: config.MAX_UPLOAD_BYTES }),
    );
    if (deps.batch) {
      await v1.register(batchPredictionRoutes({ batch: deps.batch, datasets: deps.datasets, idempotency }));
    }
    if (deps.evaluations) await v1.register(evaluationRoutes({ evaluations: deps.evaluations, idempotency }));
  };
}

export type App = Awaited<ReturnType<typeof buildApp>>;
