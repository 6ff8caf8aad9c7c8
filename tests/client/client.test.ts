// The typed client (clients/typescript): its types are what openapi-typescript makes of the
// committed document, and the README walkthrough written with it (examples/walkthrough.ts)
// type-checks against types generated afresh, so a contract change that breaks callers fails here.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { generateClientTypes } from '../../clients/typescript/generate.js';
import { repoRoot } from '../helpers/processes.js';

const run = promisify(execFile);

describe('typed client', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('when the types are generated from openapi/openapi.json, then they equal the committed schema.ts', async () => {
    const document = await readFile(join(repoRoot, 'openapi', 'openapi.json'), 'utf8');
    const committed = await readFile(join(repoRoot, 'clients', 'typescript', 'schema.ts'), 'utf8');
    expect(await generateClientTypes(document), 'run `npm run openapi`').toBe(committed);
  });

  it('when the walkthrough is type-checked against freshly generated types, then tsc finds no error', async () => {
    // Inside the repository so that packages resolve from its node_modules.
    const dir = await mkdtemp(join(repoRoot, '.client-check-'));
    dirs.push(dir);
    await mkdir(join(dir, 'clients', 'typescript'), { recursive: true });
    await mkdir(join(dir, 'examples'));
    const document = await readFile(join(repoRoot, 'openapi', 'openapi.json'), 'utf8');
    await writeFile(join(dir, 'clients', 'typescript', 'schema.ts'), await generateClientTypes(document));
    await copyFile(
      join(repoRoot, 'clients', 'typescript', 'index.ts'),
      join(dir, 'clients', 'typescript', 'index.ts'),
    );
    await copyFile(join(repoRoot, 'examples', 'walkthrough.ts'), join(dir, 'examples', 'walkthrough.ts'));
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../tsconfig.json',
        compilerOptions: { noEmit: true, types: ['node'] },
        include: ['clients', 'examples'],
      }),
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')]).then(
      () => ({ code: 0, out: '' }),
      (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
    );
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);
});
