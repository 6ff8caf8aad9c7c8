// The deployment files, checked without a Docker engine: the compose file's shape and Redis
// settings, and that every `npm run X` they use is a script that exists.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config.js';
import { repoRoot } from '../helpers/processes.js';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string } | string;
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] | string };
  deploy?: { replicas?: number };
}

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
const dockerfile = read('docker/Dockerfile');
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

/** What an npm script runs, without the `exec` that lets npm's signals reach node. */
const scriptCommand = (name: string) => scripts[name].replace(/^exec /, '');
const commandText = (c: ComposeService['command']) => (Array.isArray(c) ? c.join(' ') : (c ?? ''));
const envOf = (s: ComposeService): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(
        s.environment.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      )
    : (s.environment ?? {});

/** `npm run X` in shell form and in JSON exec form (["npm", "run", "X"]). */
function npmRunScripts(text: string): string[] {
  const shell = [...text.matchAll(/npm\s+run\s+([\w:.-]+)/g)].map((m) => m[1]);
  const exec = [...text.matchAll(/"npm"\s*,\s*"run"\s*,\s*"([\w:.-]+)"/g)].map((m) => m[1]);
  return [...shell, ...exec];
}

/** The volume (name or host path) mounted at a container path. */
function volumeAt(s: ComposeService, containerPath: string): string | undefined {
  return (s.volumes ?? []).map((v) => v.split(':')).find((parts) => parts[1] === containerPath)?.[0];
}

describe('docker-compose.yml', () => {
  const { redis, api, worker } = compose.services;

  it('has the services redis, api and worker', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'redis', 'worker']);
  });

  it('runs Redis with the append-only file on and noeviction, on a volume', () => {
    const command = commandText(redis.command);
    expect(command).toMatch(/--appendonly\s+yes/);
    expect(command).toMatch(/--maxmemory-policy\s+noeviction/);
    expect(volumeAt(redis, '/data')).toBeTruthy();
    expect(redis.healthcheck).toBeDefined();
  });

  it('exposes the API on 0.0.0.0:3000 with REDIS_URL pointing at the redis service', () => {
    const env = envOf(api);
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    expect(api.ports).toContain('3000:3000');
    expect(api.healthcheck).toBeDefined();
  });

  it('runs two workers on the same Redis', () => {
    expect(worker.deploy?.replicas).toBe(2);
    expect(envOf(worker).REDIS_URL).toBe(envOf(api).REDIS_URL);
    expect(worker.healthcheck).toBeDefined();
  });

  it('gives the API and the workers the same volume at DATA_DIR', () => {
    const apiDataDir = envOf(api).DATA_DIR;
    expect(apiDataDir).toBeTruthy();
    expect(envOf(worker).DATA_DIR).toBe(apiDataDir);
    const apiVolume = volumeAt(api, apiDataDir);
    expect(apiVolume).toBeTruthy();
    expect(volumeAt(worker, apiDataDir)).toBe(apiVolume);
  });

  it('sets only variables that src/config.ts knows', () => {
    const known = Object.keys(ConfigSchema.shape);
    for (const name of ['api', 'worker'] as const) {
      expect(Object.keys(envOf(compose.services[name])).filter((k) => !known.includes(k))).toEqual([]);
    }
  });

  it('builds the api and the worker from the one Dockerfile, the command choosing which', () => {
    for (const s of [api, worker]) {
      expect(typeof s.build === 'string' ? s.build : s.build?.dockerfile).toBe('docker/Dockerfile');
    }
    // Plain node on the compiled entry points that `npm run start:api` / `start:worker` run too.
    expect(commandText(api.command)).toBe(scriptCommand('start:api'));
    expect(commandText(worker.command)).toBe(scriptCommand('start:worker'));
  });
});

describe('docker/Dockerfile', () => {
  it('builds in a node:20-slim stage with npm ci and runs a node:20-slim stage without dev dependencies', () => {
    expect(dockerfile).toMatch(/^FROM node:20-slim AS build\b/m);
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toMatch(/npm ci\b/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
  });

  it("runs node itself as the main process (npm would not pass docker stop's SIGTERM on)", () => {
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    expect(cmd).not.toBeNull();
    const args = JSON.parse(cmd![1]) as string[];
    expect(args.join(' ')).toBe(scriptCommand('start:api'));
  });
});

describe('npm scripts used by the deployment files', () => {
  it('every `npm run X` in the Dockerfile and the compose file is a script in package.json', () => {
    const used = [...npmRunScripts(dockerfile), ...npmRunScripts(read('docker-compose.yml'))];
    expect(used.filter((s) => !(s in scripts))).toEqual([]);
  });
});
