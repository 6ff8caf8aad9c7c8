// `npm run openapi:examples`: runs the README's iris walkthrough against a real API and worker (the
// Redis at REDIS_URL, a scratch key prefix and data directory) and writes what each operation was
// sent and answered to src/http/openapi-examples.json, from which the OpenAPI document takes its
// examples. Long arrays are cut to their first three items; ids and times are the real ones of
// that run. tests/http/openapi-examples.test.ts checks every example against its schema, so the
// file cannot drift from the contract unnoticed: when it fails, run this script again.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/http/app.js';
import { createApiDeps } from '../src/http/server.js';
import { createLogger } from '../src/logger.js';
import { createCsvDescriber } from '../src/storage/csv-describer.js';
import { createRedis } from '../src/storage/redis.js';
import { startTrainingWorker } from '../src/worker/main.js';

/** A response document, read loosely: the walkthrough only picks ids and states out of it. */
type Doc = Record<string, unknown> & { id: string; status: string; modelId: string };
type Example = { request?: unknown; responses: Record<string, unknown> };

const root = join(import.meta.dirname, '..');
const target = join(root, 'src', 'http', 'openapi-examples.json');
const KEY = { authorization: 'Bearer key-acme' };
/** Registered during the run (this machine may resolve no public name); shown as PUBLIC_HOOK. */
const LOCAL_HOOK = 'http://127.0.0.1:9/hooks/backprop';
const PUBLIC_HOOK = 'https://hooks.example.com/backprop';

/** Arrays cut to their first three items, at every depth (a job's history, a model's weights). */
function abridge(value: unknown): unknown {
  if (Array.isArray(value)) return value.slice(0, 3).map(abridge);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, abridge(v)]));
  }
  return value;
}

const dataDir = await mkdtemp(join(tmpdir(), 'bp-examples-'));
const config = loadConfig({
  REDIS_PREFIX: `examples-${randomUUID()}`,
  DATA_DIR: dataDir,
  API_KEYS: 'acme:key-acme',
  LOG_LEVEL: 'silent',
  WEBHOOK_ALLOW_PRIVATE: 'true',
});
const logger = createLogger('silent', 'examples');
const redis = createRedis(config.REDIS_URL, 'api');
await new Promise<void>((resolve, reject) => {
  redis.once('ready', () => resolve());
  redis.once('error', reject);
});
const describer = createCsvDescriber();
const { deps, queue, inspector, webhookQueue } = createApiDeps({ config, logger, redis, describer });
const app = await buildApp(deps);
await app.ready();
const worker = startTrainingWorker(config, logger);
const examples: Record<string, Example> = {};

/** Sends one request and records it (and its answer) under the operation's id. */
async function call(
  operationId: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
  options: { csv?: string; abridgeRequest?: boolean } = {},
): Promise<{ status: number; json: () => Doc }> {
  const res = await app.inject({
    method,
    url,
    headers: { ...KEY, ...(options.csv !== undefined ? { 'content-type': 'text/csv' } : {}) },
    ...(options.csv !== undefined
      ? { payload: options.csv }
      : body !== undefined
        ? { payload: body as object }
        : {}),
  });
  if (res.statusCode >= 400) throw new Error(`${operationId}: ${res.statusCode} ${res.body}`);
  const entry = (examples[operationId] ??= { responses: {} });
  if (body !== undefined) entry.request = options.abridgeRequest ? abridge(body) : body;
  if (res.body.length > 0) {
    const type = String(res.headers['content-type'] ?? '');
    entry.responses[String(res.statusCode)] = type.startsWith('application/json')
      ? abridge(res.json())
      : res.body;
  }
  return { status: res.statusCode, json: () => res.json() };
}

