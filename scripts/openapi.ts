// `npm run openapi`: writes openapi/openapi.json from the route schemas, and the typed client's
// types (clients/typescript/schema.ts) from that document.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generateClientTypes } from '../clients/typescript/generate.js';
import { generateOpenApiDocument } from '../src/http/openapi.js';

const root = join(import.meta.dirname, '..');
const target = join(root, 'openapi', 'openapi.json');
const document = await generateOpenApiDocument();
await mkdir(dirname(target), { recursive: true });
await writeFile(target, document);
console.log(`wrote ${target}`);
const client = join(root, 'clients', 'typescript', 'schema.ts');
await writeFile(client, await generateClientTypes(document));
console.log(`wrote ${client}`);
