// The Fastify instance type the plugins of this folder accept: the app's, with its pino logger,
// whichever type provider the caller uses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyTypeProvider, RawServerDefault } from 'fastify';
import type { Logger } from '../../logger.js';

export type HttpApp<T extends FastifyTypeProvider = FastifyTypeProvider> = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  Logger,
  T
>;
