// A service that cannot start because of its environment says so in plain words: the API and the
// worker print the same "Invalid configuration" lines, with no stack trace, and exit 1.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, startupFailureText } from '../../src/config.js';
import { assertBuildIsFresh } from '../helpers/build.js';
import { repoRoot } from '../helpers/processes.js';

/** Runs a compiled entry point with one bad variable; returns its exit status and stderr. */
function startWith(entry: string, env: Record<string, string>) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist', entry)], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe('startup with a bad configuration', () => {
  beforeAll(() => assertBuildIsFresh());

  it('when the worker gets WORKER_CONCURRENCY=0, then it prints the setting without a stack trace and exits 1', () => {
    const r = startWith('worker/main.js', { WORKER_CONCURRENCY: '0' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^Invalid configuration:\n {2}WORKER_CONCURRENCY: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('when the API gets PORT=abc, then it prints the setting without a stack trace and exits 1', () => {
    const r = startWith('http/server.js', { PORT: 'abc' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^Invalid configuration:\n {2}PORT: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('when a startup failure is not a configuration error, then its stack is kept for the bug report', () => {
    const bug = new TypeError('x is undefined');
    expect(startupFailureText(bug)).toBe(bug.stack);
    expect(startupFailureText(new ConfigError('Invalid configuration:\n  PORT: bad'))).toBe(
      'Invalid configuration:\n  PORT: bad',
    );
  });
});
