// buildApp(deps): the whole HTTP API as a Fastify instance that never listens (tests call it with
// supertest; server.ts listens). Hardened as Fastify 5's production notes advise (timeouts, body limits, proto poisoning).
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Config } from '../config.js';
import { TooManyRequestsError } from '../domain/errors.js';
import type { OperationsSource } from '../domain/operations.js';
import type { HealthProbe } from '../domain/ports.js';
import type { PreflightService } from '../domain/preflight-service.js';
import type { TuningService } from '../domain/tuning.js';
import type { WebhookService } from '../domain/webhooks.js';
import type { DatasetService, JobService, ModelService } from '../domain/services.js';
import type { Logger } from '../logger.js';
import type { IdempotencyStore } from '../storage/idempotency-store.js';
import type { Redis } from '../storage/redis.js';
import { authHooks, createAuthenticator } from './auth.js';
import { registerBodyParsers } from './body-parsers.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { createIdempotencyRunner } from './idempotency.js';
import { polishOpenApiDocument } from './openapi-polish.js';
import { registerHttpConventions } from './plugins/conventions.js';
import { registerDashboard } from './plugins/dashboard.js';
import { registerMetrics } from './plugins/metrics.js';
import { registerQueueView, type ViewedQueue } from './plugins/queue-view.js';
import { registerRequestIdHeader, requestIdFrom } from './plugins/request-id.js';
import { datasetRoutes } from './routes/datasets.js';
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
  health: HealthProbe;
  idempotency: IdempotencyStore;
  /** The shared store of the rate limiter (keys under `${REDIS_PREFIX}:rl:`). */
  redis: Redis;
  /** Interval of the keep-alive comment on event streams; 15 s unless a test needs it shorter. */
  sseHeartbeatMs?: number;
  /** Queue and worker figures for /metrics; without it /metrics shows the API's own only. */
  operations?: OperationsSource;
  /** The training queue for the queue view at /queues; without it there is no queue view. */
  queueView?: ViewedQueue;
}

/** Routes whose requests count against PREDICT_RATE_LIMIT_PER_MINUTE instead of the general budget. */
const PREDICTION_ROUTE = /\/predict(\.csv)?$/;

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

export const API_VERSION = '1.0.0';
const JSON_BODY_LIMIT = 1024 * 1024;

export async function buildApp(deps: AppDeps) {
  const { config, logger } = deps;
  const base = Fastify({
    loggerInstance: logger,
    bodyLimit: JSON_BODY_LIMIT,
    connectionTimeout: 60_000,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: 72_000,
    maxRequestsPerSocket: 1000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    trustProxy: false,
    requestIdHeader: false,
    genReqId: requestIdFrom,
    routerOptions: { maxParamLength: 100 },
    // Node checks request timeouts every connectionsCheckingInterval (30 s by default): check at a
    // quarter of the timeout so a stalled client is cut off close to REQUEST_TIMEOUT_MS.
    http: { connectionsCheckingInterval: Math.max(250, Math.min(30_000, config.REQUEST_TIMEOUT_MS / 4)) },
  });
  // While closing, every response ends its connection: a keep-alive socket left open after an
  // in-flight request would otherwise hold the server open until the grace period runs out.
  let closing = false;
  base.addHook('preClose', async () => {
    closing = true;
  });
  base.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  registerBodyParsers(base);
  registerRequestIdHeader(base);
  registerHttpConventions(base);
  registerMetrics(base, deps.operations ?? null);
  const app = base.withTypeProvider<ZodTypeProvider>();
  // Node enforces requestTimeout only while headersTimeout is not above it (Node's http server docs).
  app.server.headersTimeout = Math.min(60_000, config.REQUEST_TIMEOUT_MS);

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

  await app.register(multipart, {
    limits: {
      fileSize: config.MAX_UPLOAD_BYTES,
      files: 1,
      fields: 5,
      parts: 6,
      fieldSize: 1024,
      fieldNameSize: 100,
      headerPairs: 100,
    },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Backprop',
        version: API_VERSION,
        description: [
          'Self-hosted training-as-a-service: upload CSV datasets, train neural networks on them, predict.',
          '',
          'Errors are RFC 9457 problem details (`application/problem+json`). Lists are newest first with',
          '`?limit=` (1-100, default 20) and an opaque `?cursor=`. POST /v1/datasets and POST',
          '/v1/training-jobs accept an `Idempotency-Key` header: the same key and body within 24 h answer',
          'the original response; the same key with another body answers 422.',
        ].join('\n'),
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      tags: [
        { name: 'datasets', description: 'CSV uploads and their column statistics' },
        { name: 'training-jobs', description: 'Training runs, their progress and cancellation' },
        { name: 'models', description: 'Trained models and prediction' },
        { name: 'tuning-jobs', description: 'Hyperparameter searches over many trial runs' },
        { name: 'webhooks', description: 'Signed event deliveries to your endpoints' },
        { name: 'health', description: 'Liveness and readiness probes' },
      ],
    },
    transform: (document) => {
      const out = jsonSchemaTransform(document);
      const schema = out.schema as Record<string, unknown>;
      const openapiBody = (document.route.config as { openapiBody?: unknown } | undefined)?.openapiBody;
      if (openapiBody) schema.body = openapiBody;
      if (document.url.startsWith('/v1/')) schema.security = [{ bearerAuth: [] }];
      // The queue view's own pages and API are not part of the contract.
      if (document.url.startsWith('/queues')) schema.hide = true;
      return out;
    },
    transformObject: (document) => polishOpenApiDocument(jsonSchemaTransformObject(document)),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await registerDashboard(app);

  await app.register(healthRoutes(deps.health));

  const idempotency = createIdempotencyRunner({
    store: deps.idempotency,
    waitTimeoutMs: config.REQUEST_TIMEOUT_MS,
  });
  const authenticate = createAuthenticator(config.API_KEYS);
  if (deps.queueView) {
    await registerQueueView(app, {
      queue: deps.queueView,
      authenticate,
      authOn: Boolean(config.API_KEYS),
      opsTenants: config.OPS_TENANTS,
    });
  }

  await app.register(
    async (v1) => {
      const auth = authHooks(authenticate);
      v1.addHook('onRequest', auth.identify);
      v1.addHook('preParsing', auth.enforce);
      // Predictions get their own, larger budget (a page may predict many times a second); the
      // limiter keys a route with its own config apart from the rest.
      v1.addHook('onRoute', (route) => {
        if (!PREDICTION_ROUTE.test(route.url)) return;
        const rateLimit = { max: config.PREDICT_RATE_LIMIT_PER_MINUTE, timeWindow: 60_000 };
        route.config = { ...(route.config as object), rateLimit } as typeof route.config;
      });
      await v1.register(rateLimit, {
        max: config.RATE_LIMIT_PER_MINUTE,
        timeWindow: 60_000,
        redis: deps.redis,
        nameSpace: `${config.REDIS_PREFIX}:rl:`,
        keyGenerator: (request) =>
          request.principal?.keyId ? `key:${request.principal.keyId}` : `ip:${request.ip}`,
        errorResponseBuilder: (_request, context) =>
          new TooManyRequestsError(
            `Rate limit of ${context.max} requests a minute exceeded; retry in ${context.after}`,
            Math.ceil(context.ttl / 1000),
          ),
      });
      await v1.register(
        datasetRoutes({ datasets: deps.datasets, idempotency, maxUploadBytes: config.MAX_UPLOAD_BYTES }),
      );
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
    },
    { prefix: '/v1' },
  );

  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
