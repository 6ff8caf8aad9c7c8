// The request id is in every log line the API writes while it handles that request, so an operator
// can follow one request (by the X-Request-Id a client sent or was given) through the JSON logs.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/logger.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('request ids in the log', () => {
  let t: TestApp;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
        done();
      },
    });
    const logger = pino(loggerOptions('info', 'api'), sink);
    t = await createTestApp({ env: { API_KEYS: 'acme:key-acme' }, logger });
  });
  afterAll(async () => t?.close());

  it('when a request is refused, then every line logged while handling it carries its X-Request-Id and no key', async () => {
    const before = lines.length;
    const res = await request(t.app.server)
      .post('/v1/training-jobs')
      .set('authorization', 'Bearer key-acme')
      .set('x-request-id', 'trace-log-7')
      .send({ datasetId: 'no-such-dataset', target: 'species' });
    expect(res.status).toBe(422); // a body naming an unknown dataset (API.md)
    const during = lines.slice(before);
    // Fastify's "incoming request" and "request completed", and the API's own "request refused".
    expect(during.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['incoming request', 'request refused', 'request completed']),
    );
    for (const line of during) expect(line.reqId, JSON.stringify(line)).toBe('trace-log-7');
    expect(JSON.stringify(during)).not.toContain('key-acme');
  });

  it('when no id is sent, then the generated one in the response is the one in the log lines', async () => {
    const before = lines.length;
    const res = await request(t.app.server).get('/v1/datasets').set('authorization', 'Bearer key-acme');
    expect(res.status).toBe(200);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const during = lines.slice(before);
    expect(during.length).toBeGreaterThanOrEqual(2);
    for (const line of during) expect(line.reqId).toBe(id);
  });
});
