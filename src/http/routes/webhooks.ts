// /v1/webhooks: a tenant's endpoints for events, and the record of each delivery to them.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdParamsSchema, ListQuerySchema, pageSchema } from '../../domain/schemas.js';
import {
  WEBHOOK_EVENT_TYPES,
  WebhookCreateSchema,
  WebhookDeliverySchema,
  WebhookSchema,
  WebhookUpdateSchema,
  WebhookWithSecretSchema,
  type WebhookService,
} from '../../domain/webhooks.js';
import { json, problems, tenantOf } from './common.js';

const CREATE_DESCRIPTION = [
  `Registers an endpoint for events: ${WEBHOOK_EVENT_TYPES.map((t) => `\`${t}\``).join(', ')}.`,
  'The answer holds the signing `secret`, shown only now. Each event is POSTed as',
  '`{"type", "timestamp", "data"}` with the Standard Webhooks headers `webhook-id` (the same on every',
  'attempt), `webhook-timestamp` (Unix seconds) and `webhook-signature`',
  '(`v1,` + base64 HMAC-SHA256 over `id.timestamp.body` with the base64-decoded part of the secret after',
  '`whsec_`). A receiver that does not answer 2xx gets the event again with exponential backoff.',
  'URLs that resolve to loopback, private or link-local addresses are refused (422) unless the',
  'operator allows them.',
].join('\n');

const tags = ['webhooks'];

const createWebhookRoute = {
  schema: {
    tags,
    operationId: 'createWebhook',
    summary: 'Register a webhook endpoint',
    description: CREATE_DESCRIPTION,
    body: WebhookCreateSchema,
    response: {
      201: json('The webhook with its signing secret', WebhookWithSecretSchema),
      ...problems(400, 415, 422),
    },
  },
};

const listWebhooksRoute = {
  schema: {
    tags,
    operationId: 'listWebhooks',
    summary: 'List webhook endpoints, newest first',
    querystring: ListQuerySchema,
    response: { 200: json('A page of webhooks', pageSchema(WebhookSchema)), ...problems(400) },
  },
};

const getWebhookRoute = {
  schema: {
    tags,
    operationId: 'getWebhook',
    summary: 'Get a webhook endpoint (without its secret)',
    params: IdParamsSchema,
    response: { 200: json('The webhook', WebhookSchema), ...problems(400, 404) },
  },
};

const updateWebhookRoute = {
  schema: {
    tags,
    operationId: 'updateWebhook',
    summary: 'Change the URL, events or description of a webhook',
    params: IdParamsSchema,
    body: WebhookUpdateSchema,
    response: { 200: json('The webhook', WebhookSchema), ...problems(400, 404, 415, 422) },
  },
};

const deleteWebhookRoute = {
  schema: {
    tags,
    operationId: 'deleteWebhook',
    summary: 'Delete a webhook; its pending deliveries are dropped',
    params: IdParamsSchema,
    response: { 204: z.null().describe('Deleted'), ...problems(400, 404) },
  },
};

const listWebhookDeliveriesRoute = {
  schema: {
    tags,
    operationId: 'listWebhookDeliveries',
    summary: 'Deliveries to a webhook, newest first: status, attempts, last status code and error',
    params: IdParamsSchema,
    querystring: ListQuerySchema,
    response: {
      200: json('A page of deliveries', pageSchema(WebhookDeliverySchema)),
      ...problems(400, 404),
    },
  },
};

export const webhookRoutes =
  (deps: { webhooks: WebhookService }): FastifyPluginAsyncZod =>
  async (app) => {
    const { webhooks } = deps;

    app.post('/webhooks', createWebhookRoute, async (request, reply) =>
      reply.code(201).send(await webhooks.create(tenantOf(request), request.body)),
    );

    app.get('/webhooks', listWebhooksRoute, async (request) =>
      webhooks.list(tenantOf(request), request.query),
    );

    app.get('/webhooks/:id', getWebhookRoute, async (request) =>
      webhooks.get(tenantOf(request), request.params.id),
    );

    app.patch('/webhooks/:id', updateWebhookRoute, async (request) =>
      webhooks.update(tenantOf(request), request.params.id, request.body),
    );

    app.delete('/webhooks/:id', deleteWebhookRoute, async (request, reply) => {
      await webhooks.remove(tenantOf(request), request.params.id);
      return reply.code(204).send(null);
    });

    app.get('/webhooks/:id/deliveries', listWebhookDeliveriesRoute, async (request) =>
      webhooks.deliveries(tenantOf(request), request.params.id, request.query),
    );
  };
