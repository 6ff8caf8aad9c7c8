// /v1/webhooks: registration per tenant, the address guard, and deliveries to a receiver started
// here, signed as Standard Webhooks says and retried with backoff by a real worker over real Redis.
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { addressRefusal } from '../../src/net/webhook-transport.js';
import { startTrainingWorker, type TrainingWorker } from '../../src/worker/main.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

const ACME = { authorization: 'Bearer key-acme' };
const GLOBEX = { authorization: 'Bearer key-globex' };
const IRIS = join(import.meta.dirname, '..', 'fixtures', 'iris.csv');

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver on port 0: records every request; `failures(path)` says how many to answer 500 first. */
async function startReceiver(failures: (path: string) => number) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, headers: req.headers, body });
      const seen = received.filter((r) => r.path === path).length;
      res.statusCode = seen <= failures(path) ? 500 : 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((r) => server.close(r)) };
}

/** The Standard Webhooks signature, computed here from its definition rather than by the product's code. */
function expectedSignature(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('webhook addresses', () => {
  it('when an address is loopback, private, link-local or unspecified, then it is refused; a public one passes', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '192.168.0.9',
      '172.16.5.5',
      '169.254.169.254',
      '::1',
      '0.0.0.0',
      'fd00::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(addressRefusal(a), a).not.toBeNull();
    }
    for (const a of ['93.184.216.34', '2606:4700:4700::1111']) expect(addressRefusal(a), a).toBeNull();
  });
});

describe('webhook registration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { API_KEYS: 'acme:key-acme,globex:key-globex' } });
  });
  afterAll(async () => t?.close());

  it('when a URL leads to loopback (directly or by name), then 422 naming url, unless the operator allows it', async () => {
    for (const url of ['http://127.0.0.1:9/hook', 'http://localhost:9/hook', 'http://[::1]/x']) {
      const res = await request(t.app.server)
        .post('/v1/webhooks')
        .set(ACME)
        .send({ url, events: ['training-job.succeeded'] });
      expect(res.status, url).toBe(422);
      expect(res.body.errors[0].path).toBe('url');
      expect(res.body.detail).toMatch(/loopback/);
    }
    const ftp = await request(t.app.server)
      .post('/v1/webhooks')
      .set(ACME)
      .send({ url: 'ftp://example.com/x', events: ['training-job.succeeded'] });
    expect(ftp.status).toBe(400);
    const badEvent = await request(t.app.server)
      .post('/v1/webhooks')
      .set(ACME)
      .send({ url: 'http://93.184.216.34/x', events: ['job.exploded'] });
    expect(badEvent.status).toBe(400);
  });

  it('when a webhook is created, then the secret is shown once; it is listed, patched and deleted by its tenant only', async () => {
    const created = await request(t.app.server)
      .post('/v1/webhooks')
      .set(ACME)
      .send({ url: 'http://93.184.216.34/hook', events: ['training-job.succeeded'], description: 'ci' });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = created.body.id as string;
    expect(id).toMatch(/^wh_/);
    const got = await request(t.app.server).get(`/v1/webhooks/${id}`).set(ACME);
    expect(got.status).toBe(200);
    expect(got.body).not.toHaveProperty('secret');
    expect(got.body).toMatchObject({ url: 'http://93.184.216.34/hook', description: 'ci' });
    expect((await request(t.app.server).get(`/v1/webhooks/${id}`).set(GLOBEX)).status).toBe(404);
    expect((await request(t.app.server).get('/v1/webhooks').set(GLOBEX)).body.data).toEqual([]);
    const list = await request(t.app.server).get('/v1/webhooks').set(ACME);
    expect(list.body.data.map((w: { id: string }) => w.id)).toEqual([id]);
    expect(list.body.data[0]).not.toHaveProperty('secret');
    const patched = await request(t.app.server)
      .patch(`/v1/webhooks/${id}`)
      .set(ACME)
      .send({ events: ['training-job.failed', 'tuning-job.finished'] });
    expect(patched.status).toBe(200);
    expect(patched.body.events).toEqual(['training-job.failed', 'tuning-job.finished']);
    expect(
      (await request(t.app.server).patch(`/v1/webhooks/${id}`).set(ACME).send({ url: 'http://10.0.0.1/' }))
        .status,
    ).toBe(422);
    expect((await request(t.app.server).delete(`/v1/webhooks/${id}`).set(GLOBEX)).status).toBe(404);
    expect((await request(t.app.server).delete(`/v1/webhooks/${id}`).set(ACME)).status).toBe(204);
    expect((await request(t.app.server).get(`/v1/webhooks/${id}/deliveries`).set(ACME)).status).toBe(404);
  });
});

