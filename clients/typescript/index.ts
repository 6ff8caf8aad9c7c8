// Typed client of the Backprop API: openapi-fetch over the types generated from
// openapi/openapi.json (clients/typescript/schema.ts, rewritten by `npm run openapi`), so a
// change of the contract that breaks a caller breaks the type check.
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { components, operations, paths } from './schema.js';

export interface BackpropClientOptions {
  /** Where the API answers, e.g. http://127.0.0.1:3000 */
  baseUrl: string;
  /** The API key (sent as `Authorization: Bearer`); omit when API_KEYS is unset. */
  apiKey?: string;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

/** A client whose methods (GET, POST, …) take the API's paths and check bodies and params. */
export function createBackpropClient(options: BackpropClientOptions): Client<paths> {
  return createClient<paths>({
    baseUrl: options.baseUrl,
    headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
