// Finishing touches on the generated OpenAPI document, applied once to the whole of it:
// - zod's ±2^53-1 stand-ins for "any integer" are dropped (the docs page used them as examples);
// - operations without a description get their summary as one;
// - response headers: Location on 201/202, Retry-After on 429/503, the rate-limit headers on /v1;
// - realistic examples from the iris walkthrough (README "Try it with curl") for requests and
//   responses;
// - the health probes say they need no key, and the document names a server (its own origin).

type Json = Record<string, unknown>;

const UNBOUNDED = Number.MAX_SAFE_INTEGER;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

const IRIS_ROW = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const DATASET_ID = 'ds_4nXbq1Vf0cRk2LwT8hYs3JdA';
const JOB_ID = 'job_7KpRz2MwQx9cVb1NfTy4LhGe';

/** Request and response examples by operationId (response examples by status). */
const EXAMPLES: Record<string, { request?: unknown; csv?: string; responses?: Record<string, unknown> }> = {
  createTrainingJob: { request: { datasetId: DATASET_ID, target: 'species' } },
  predict: {
    request: { rows: [IRIS_ROW] },
    responses: {
      200: {
        predictions: [
          { label: 'setosa', probabilities: { setosa: 0.978, versicolor: 0.0186, virginica: 0.0034 } },
        ],
      },
    },
  },
  predictCsv: {
    request: { rows: [{ sepal_length: 6.7, petal_length: 5.8 }] },
    responses: {
      200: 'label,probability:setosa,probability:versicolor,probability:virginica\nvirginica,0.0004,0.0257,0.9739\n',
    },
  },
  createDataset: {
    csv: 'sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n',
  },
  getTrainingJobHistory: {
    responses: {
      200: {
        data: [
          { epoch: 1, loss: 1.0412, valLoss: 0.9876, valAccuracy: 0.6667 },
          { epoch: 2, loss: 0.9311, valLoss: 0.8803, valAccuracy: 0.7083 },
        ],
        total: 409,
        nextOffset: 2,
      },
    },
  },
  streamTrainingJobEvents: {
    responses: {
      200:
        `event: status\ndata: {"id":"${JOB_ID}","status":"running",…}\n\n` +
        'event: epoch\ndata: {"epoch":1,"loss":1.0412,"valLoss":0.9876,"valAccuracy":0.6667,"epochs":500}\n\n',
    },
  },
};

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

function addExamples(operation: Json, examples: (typeof EXAMPLES)[string]): void {
  const body = (operation.requestBody as Json | undefined)?.content as Json | undefined;
  if (body && examples.request !== undefined && isObject(body['application/json'])) {
    (body['application/json'] as Json).example = examples.request;
  }
  if (body && examples.csv !== undefined && isObject(body['text/csv'])) {
    (body['text/csv'] as Json).example = examples.csv;
  }
  const responses = operation.responses as Json;
  for (const [status, example] of Object.entries(examples.responses ?? {})) {
    const content = (responses[status] as Json | undefined)?.content as Json | undefined;
    const media = content && Object.values(content)[0];
    if (isObject(media)) media.example = example;
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
