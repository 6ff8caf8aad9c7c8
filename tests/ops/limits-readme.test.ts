// The README's configuration table shows every operator limit with the default that
// src/domain/limits.ts defines (and config.ts applies), so the two cannot drift apart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { LIMITS, type LimitName } from '../../src/domain/limits.js';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

/** The README table row naming `name`, split into its cells. */
function row(name: string): string[] | undefined {
  const line = readme.split('\n').find((l) => l.startsWith('|') && l.includes(`\`${name}\``));
  return line?.split('|').map((c) => c.trim());
}

describe('limits', () => {
  it('when nothing is set, then the config holds each limit at its one defined default', () => {
    const config = loadConfig({});
    for (const name of Object.keys(LIMITS) as LimitName[])
      expect(config[name], name).toBe(LIMITS[name].default);
  });

  it('when the README lists the configuration, then each limit appears with its default', () => {
    for (const name of Object.keys(LIMITS) as LimitName[]) {
      const cells = row(name);
      expect(cells, `README has no row for ${name}`).toBeDefined();
      // Rows may name two variables ("`MAX_COLUMNS`, `MAX_ROWS`") with their defaults in order.
      const names = [...cells![1].matchAll(/`(\w+)`/g)].map((m) => m[1]);
      const defaults = [...cells![3].matchAll(/`(\d+)`/g)].map((m) => Number(m[1]));
      expect(defaults[names.indexOf(name)], `${name} default in README`).toBe(LIMITS[name].default);
    }
  });
});
