// While the server closes, every response ends its connection: a keep-alive socket left open after
// an in-flight request would otherwise hold the server open until the grace period runs out.
import type { FastifyTypeProvider } from 'fastify';
import type { HttpApp } from './types.js';

/** Adds `Connection: close` to every response sent once the app has started closing. */
export function registerClosingConnections<T extends FastifyTypeProvider>(app: HttpApp<T>): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
}
