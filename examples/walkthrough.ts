// The README walkthrough written with the typed client (clients/typescript): upload iris, train
// with the defaults, wait for the job, read the model, predict. Type-checked against the
// generated types (tests/http/client.test.ts) and run against a live API (tests/e2e/client.test.ts).
//   npx tsx examples/walkthrough.ts http://127.0.0.1:3000 [api-key]
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackpropClient, type components } from '../clients/typescript/index.js';

type Problem = components['schemas']['Problem'];

/** Throws the API's problem as an Error naming the step (the walkthrough stops there). */
function check<T>(step: string, result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    const problem = result.error as Partial<Problem> | undefined;
    throw new Error(`step "${step}" failed: HTTP ${result.response.status}: ${problem?.detail ?? ''}`);
  }
  return result.data;
}

/** Runs the walkthrough; returns the prediction for one iris row. */
export async function runWalkthrough(baseUrl: string, apiKey?: string, pollMs = 500) {
  const api = createBackpropClient({ baseUrl, apiKey });
  const csv = await readFile(join(import.meta.dirname, '..', 'tests', 'fixtures', 'iris.csv'), 'utf8');

  // 1. Upload the CSV as the raw body.
  const dataset = check(
    'upload iris',
    await api.POST('/v1/datasets', {
      params: { query: { name: 'iris' } },
      body: csv as never,
      bodySerializer: (body: unknown) => body as string,
      headers: { 'content-type': 'text/csv' },
    }),
  );

  // 2. Train: only the dataset and the target are required. A 503 (queue unreachable for a
  //    moment) is retried after Retry-After with the same Idempotency-Key: one job in any case.
  const idempotencyKey = randomUUID();
  let submittedResult;
  for (let attempt = 1; ; attempt++) {
    submittedResult = await api.POST('/v1/training-jobs', {
      params: { header: { 'idempotency-key': idempotencyKey } },
      body: { datasetId: dataset.id, target: 'species' },
    });
    if (submittedResult.response.status !== 503 || attempt === 3) break;
    const waitS = Number(submittedResult.response.headers.get('retry-after') ?? '1');
    await new Promise((resolve) => setTimeout(resolve, 1000 * waitS));
  }
  const submitted = check('submit the job', submittedResult);

  // A 200 would be a dry run's estimate (?dryRun=true); without it the answer is the queued job.
  if (!('status' in submitted)) throw new Error('step "submit the job" failed: no job was queued');

  // 3. Follow it (without the per-epoch history) until it ends.
  let job = submitted;
  while (job.status === 'queued' || job.status === 'running') {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    job = check(
      'follow the job',
      await api.GET('/v1/training-jobs/{id}', {
        params: { path: { id: submitted.id }, query: { history: 'none' } },
      }),
    );
  }
  if (job.status !== 'succeeded' || !job.modelId) {
    throw new Error(`step "follow the job" failed: the job ended ${job.status}`);
  }

  // 4. The model and its test metrics.
  const model = check(
    'read the model',
    await api.GET('/v1/models/{id}', { params: { path: { id: job.modelId } } }),
  );

  // 5. Predict one row as in the CSV.
  const predicted = check(
    'predict',
    await api.POST('/v1/models/{id}/predict', {
      params: { path: { id: model.id } },
      body: { rows: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }] },
    }),
  );
  return { dataset, job, model, prediction: predicted.predictions[0] };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [baseUrl = 'http://127.0.0.1:3000', apiKey] = process.argv.slice(2);
  runWalkthrough(baseUrl, apiKey).then(
    (r) =>
      console.log(
        JSON.stringify({ model: r.model.id, test: r.model.metrics.test, prediction: r.prediction }),
      ),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
