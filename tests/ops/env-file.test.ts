// `.env` is read at start when present, and never overrides a variable the environment sets.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEnvFile } from '../../src/config.js';

describe('readEnvFile', () => {
  const dir = mkdtemp(join(tmpdir(), 'bp-env-'));
  afterAll(async () => {
    delete process.env.BP_TEST_ENV_FILE_A;
    delete process.env.BP_TEST_ENV_FILE_B;
    await rm(await dir, { recursive: true, force: true });
  });

  it('when the file exists, then its variables fill the gaps and set ones win; a missing file is no error', async () => {
    const path = join(await dir, '.env');
    await writeFile(path, '# comment\nBP_TEST_ENV_FILE_A=from-file\nBP_TEST_ENV_FILE_B="quoted value"\n');
    process.env.BP_TEST_ENV_FILE_A = 'from-environment';
    expect(readEnvFile(path)).toBe(true);
    expect(process.env.BP_TEST_ENV_FILE_A).toBe('from-environment');
    expect(process.env.BP_TEST_ENV_FILE_B).toBe('quoted value');
    expect(readEnvFile(join(await dir, 'absent.env'))).toBe(false);
  });
});
