// The queue view (Bull Board, read-only) at /queues. It shows every tenant's queue entries, so
// with API keys on it is for the keys of the tenants in OPS_TENANTS only. A browser cannot send a
// Bearer header when it opens a page, so the key is also accepted as the password of HTTP Basic
// auth (any user name): the browser asks for it once.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyReply, FastifyRequest, FastifyTypeProvider } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { UnauthorizedError, type createAuthenticator } from '../auth.js';
import { PROBLEM_CONTENT_TYPE, problem } from '../errors.js';
import type { HttpApp } from './types.js';

export const QUEUE_VIEW_PATH = '/queues';
const BASIC_CHALLENGE = 'Basic realm="backprop queue view", charset="UTF-8"';

export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly title = 'Forbidden';
}

/** A BullMQ queue, as the board's adapter takes it. */
export type ViewedQueue = ConstructorParameters<typeof BullMQAdapter>[0];

/** `Authorization: Basic base64(user:key)` → `Bearer key`; anything else unchanged. */
export function basicToBearer(header: string | undefined): string | undefined {
  const match = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return header;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? `Bearer ${decoded.slice(colon + 1)}` : header;
}

export async function registerQueueView<T extends FastifyTypeProvider>(
  app: HttpApp<T>,
  deps: {
    queue: ViewedQueue;
    authenticate: ReturnType<typeof createAuthenticator>;
    authOn: boolean;
    opsTenants: readonly string[];
  },
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_VIEW_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(deps.queue, { readOnlyMode: true })],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Backprop queue' } },
  });
  await app.register(
    async (view) => {
      // The board sets its own error handler, so refusals are answered here, as problems.
      view.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        if (!deps.authOn) return;
        let refusal: DomainError;
        try {
          const principal = deps.authenticate(basicToBearer(request.headers.authorization));
          if (deps.opsTenants.includes(principal.tenant)) return;
          refusal = new ForbiddenError(`Tenant "${principal.tenant}" is not in OPS_TENANTS`);
        } catch (err) {
          if (!(err instanceof UnauthorizedError)) throw err;
          reply.header('www-authenticate', BASIC_CHALLENGE);
          refusal = err;
        }
        return reply
          .code(refusal.status)
          .type(PROBLEM_CONTENT_TYPE)
          .send(problem(refusal.status, refusal.message));
      });
      await view.register(serverAdapter.registerPlugin());
    },
    { prefix: QUEUE_VIEW_PATH },
  );
}
