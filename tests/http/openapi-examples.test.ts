// Every operation of the OpenAPI document carries a realistic example (captured from the iris
// walkthrough by scripts/capture-examples.ts) for its request body and its success response, and
// every JSON example is valid against the schema it illustrates, so the docs page's "Try it out"
// sends something the API accepts. When this fails after a contract change: npm run openapi:examples.
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApiDocument } from '../../src/http/openapi.js';

type Media = { schema?: object; example?: unknown };
type Operation = {
  operationId: string;
  description?: string;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

describe('OpenAPI examples', () => {
  let operations: Operation[];
  beforeAll(async () => {
    const doc = (await SwaggerParser.dereference(JSON.parse(await generateOpenApiDocument()))) as unknown as {
      paths: Record<string, Record<string, Operation>>;
    };
    operations = Object.values(doc.paths).flatMap((item) =>
      METHODS.flatMap((m) => (item[m] ? [item[m]] : [])),
    );
  });

  it('when any operation is documented, then it has a description, request examples and a success response example', () => {
    expect(operations.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const op of operations) {
      if (!op.description) missing.push(`${op.operationId}: description`);
      // A body that comes in several media types needs one example, in the main one (JSON or CSV).
      const bodies = Object.values(op.requestBody?.content ?? {});
      if (bodies.length > 0 && !bodies.some((m) => m.example !== undefined)) {
        missing.push(`${op.operationId}: request example`);
      }
      const success = Object.entries(op.responses).find(([s, r]) => s.startsWith('2') && r.content);
      if (success && !Object.values(success[1].content!).some((m) => m.example !== undefined)) {
        missing.push(`${op.operationId}: ${success[0]} response example`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('when a JSON example is checked against its schema, then it is valid', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const invalid: string[] = [];
    const check = (where: string, media: Media | undefined) => {
      if (!media?.schema || media.example === undefined || typeof media.example === 'string') return;
      const validate = ajv.compile(media.schema);
      if (!validate(media.example)) invalid.push(`${where}: ${ajv.errorsText(validate.errors)}`);
    };
    for (const op of operations) {
      check(`${op.operationId} request`, op.requestBody?.content['application/json']);
      for (const [status, response] of Object.entries(op.responses)) {
        check(`${op.operationId} ${status}`, response.content?.['application/json']);
      }
    }
    expect(invalid).toEqual([]);
  });
});