describe('webhook deliveries', () => {
  let t: TestApp;
  let worker: TrainingWorker | null = null;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    t = await createTestApp({
      env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_ATTEMPTS: '3', WEBHOOK_BACKOFF_MS: '200' },
    });
    // /flaky fails twice then answers 200; /down always fails.
    receiver = await startReceiver((path) => (path === '/flaky' ? 2 : path === '/down' ? 1000 : 0));
  });
  afterAll(async () => {
    await worker?.close();
    await receiver?.close();
    await t?.close();
  });

  it('when jobs end, then each subscribed endpoint gets the signed event once per attempt, retried until it answers 2xx or the attempts run out', async () => {
    const hook = async (path: string, events: string[]) => {
      const res = await request(t.app.server)
        .post('/v1/webhooks')
        .send({ url: `${receiver.url}${path}`, events });
      expect(res.status).toBe(201);
      return res.body as { id: string; secret: string };
    };
    const flaky = await hook('/flaky', ['training-job.succeeded']);
    const down = await hook('/down', ['training-job.cancelled']);
    const dataset = await request(t.app.server)
      .post('/v1/datasets')
      .set('content-type', 'text/csv')
      .send(await readFile(IRIS, 'utf8'));
    const submit = () =>
      request(t.app.server)
        .post('/v1/training-jobs')
        .send({
          datasetId: dataset.body.id,
          target: 'species',
          training: { epochs: 3, earlyStopping: false },
        });

    // Cancelled while queued (no worker yet): the API emits the event.
    const cancelled = await submit();
    expect((await request(t.app.server).post(`/v1/training-jobs/${cancelled.body.id}/cancel`)).status).toBe(
      200,
    );
    const trained = await submit();
    worker = startTrainingWorker(t.config, createLogger('silent', 'worker'));

    const flakyCalls = await until(() => {
      const calls = receiver.received.filter((r) => r.path === '/flaky');
      return calls.length >= 3 ? calls : undefined;
    });
    const downCalls = await until(() => {
      const calls = receiver.received.filter((r) => r.path === '/down');
      return calls.length >= 3 ? calls : undefined;
    });
    const deliveries = async (id: string) => {
      const page = await request(t.app.server).get(`/v1/webhooks/${id}/deliveries`);
      return page.body.data as Array<Record<string, unknown>>;
    };
    const [flakyDelivery] = await until(async () => {
      const d = await deliveries(flaky.id);
      return d[0]?.status === 'succeeded' ? d : undefined;
    });
    const [downDelivery] = await until(async () => {
      const d = await deliveries(down.id);
      return d[0]?.status === 'failed' ? d : undefined;
    });
    await new Promise((r) => setTimeout(r, 1000)); // anything extra would arrive by now

    // Exactly one request per attempt: 3 each (the flaky one succeeded on its third).
    expect(receiver.received.filter((r) => r.path === '/flaky')).toHaveLength(3);
    expect(receiver.received.filter((r) => r.path === '/down')).toHaveLength(3);
    expect(flakyDelivery).toMatchObject({
      eventType: 'training-job.succeeded',
      status: 'succeeded',
      attempts: 3,
      lastStatusCode: 200,
      lastError: null,
    });
    expect(downDelivery).toMatchObject({
      eventType: 'training-job.cancelled',
      status: 'failed',
      attempts: 3,
      lastStatusCode: 500,
      lastError: 'the receiver answered HTTP 500',
    });

    for (const [calls, secret] of [
      [flakyCalls, flaky.secret],
      [downCalls, down.secret],
    ] as const) {
      // One message id on every attempt; each attempt signed for its own timestamp.
      expect(new Set(calls.map((c) => c.headers['webhook-id'])).size).toBe(1);
      for (const c of calls) {
        const id = c.headers['webhook-id'] as string;
        const ts = c.headers['webhook-timestamp'] as string;
        expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(120);
        expect(c.headers['webhook-signature']).toBe(expectedSignature(secret, id, ts, c.body));
        expect(c.headers['content-type']).toBe('application/json');
      }
    }
    const succeededEvent = JSON.parse(flakyCalls[0].body);
    expect(succeededEvent.type).toBe('training-job.succeeded');
    expect(succeededEvent.data).toMatchObject({ id: trained.body.id, status: 'succeeded' });
    expect(succeededEvent.data.modelId).toMatch(/^mdl_/);
    const cancelledEvent = JSON.parse(downCalls[0].body);
    expect(cancelledEvent).toMatchObject({
      type: 'training-job.cancelled',
      data: { id: cancelled.body.id, status: 'cancelled' },
    });
    expect(flakyDelivery.messageId).toBe(flakyCalls[0].headers['webhook-id']);
  });
});
