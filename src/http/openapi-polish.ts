// Finishing touches on the generated OpenAPI document, applied once to the whole of it:
// - zod's ±2^53-1 stand-ins for "any integer" are dropped (the docs page used them as examples);
// - operations without a description get their summary as one;
// - response headers: Location on 201/202, Retry-After on 429/503, the rate-limit headers on /v1;
// - realistic examples from the iris walkthrough (README "Try it with curl") for requests and
//   responses;
// - the health probes say they need no key, and the document names a server (its own origin).

import { createRequire } from 'node:module';

type Json = Record<string, unknown>;

const UNBOUNDED = Number.MAX_SAFE_INTEGER;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

const JOB_ID = 'job_7KpRz2MwQx9cVb1NfTy4LhGe';
const TUNING_ID = 'tun_3QhWc8NzLp5RtYx2MbKv7DsF';

/** Request and response examples of one operation (response examples by status). */
interface OperationExamples {
  /** A JSON body, or the text of a text/csv body. */
  request?: unknown;
  responses?: Record<string, unknown>;
}

/**
 * What the iris walkthrough sent and got back, operation by operation (written by
 * scripts/capture-examples.ts; tests/http/openapi-examples.test.ts checks each against its schema).
 */
const CAPTURED = createRequire(import.meta.url)('./openapi-examples.json') as Record<
  string,
  OperationExamples
>;

/** Event streams cannot be captured as one body: their examples are the first events, by hand. */
const STREAMS: Record<string, OperationExamples> = {
  streamTrainingJobEvents: {
    responses: {
      200:
        `event: status\ndata: {"id":"${JOB_ID}","status":"running",…}\n\n` +
        'event: epoch\ndata: {"epoch":1,"loss":1.0412,"valLoss":0.9876,"valAccuracy":0.6667,"epochs":500}\n\n',
    },
  },
  streamTuningJobEvents: {
    responses: {
      200:
        `event: status\ndata: {"id":"${TUNING_ID}","status":"running","trials":[…],…}\n\n` +
        `event: status\ndata: {"id":"${TUNING_ID}","status":"succeeded","modelId":"mdl_…",…}\n\n`,
    },
  },
};

const EXAMPLES: Record<string, OperationExamples> = { ...CAPTURED, ...STREAMS };

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Drops the integer bounds that only mean "any safe integer". */
function dropFakeBounds(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(dropFakeBounds);
  if (!isObject(node)) return;
  if (node.minimum === -UNBOUNDED) delete node.minimum;
  if (node.maximum === UNBOUNDED) delete node.maximum;
  Object.values(node).forEach(dropFakeBounds);
}

const header = (description: string, schema: Json = { type: 'integer', minimum: 0 }) => ({
  description,
  schema,
});

const RATE_LIMIT_HEADERS = {
  'x-ratelimit-limit': header('Requests allowed in the current one-minute window'),
  'x-ratelimit-remaining': header('Requests left in the current window'),
  'x-ratelimit-reset': header('Seconds until the window resets'),
};

function addHeaders(path: string, status: string, response: Json): void {
  const headers: Json = {
    'x-request-id': header('The request id (the one sent, or a new UUID)', { type: 'string' }),
  };
  if (status === '201' || status === '202') {
    headers.location = header('Path of the created resource', { type: 'string', format: 'uri-reference' });
  }
  if (status === '429' || status === '503')
    headers['retry-after'] = header('Seconds to wait before retrying');
  if (path.startsWith('/v1/') && status !== '401') Object.assign(headers, RATE_LIMIT_HEADERS);
  response.headers = { ...(response.headers as Json | undefined), ...headers };
}

function addExamples(operation: Json, examples: OperationExamples): void {
  const body = (operation.requestBody as Json | undefined)?.content as Json | undefined;
  const media = typeof examples.request === 'string' ? 'text/csv' : 'application/json';
  if (body && examples.request !== undefined && isObject(body[media])) {
    (body[media] as Json).example = examples.request;
  }
  const responses = operation.responses as Json;
  for (const [status, example] of Object.entries(examples.responses ?? {})) {
    const content = (responses[status] as Json | undefined)?.content as Json | undefined;
    const first = content && Object.values(content)[0];
    if (isObject(first)) first.example = example;
  }
}

/** Applies the finishing touches in place and returns the document. */
export function polishOpenApiDocument<T>(document: T): T {
  const doc = document as Json;
  dropFakeBounds(doc.components);
  dropFakeBounds(doc.paths);
  doc.servers = [{ url: '/', description: 'This API (the origin the document was fetched from)' }];
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Json>)) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (!operation) continue;
      operation.description ??= operation.summary;
      if (!path.startsWith('/v1/')) operation.security = [];
      for (const [status, response] of Object.entries(operation.responses as Record<string, Json>)) {
        addHeaders(path, status, response);
      }
      const examples = EXAMPLES[operation.operationId as string];
      if (examples) addExamples(operation, examples);
    }
  }
  return document;
}
