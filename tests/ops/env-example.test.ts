// .env.example documents every variable of src/config.ts with its real default.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, loadConfig } from '../../src/config.js';
import { repoRoot } from '../helpers/processes.js';

function parseEnvFile(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const eq = line.indexOf('=');
      return [line.slice(0, eq), line.slice(eq + 1)] as const;
    });
  return Object.fromEntries(entries);
}

const example = parseEnvFile(readFileSync(join(repoRoot, '.env.example'), 'utf8'));

describe('.env.example', () => {
  it('lists every variable of src/config.ts, and only those', () => {
    expect(Object.keys(example).sort()).toEqual(Object.keys(ConfigSchema.shape).sort());
  });

  it('gives each variable its default: loading the file equals loading an empty environment', () => {
    expect(loadConfig(example)).toEqual(loadConfig({}));
  });
});
