// Pieces every route shares: the problem responses of the OpenAPI document, and the tenant.
import { STATUS_CODES } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ProblemSchema } from '../../domain/schemas.js';
import { PROBLEM_CONTENT_TYPE } from '../errors.js';

const WHEN: Record<number, string> = {
  400: 'Malformed or invalid request; `errors` names each bad field',
  401: 'Missing or unknown API key',
  404: 'No such resource for this tenant',
  409: 'The resource is in a state that forbids this',
  413: 'Body or table beyond the configured limits',
  415: 'Unsupported Content-Type',
  422: 'Well-formed but impossible request',
  429: 'Rate limit exceeded; see Retry-After',
  503: 'Redis is unreachable; see Retry-After',
};

export function problemResponse(status: number) {
  return {
    description: WHEN[status] ?? STATUS_CODES[status] ?? 'Error',
    content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
  };
}

/** Problem responses for the given statuses, plus 401, 429 and 503 that every /v1 route can give. */
export function problems(...statuses: number[]) {
  const out: Record<number, ReturnType<typeof problemResponse>> = {};
  for (const s of [...new Set([...statuses, 401, 429, 503])].sort()) out[s] = problemResponse(s);
  return out;
}

/** A success response with a description for the docs (a bare schema would read "Default Response"). */
export function json<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } };
}

export const tenantOf = (request: FastifyRequest): string => request.principal.tenant;

/** `?dryRun=true` (or `1`): check and report instead of creating. */
export const DryRunQuerySchema = z.object({
  dryRun: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1')
    .describe('true: validate and report (200) without queueing or storing anything'),
});
