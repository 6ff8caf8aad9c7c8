// examples/walkthrough.sh, the README's curl walkthrough, run against a live API and worker: it
// goes through to a prediction, and stops with a message naming the step when one fails.
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startTrainingWorker, type TrainingWorker } from '../../src/worker/main.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { repoRoot } from '../helpers/processes.js';

const SCRIPT = join(repoRoot, 'examples', 'walkthrough.sh');

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples/walkthrough.sh', () => {
  let t: TestApp;
  let worker: TrainingWorker;
  let api: string;
  beforeAll(async () => {
    t = await createTestApp({ env: { API_KEYS: 'acme:key-acme' } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    api = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    worker = startTrainingWorker(t.config, createLogger('silent', 'worker'));
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  it('when the API is up and the key is right, then it runs to the batch prediction result and exits 0', async () => {
    const r = await run({ API: api, API_KEY: 'key-acme' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^dataset: ds_/m);
    expect(r.stdout).toMatch(/^succeeded /m);
    expect(r.stdout).toContain('"label":"setosa"');
    expect(r.stdout).toMatch(/^label,probability:setosa,/m);
    // Export, evaluation and batch prediction: the export's size, the evaluation's accuracies
    // (model and baselines), the result CSV's header with the kept column.
    expect(r.stdout).toMatch(/^exported: .*iris-model-mdl_\w+\.json \(\d+ bytes\)$/m);
    expect(r.stdout).toMatch(/^"accuracy":0?\.\d+|^"accuracy":1/m);
    expect(r.stdout).toMatch(/^species,label,probability:setosa,/m);
  }, 120_000);

  it('when the key is wrong, then it stops at the upload with the 401 problem', async () => {
    const r = await run({ API: api, API_KEY: 'wrong' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^step "upload iris" failed: HTTP 401: .*Unknown API key/);
    expect(r.stdout).toBe('');
  });

  it('when nothing listens at API, then it says it cannot reach it and asks whether the API runs', async () => {
    const r = await run({ API: 'http://127.0.0.1:9', API_KEY: 'key-acme' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^step "upload iris" failed: cannot reach http:\/\/127\.0\.0\.1:9: curl: .*npm start/,
    );
  });
});
