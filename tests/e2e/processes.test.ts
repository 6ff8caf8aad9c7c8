// The API and the worker as separate processes (as deployed), sharing only Redis and DATA_DIR:
// progress streams over SSE from the API while the worker trains, and a cancel sent to the API
// stops the training in the worker.
import { randomUUID } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker, stopAllProcesses, type ApiProcess } from '../helpers/processes.js';
import { createRedis } from '../../src/storage/redis.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const prefix = `test-e2e-proc-${randomUUID()}`;
let dataDir: string;
let api: ApiProcess;
const AUTH = { authorization: 'Bearer key-acme' };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bp-e2e-proc-'));
  const env = { REDIS_PREFIX: prefix, DATA_DIR: dataDir, API_KEYS: 'acme:key-acme' };
  [api] = await Promise.all([startApi({ env }), startWorker({ env })]);
});
afterAll(async () => {
  await stopAllProcesses();
  const redis = createRedis('redis://127.0.0.1:6379', 'worker');
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await rm(dataDir, { recursive: true, force: true });
});

interface JobBody {
  id: string;
  status: string;
  history: unknown[];
  modelId: string | null;
}

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as JobBody };
}

async function uploadFriedman(): Promise<string> {
  const res = await fetch(`${api.url}/v1/datasets?name=friedman1`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'text/csv' },
    body: await readFile(join(FIXTURES, 'friedman1.csv')),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

describe('API and worker in separate processes', () => {
  it('when a running job is cancelled through the API, then the worker stops it and the SSE stream ends with cancelled', async () => {
    const datasetId = await uploadFriedman();
    const submitted = await call('POST', '/v1/training-jobs', {
      datasetId,
      target: 'y',
      model: { layers: [{ units: 64 }, { units: 64 }] },
      training: { epochs: 5000, batchSize: 8, earlyStopping: false },
    });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id;

    const stream = await fetch(`${api.url}/v1/training-jobs/${id}/events`, { headers: AUTH });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const events = () =>
      text
        .split('\n\n')
        .filter((b) => b.startsWith('event:'))
        .map((b) => ({ type: b.split('\n')[0].slice(7), data: JSON.parse(b.split('\n')[1].slice(6)) }));
    // Read until two epochs have streamed, then cancel, then read to the end of the stream.
    while (events().filter((e) => e.type === 'epoch').length < 2) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended early: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    const cancel = await call('POST', `/v1/training-jobs/${id}/cancel`);
    expect(cancel.status).toBe(200);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const all = events();
    expect(all[0].type).toBe('status');
    expect(all.at(-1)).toMatchObject({ type: 'status', data: { status: 'cancelled' } });
    const epochs = all.filter((e) => e.type === 'epoch').map((e) => e.data.epoch as number);
    expect(epochs.length).toBeGreaterThanOrEqual(2);
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => epochs[0] + i));

    const job = await call('GET', `/v1/training-jobs/${id}`);
    expect(job.body.status).toBe('cancelled');
    expect(job.body.history.length).toBeLessThan(5000);
    expect(job.body.modelId).toBeNull();
  });
});
