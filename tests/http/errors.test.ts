// The error mapping alone: what a client sees for errors that tests cannot easily provoke.
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  DependencyUnavailableError,
  TooManyRequestsError,
  UnavailableError,
} from '../../src/domain/errors.js';
import { jsonDepthExceeds, parseJsonSafely } from '../../src/http/body-parsers.js';
import { pointerToPath, toProblem } from '../../src/http/errors.js';

describe('toProblem', () => {
  it('when an unexpected error escapes, then 500 with a generic detail and the request id, never its message', () => {
    const p = toProblem(new Error('EACCES: open /srv/data/secret.csv'), 'req-42');
    expect(p.problem).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'An internal error occurred (request req-42)',
    });
    expect(p.internal).toBe(true);
  });

  it('when an adapter found a dependency unavailable, then 503 with Retry-After and no connection details', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:6379'), { code: 'ECONNREFUSED' });
    const p = toProblem(new DependencyUnavailableError('redis', cause), 'r1');
    expect(p.problem.status).toBe(503);
    expect(p.retryAfterSeconds).toBeGreaterThan(0);
    expect(p.problem.detail).not.toContain('10.0.0.5');
    expect(p.internal).toBe(true);
  });

  it('when a plain error merely reads like an outage, then it is a 500: messages are never classified', () => {
    expect(toProblem(new Error('Connection is closed.'), 'r').problem.status).toBe(500);
    expect(toProblem(new Error('Command timed out'), 'r').problem.status).toBe(500);
  });

  it('when a domain error is thrown, then its status, its message and Retry-After where it has one', () => {
    expect(toProblem(new ConflictError('job job_1 has already finished'), 'r').problem).toMatchObject({
      status: 409,
      title: 'Conflict',
      detail: 'job job_1 has already finished',
    });
    expect(toProblem(new TooManyRequestsError('slow down', 7), 'r').retryAfterSeconds).toBe(7);
    const unavailable = toProblem(new UnavailableError('queue is down', 3), 'r-9');
    expect(unavailable.problem.detail).toBe('queue is down (request r-9)');
    expect(unavailable.retryAfterSeconds).toBe(3);
  });

  it('when multipart limits are hit, then 413; a wrong multipart content type is 415', () => {
    const tooLarge = Object.assign(new Error('request file too large'), {
      code: 'FST_REQ_FILE_TOO_LARGE',
      statusCode: 413,
    });
    expect(toProblem(tooLarge, 'r').problem.status).toBe(413);
    const parts = Object.assign(new Error('reach parts limit'), { code: 'FST_PARTS_LIMIT', statusCode: 413 });
    expect(toProblem(parts, 'r').problem.status).toBe(413);
    const wrongType = Object.assign(new Error('the request is not multipart'), {
      code: 'FST_INVALID_MULTIPART_CONTENT_TYPE',
      statusCode: 406,
    });
    expect(toProblem(wrongType, 'r').problem.status).toBe(415);
  });

  it('when a JSON pointer names a field, then the path reads like the body: rows[3].age', () => {
    expect(pointerToPath('/rows/3/age')).toBe('rows[3].age');
    expect(pointerToPath('/training/optimizer/type')).toBe('training.optimizer.type');
    expect(pointerToPath('/a~1b')).toBe('a/b');
    expect(pointerToPath('')).toBe('');
  });
});

describe('JSON parsing', () => {
  it('when nesting is counted, then brackets inside strings do not count', () => {
    expect(jsonDepthExceeds('[[[]]]', 3)).toBe(false);
    expect(jsonDepthExceeds('[[[[]]]]', 3)).toBe(true);
    expect(jsonDepthExceeds(`{"a":"${'['.repeat(100)}"}`, 3)).toBe(false);
    expect(jsonDepthExceeds(`{"a":"\\"${'{'.repeat(10)}"}`, 3)).toBe(false);
  });

  it('when a body has a forbidden key at any depth, then 400 naming it; otherwise the parsed value', () => {
    expect(parseJsonSafely('{"a":[{"b":1}]}')).toEqual({ a: [{ b: 1 }] });
    expect(parseJsonSafely('  ')).toBeUndefined();
    expect(() => parseJsonSafely('{"a":{"__proto__":{"x":1}}}')).toThrow(/forbidden key "__proto__"/);
    expect(() => parseJsonSafely('[{"constructor":1}]')).toThrow(/forbidden key "constructor"/);
    expect(() => parseJsonSafely('{"a":')).toThrow(expect.objectContaining({ status: 400 }));
  });
});
