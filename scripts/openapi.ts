// `npm run openapi`: writes openapi/openapi.json from the route schemas.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generateOpenApiDocument } from '../src/http/openapi.js';

const target = join(import.meta.dirname, '..', 'openapi', 'openapi.json');
await mkdir(dirname(target), { recursive: true });
await writeFile(target, await generateOpenApiDocument());
console.log(`wrote ${target}`);
