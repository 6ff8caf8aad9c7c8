// multipart/form-data for uploads (datasets, model imports): one file of at most MAX_UPLOAD_BYTES
// and a few small fields; the limits' errors become 413/415 problems in ../errors.ts.
import multipart from '@fastify/multipart';
import type { Config } from '../../config.js';
import type { FastifyTypeProvider } from 'fastify';
import type { HttpApp } from './types.js';

export async function registerMultipart<T extends FastifyTypeProvider>(
  app: HttpApp<T>,
  config: Pick<Config, 'MAX_UPLOAD_BYTES'>,
): Promise<void> {
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
}
