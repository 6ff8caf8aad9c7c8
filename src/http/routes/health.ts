// Liveness and readiness, outside /v1 and without auth or rate limits (probes must always answer).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HealthProbe } from '../../domain/ports.js';
import { UnavailableError } from '../../domain/errors.js';
import { json, problemResponse } from './common.js';

export const healthRoutes =
  (health: HealthProbe): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/healthz',
      {
        schema: {
          tags: ['health'],
          operationId: 'getHealth',
          summary: 'The process is up',
          response: { 200: json('The process is up', z.object({ status: z.literal('ok') })) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        schema: {
          tags: ['health'],
          operationId: 'getReadiness',
          summary: 'Redis answers PING within 1 s and its maxmemory-policy is noeviction',
          response: {
            200: json('Ready to serve', z.object({ status: z.literal('ready'), detail: z.string() })),
            503: problemResponse(503),
          },
        },
      },
      async () => {
        const r = await health.ready();
        if (!r.ok) throw new UnavailableError(r.detail);
        return { status: 'ready' as const, detail: r.detail };
      },
    );
  };
