// The OpenAPI document, generated from the route schemas (@fastify/swagger), its browsable view at
// /docs and the raw document at /openapi.json. Register before the routes: the document is built
// from the routes added after it.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { polishOpenApiDocument } from '../openapi-polish.js';
import type { FastifyTypeProvider } from 'fastify';
import type { HttpApp } from './types.js';

export const API_VERSION = '1.0.0';

const DESCRIPTION = [
  'Self-hosted training-as-a-service: upload CSV datasets, train neural networks on them, predict.',
  '',
  'Errors are RFC 9457 problem details (`application/problem+json`). Lists are newest first with',
  '`?limit=` (1-100, default 20) and an opaque `?cursor=`. POST /v1/datasets and POST',
  '/v1/training-jobs accept an `Idempotency-Key` header: the same key and body within 24 h answer',
  'the original response; the same key with another body answers 422.',
].join('\n');

const TAGS = [
  { name: 'datasets', description: 'CSV uploads and their column statistics' },
  { name: 'training-jobs', description: 'Training runs, their progress and cancellation' },
  { name: 'models', description: 'Trained models and prediction' },
  { name: 'tuning-jobs', description: 'Hyperparameter searches over many trial runs' },
  { name: 'batch-predictions', description: 'Whole datasets scored by a model in queued jobs' },
  { name: 'evaluations', description: 'Models scored on new labelled data, against baselines' },
  { name: 'webhooks', description: 'Signed event deliveries to your endpoints' },
  { name: 'health', description: 'Liveness and readiness probes' },
];

type RouteDocument = Parameters<typeof jsonSchemaTransform>[0];

/** One route's entry: its zod schemas as JSON Schema, a route's own upload body, bearer auth on /v1. */
function transformRoute(document: RouteDocument) {
  const out = jsonSchemaTransform(document);
  const schema = out.schema as Record<string, unknown>;
  const openapiBody = (document.route.config as { openapiBody?: unknown } | undefined)?.openapiBody;
  if (openapiBody) schema.body = openapiBody;
  if (document.url.startsWith('/v1/')) schema.security = [{ bearerAuth: [] }];
  // The queue view's own pages and API are not part of the contract.
  if (document.url.startsWith('/queues')) schema.hide = true;
  return out;
}

/** Registers the document, /docs and /openapi.json. */
export async function registerApiDocs<T extends FastifyTypeProvider>(app: HttpApp<T>): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Backprop', version: API_VERSION, description: DESCRIPTION },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      tags: TAGS,
    },
    transform: transformRoute,
    transformObject: (document) => polishOpenApiDocument(jsonSchemaTransformObject(document)),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
