// Idempotency-Key (POST /v1/datasets, POST /v1/training-jobs). Semantics:
// - No header: every request creates a resource.
// - First request with a key claims it (Redis SET NX, a pending marker) and runs; its status and
//   body are kept for 24 h together with the fingerprint of its request body.
// - A later request with the same key and the same body gets that original status and body (with
//   header Idempotent-Replayed: true); with a different body it gets 422.
// - Requests that arrive while the first is still running wait for it, so ten at once create
//   exactly one resource. If the first fails, the key is freed and the next waiter runs instead.
// Fingerprints: sha256 of the canonical JSON body for jobs; sha256 of the name and the uploaded
// bytes for datasets. Keys are scoped per tenant and per route.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConflictError, InvalidRequestError, UnprocessableError } from '../domain/errors.js';
import type { FastifyReply } from 'fastify';
import type { IdempotencyStore } from '../domain/ports.js';

export interface IdempotentResult {
  status: number;
  body: unknown;
  replayed: boolean;
}

export interface IdempotencyRunner {
  run(input: {
    tenant: string;
    scope: string;
    key: string | undefined;
    /** Creates the resource: the one thing that must happen once per key. */
    create: () => Promise<{ status: number; body: unknown }>;
    /** The request body's fingerprint; may need the body to be read first. */
    fingerprint: () => Promise<string>;
  }): Promise<IdempotentResult>;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export function sha256Hex(...parts: Array<string | Uint8Array>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** JSON with object keys sorted at every level, so equal bodies give equal fingerprints. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function createIdempotencyRunner(deps: {
  store: IdempotencyStore;
  /** How long a request waits for a concurrent one holding the same key before answering 409. */
  waitTimeoutMs: number;
  pollMs?: number;
}): IdempotencyRunner {
  const pollMs = deps.pollMs ?? 25;
  return {
    async run({ tenant, scope, key, create, fingerprint }) {
      if (key === undefined) return { ...(await create()), replayed: false };
      if (!KEY_PATTERN.test(key)) {
        throw new InvalidRequestError('Idempotency-Key must be 1 to 255 visible ASCII characters', [
          { path: 'Idempotency-Key', message: 'Invalid idempotency key' },
        ]);
      }
      const deadline = Date.now() + deps.waitTimeoutMs;
      for (;;) {
        const claim = await deps.store.claim(tenant, scope, key);
        if (claim.state === 'claimed') {
          let result: { status: number; body: unknown };
          try {
            result = await create();
          } catch (err) {
            await deps.store.release(tenant, scope, key).catch(() => undefined);
            throw err;
          }
          await deps.store.complete(tenant, scope, key, { ...result, fingerprint: await fingerprint() });
          return { ...result, replayed: false };
        }
        if (claim.state === 'done') {
          if ((await fingerprint()) !== claim.response.fingerprint) {
            throw new UnprocessableError(
              'This Idempotency-Key was already used with a different request body',
            );
          }
          return { status: claim.response.status, body: claim.response.body, replayed: true };
        }
        if (Date.now() > deadline) {
          throw new ConflictError('A request with this Idempotency-Key is still in progress; retry later');
        }
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
  };
}

export const IdempotencyKeyHeaderSchema = z
  .string()
  .optional()
  .describe(
    'Makes the POST safe to retry: same key and body within 24 h → the original response; other body → 422',
  );

/**
 * Creates a resource from a JSON body at most once per Idempotency-Key: runs `create` through the
 * runner with the body's canonical-JSON fingerprint, marks a replay with the Idempotent-Replayed
 * header, sets the status on the reply and returns the body to send.
 */
export async function createOnceFromJson<T>(
  idempotency: IdempotencyRunner,
  reply: FastifyReply,
  input: { tenant: string; scope: string; key: string | undefined; body: unknown; status: number },
  create: () => Promise<T>,
): Promise<T> {
  const result = await idempotency.run({
    tenant: input.tenant,
    scope: input.scope,
    key: input.key,
    create: async () => ({ status: input.status, body: await create() }),
    fingerprint: async () => sha256Hex(canonicalJson(input.body)),
  });
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  reply.code(result.status);
  return result.body as T;
}
