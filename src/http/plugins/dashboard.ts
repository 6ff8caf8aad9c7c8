// The dashboard at /ui/ (plain ES modules and CSS from src/http/dashboard, copied beside the
// compiled code by the build, and uPlot from node_modules), with / redirecting to it. The pages
// are public; the data they show comes from /v1 with the key the user enters.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyTypeProvider } from 'fastify';
import type { HttpApp } from './types.js';

export const DASHBOARD_PATH = '/ui/';

/** Scripts and data from this origin only; inline style attributes are how uPlot and bars are sized. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/** The dashboard's own files: beside this module's folder in src/ and in dist/ alike. */
const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url));
/** uPlot's ESM build and stylesheet, served as they are installed. */
const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

export async function registerDashboard<T extends FastifyTypeProvider>(app: HttpApp<T>): Promise<void> {
  await app.register(fastifyStatic, {
    root: DASHBOARD_DIR,
    prefix: DASHBOARD_PATH,
    cacheControl: true,
    maxAge: 0,
    index: ['index.html'],
    setHeaders: (res) => {
      res.header('content-security-policy', CSP);
      res.header('x-content-type-options', 'nosniff');
    },
  });
  await app.register(fastifyStatic, {
    root: UPLOT_DIR,
    prefix: `${DASHBOARD_PATH}vendor/`,
    decorateReply: false,
    allowedPath: (path) => path === '/uPlot.esm.js' || path === '/uPlot.min.css',
    maxAge: 86_400_000,
  });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect(DASHBOARD_PATH, 302));
  // Without the trailing slash the page's relative links would resolve against /.
  app.get('/ui', { schema: { hide: true } }, async (_request, reply) => reply.redirect(DASHBOARD_PATH, 301));
}
