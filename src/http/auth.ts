// API keys: `Authorization: Bearer <key>` against config.API_KEYS (key → tenant). Keys are compared
// as sha256 digests with timingSafeEqual, against every configured key, so the time taken says
// nothing about how much of a key matched. Keys are never logged or stored: the rate limiter
// sees only a digest prefix.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';

export const DEFAULT_TENANT = 'default';

export interface Principal {
  tenant: string;
  /** A stable, non-secret id of the key (digest prefix); null when auth is off. */
  keyId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly title = 'Unauthorized';
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Turns an Authorization header value into the request's principal (401 when auth is on and it is not a known key). */
export type Authenticator = (header: string | undefined) => Principal;

export function createAuthenticator(apiKeys: ReadonlyMap<string, string> | undefined): Authenticator {
  const entries = apiKeys ? [...apiKeys].map(([key, tenant]) => ({ hash: digest(key), tenant })) : null;

  /** The principal for an Authorization header value; throws 401 when auth is on and it is not a known key. */
  return function authenticate(header: string | undefined): Principal {
    if (!entries) return { tenant: DEFAULT_TENANT, keyId: null };
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
    if (!match)
      throw new UnauthorizedError('Missing or malformed Authorization header; expected "Bearer <key>"');
    const given = digest(match[1]);
    let tenant: string | null = null;
    for (const e of entries) if (timingSafeEqual(e.hash, given) && tenant === null) tenant = e.tenant;
    if (tenant === null) throw new UnauthorizedError('Unknown API key');
    return { tenant, keyId: given.subarray(0, 12).toString('hex') };
  };
}

const failures = new WeakMap<FastifyRequest, UnauthorizedError>();

/**
 * Two hooks. `identify` (onRequest) works out the principal but does not refuse yet, so the rate
 * limiter that runs next can count a request with a bad key against its client address: guessing
 * keys is rate limited too. `enforce` (preParsing, still before any body is read) refuses it.
 */
export function authHooks(authenticate: ReturnType<typeof createAuthenticator>) {
  return {
    async identify(request: FastifyRequest) {
      try {
        request.principal = authenticate(request.headers.authorization);
      } catch (err) {
        if (!(err instanceof UnauthorizedError)) throw err;
        failures.set(request, err);
      }
    },
    async enforce(request: FastifyRequest) {
      const failure = failures.get(request);
      if (failure) throw failure;
    },
  };
}
