// What every answer of the API owes a client, whatever it was sent: never a 5xx, and every 4xx an
// RFC 9457 problem (application/problem+json with type, title, status and detail).
import { expect } from 'vitest';
import type { App } from '../../src/http/app.js';

export interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/** Checks the contract; returns the parsed body of a 2xx for further checks. */
export function expectContract(res: Answer, sent: string): unknown {
  const where = `${res.statusCode} ${res.body.slice(0, 300)}\nfor: ${sent.slice(0, 300)}`;
  expect(res.statusCode, where).toBeLessThan(500);
  if (res.statusCode >= 400) {
    expect(String(res.headers['content-type']), where).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(res.body) as Record<string, unknown>;
    expect(typeof problem.type, where).toBe('string');
    expect(typeof problem.title, where).toBe('string');
    expect(problem.status, where).toBe(res.statusCode);
    expect(typeof problem.detail, where).toBe('string');
    expect((problem.detail as string).length, where).toBeGreaterThan(0);
    return undefined;
  }
  return res.body ? (JSON.parse(res.body) as unknown) : undefined;
}

/** After the barrage the process answers its liveness probe and an ordinary request. */
export async function expectStillHealthy(app: App): Promise<void> {
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  expect(health.statusCode).toBe(200);
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  expect(ready.statusCode).toBe(200);
  const upload = await app.inject({
    method: 'POST',
    url: '/v1/datasets?name=after',
    headers: { 'content-type': 'text/csv' },
    payload: 'x,label\n1,a\n2,b\n3,a\n',
  });
  expect(upload.statusCode, upload.body).toBe(201);
  const id = (JSON.parse(upload.body) as { id: string }).id;
  const got = await app.inject({ method: 'GET', url: `/v1/datasets/${id}` });
  expect(got.statusCode).toBe(200);
}

/** Test limits small enough that generated inputs cross them often, and no rate limit in the way. */
export const PROPERTY_ENV = {
  RATE_LIMIT_PER_MINUTE: '1000000',
  MAX_ACTIVE_JOBS_PER_TENANT: '100000',
  MAX_COLUMNS: '40',
  MAX_ROWS: '400',
  MAX_LINE_BYTES: '8192',
  MAX_UPLOAD_BYTES: '200000',
};
