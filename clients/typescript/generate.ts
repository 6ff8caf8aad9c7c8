// The client's types, generated from openapi/openapi.json with openapi-typescript (the same
// options every time, so `npm run openapi` and the drift test produce the same text).
import openapiTS, { COMMENT_HEADER, astToString } from 'openapi-typescript';

/** The text of clients/typescript/schema.ts for an OpenAPI document (its JSON text). */
export async function generateClientTypes(documentJson: string): Promise<string> {
  const ast = await openapiTS(JSON.parse(documentJson), { alphabetize: true, defaultNonNullable: false });
  return `${COMMENT_HEADER}${astToString(ast)}`;
}
