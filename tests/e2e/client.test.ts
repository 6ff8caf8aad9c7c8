// End to end with the typed client: examples/walkthrough.ts against a live API and worker.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWalkthrough } from '../../examples/walkthrough.js';
import { createLogger } from '../../src/logger.js';
import { startTrainingWorker, type TrainingWorker } from '../../src/worker/main.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('the walkthrough with the typed client', () => {
  let t: TestApp;
  let worker: TrainingWorker;
  let baseUrl: string;
  beforeAll(async () => {
    t = await createTestApp({ env: { API_KEYS: 'acme:key-acme' } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    worker = startTrainingWorker(t.config, createLogger('silent', 'worker'));
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
  });

  it('when it runs with the key, then the iris model is trained and predicts setosa for a setosa row', async () => {
    const r = await runWalkthrough(baseUrl, 'key-acme', 100);
    expect(r.job.status).toBe('succeeded');
    expect(r.job.history).toEqual([]); // asked for without its history
    expect(r.model.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(
      r.model.metrics.test && 'accuracy' in r.model.metrics.test && r.model.metrics.test.accuracy,
    ).toBeGreaterThanOrEqual(0.9);
    expect(r.prediction).toMatchObject({ label: 'setosa' });
  }, 120_000);

  it('when the key is wrong, then it stops at the upload naming the step and the 401', async () => {
    await expect(runWalkthrough(baseUrl, 'wrong')).rejects.toThrow(
      /^step "upload iris" failed: HTTP 401: Unknown API key/,
    );
  });
});
