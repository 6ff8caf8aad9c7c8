// openapi/openapi.json is the document the routes generate, valid OpenAPI, with {id} path
// parameters and an operationId on every operation.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApiDocument } from '../../src/http/openapi.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

const COMMITTED = join(import.meta.dirname, '..', '..', 'openapi', 'openapi.json');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

describe('OpenAPI document', () => {
  let fresh: string;
  let doc: {
    paths: Record<
      string,
      Record<string, { operationId?: string; parameters?: Array<{ in: string; name: string }> }>
    >;
  };
  beforeAll(async () => {
    fresh = await generateOpenApiDocument();
    doc = JSON.parse(fresh);
  });

  it('when the routes are documented again, then the committed openapi/openapi.json is identical (run npm run openapi)', async () => {
    expect(await readFile(COMMITTED, 'utf8')).toBe(fresh);
  });

  it('when validated, then it is a valid OpenAPI 3 document', async () => {
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });

  it('when any route takes a path parameter, then it is written {id}; every operation has a unique operationId', () => {
    const ids: string[] = [];
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/datasets/{id}',
        '/v1/models/{id}/predict',
        '/v1/training-jobs/{id}/events',
      ]),
    );
    for (const path of paths) {
      for (const name of path.match(/\{[^}]+\}/g) ?? []) expect(name).toBe('{id}');
      expect(path).not.toMatch(/:\w/);
      for (const [method, op] of Object.entries(doc.paths[path])) {
        if (!METHODS.includes(method)) continue;
        expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
        ids.push(op.operationId!);
        for (const p of op.parameters?.filter((x) => x.in === 'path') ?? []) expect(p.name).toBe('id');
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(13);
  });

  it('when the upload is documented, then it has both multipart (file, name) and text/csv bodies', () => {
    const post = doc.paths['/v1/datasets'].post as unknown as {
      requestBody: {
        content: Record<string, { schema: { properties?: Record<string, { format?: string }> } }>;
      };
    };
    expect(Object.keys(post.requestBody.content).sort()).toEqual(['multipart/form-data', 'text/csv']);
    expect(post.requestBody.content['multipart/form-data'].schema.properties?.file.format).toBe('binary');
  });
});

describe('docs routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { API_KEYS: 'acme:key-acme' } });
  });
  afterAll(async () => t?.close());

  it('when /openapi.json and /docs are fetched without auth, then they answer 200 with the document and a page', async () => {
    const json = await request(t.app.server).get('/openapi.json');
    expect(json.status).toBe(200);
    expect(json.body.openapi).toMatch(/^3\./);
    expect(Object.keys(json.body.paths)).toContain('/v1/training-jobs');
    const docs = await request(t.app.server).get('/docs/').redirects(1);
    expect(docs.status).toBe(200);
    expect(docs.text).toMatch(/swagger/i);
  });
});
