// The app the batch prediction and evaluation tests share: two tenants (acme, other) and two
// models of acme trained in this process, a classifier on iris and a regressor on mpg.
import request from 'supertest';
import { expect } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { trainAndSave } from '../helpers/trained-model.js';

export const ACME = { authorization: 'Bearer key-acme' };
export const OTHER = { authorization: 'Bearer key-other' };

export interface ScoringApp {
  t: TestApp;
  irisModel: string;
  mpgModel: string;
  api(): ReturnType<typeof request>;
  /** Uploads CSV text as a dataset of the tenant; its id. */
  uploadCsv(text: string, auth?: typeof ACME): Promise<string>;
}

export async function createScoringApp(epochs = { iris: 30, mpg: 20 }): Promise<ScoringApp> {
  const t = await createTestApp({ env: { API_KEYS: 'acme:key-acme,other:key-other' } });
  const iris = await trainAndSave(t, 'acme', 'iris.csv', {
    target: 'species',
    training: { epochs: epochs.iris },
  });
  const mpg = await trainAndSave(t, 'acme', 'cases/mpg-clean.csv', {
    target: 'mpg',
    training: { epochs: epochs.mpg },
  });
  const api = () => request(t.app.server);
  return {
    t,
    irisModel: iris.model.id,
    mpgModel: mpg.model.id,
    api,
    async uploadCsv(text, auth = ACME) {
      const res = await api()
        .post('/v1/datasets?name=scored')
        .set(auth)
        .set('content-type', 'text/csv')
        .send(text);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as string;
    },
  };
}