async function waitFor(url: string, done: (doc: Doc) => boolean): Promise<Doc> {
  for (let i = 0; i < 1200; i += 1) {
    const doc = (await app.inject({ method: 'GET', url, headers: KEY })).json();
    if (done(doc)) return doc;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${url}`);
}
const ended = (doc: Doc) => ['succeeded', 'failed', 'cancelled'].includes(doc.status);

try {
  await call('getHealth', 'GET', '/healthz');
  await call('getReadiness', 'GET', '/readyz');
  const iris = await readFile(join(root, 'tests', 'fixtures', 'iris.csv'), 'utf8');
  const dataset = (
    await call('createDataset', 'POST', '/v1/datasets?name=iris', undefined, { csv: iris })
  ).json();
  examples.createDataset!.request = iris.split('\n').slice(0, 4).join('\n') + '\n';
  await call('getDataset', 'GET', `/v1/datasets/${dataset.id}`);
  await call('updateDataset', 'PATCH', `/v1/datasets/${dataset.id}`, { missingValues: ['', 'NA', '?'] });
  await call('listDatasets', 'GET', '/v1/datasets?limit=20');

  await call('createTrainingJob', 'POST', '/v1/training-jobs?dryRun=true', {
    datasetId: dataset.id,
    target: 'species',
  });
  const job = (
    await call('createTrainingJob', 'POST', '/v1/training-jobs', { datasetId: dataset.id, target: 'species' })
  ).json();
  const trained = await waitFor(`/v1/training-jobs/${job.id}`, ended);
  await call('getTrainingJob', 'GET', `/v1/training-jobs/${job.id}`);
  await call('getTrainingJobHistory', 'GET', `/v1/training-jobs/${job.id}/history?limit=2`);
  await call('listTrainingJobs', 'GET', '/v1/training-jobs?limit=20&history=none');
  const modelId = trained.modelId as string;
  await call('getModel', 'GET', `/v1/models/${modelId}`);
  await call('listModels', 'GET', '/v1/models?limit=20');
  const row = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
  await call('predict', 'POST', `/v1/models/${modelId}/predict`, { rows: [row] });
  await call('predictCsv', 'POST', `/v1/models/${modelId}/predict.csv`, {
    rows: [{ sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.8, petal_width: 2.2 }],
  });

  // A queued job cancelled at once; a small network for the export and import examples.
  const queued = (
    await app.inject({
      method: 'POST',
      url: '/v1/training-jobs',
      headers: KEY,
      payload: { datasetId: dataset.id, target: 'species' },
    })
  ).json();
  await call('cancelTrainingJob', 'POST', `/v1/training-jobs/${queued.id}/cancel`);
  const small = (
    await app.inject({
      method: 'POST',
      url: '/v1/training-jobs',
      headers: KEY,
      payload: {
        datasetId: dataset.id,
        target: 'species',
        model: { layers: [{ units: 3, activation: 'relu' }] },
        training: { epochs: 5 },
      },
    })
  ).json();
  const smallModel = (await waitFor(`/v1/training-jobs/${small.id}`, ended)).modelId as string;
  const exported = (await call('exportModel', 'GET', `/v1/models/${smallModel}/export`)).json();
  const imported = (
    await call('importModel', 'POST', '/v1/models/import', exported, { abridgeRequest: true })
  ).json();
  await call('deleteModel', 'DELETE', `/v1/models/${imported.id}`);

  await call('createTuningJob', 'POST', '/v1/tuning-jobs?dryRun=true', {
    datasetId: dataset.id,
    target: 'species',
    maxTrials: 4,
    metric: 'valAccuracy',
  });
  const tuning = (
    await call('createTuningJob', 'POST', '/v1/tuning-jobs', {
      datasetId: dataset.id,
      target: 'species',
      maxTrials: 4,
      metric: 'valAccuracy',
    })
  ).json();
  await waitFor(`/v1/tuning-jobs/${tuning.id}`, ended);
  await call('getTuningJob', 'GET', `/v1/tuning-jobs/${tuning.id}`);
  await call('listTuningJobs', 'GET', '/v1/tuning-jobs?limit=20');
  const another = (
    await app.inject({
      method: 'POST',
      url: '/v1/tuning-jobs',
      headers: KEY,
      payload: { datasetId: dataset.id, target: 'species', maxTrials: 2 },
    })
  ).json();
  await call('cancelTuningJob', 'POST', `/v1/tuning-jobs/${another.id}/cancel`);

  const hook = (
    await call('createWebhook', 'POST', '/v1/webhooks', {
      url: LOCAL_HOOK,
      events: ['training-job.succeeded', 'training-job.failed'],
    })
  ).json();
  await call('getWebhook', 'GET', `/v1/webhooks/${hook.id}`);
  await call('updateWebhook', 'PATCH', `/v1/webhooks/${hook.id}`, {
    events: ['training-job.succeeded', 'training-job.failed', 'tuning-job.finished'],
  });
  await call('listWebhooks', 'GET', '/v1/webhooks');
  await call('listWebhookDeliveries', 'GET', `/v1/webhooks/${hook.id}/deliveries`);
  await call('deleteWebhook', 'DELETE', `/v1/webhooks/${hook.id}`);
  const scratch = (
    await app.inject({
      method: 'POST',
      url: '/v1/datasets?name=scratch',
      headers: { ...KEY, 'content-type': 'text/csv' },
      payload: iris,
    })
  ).json();
  await call('deleteDataset', 'DELETE', `/v1/datasets/${scratch.id}`);

  const sorted = Object.fromEntries(Object.entries(examples).sort(([a], [b]) => a.localeCompare(b)));
  await writeFile(target, `${JSON.stringify(sorted, null, 2).replaceAll(LOCAL_HOOK, PUBLIC_HOOK)}\n`);
  console.log(`wrote ${target} (${Object.keys(sorted).length} operations)`);
} finally {
  await worker.close();
  await app.close();
  await describer.close();
  await queue?.close();
  await inspector.close();
  await webhookQueue.close();
  const keys = await redis.keys(`${config.REDIS_PREFIX}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await rm(dataDir, { recursive: true, force: true });
}
// Everything of this run is closed and removed; a Redis connection one of the stores opened on its
// own may still be open (seen: one socket), and a script has no reason to wait for it.
process.exit(0);
