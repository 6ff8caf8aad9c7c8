// The Redis scripts of this folder, registered as commands (ioredis defineCommand: EVALSHA, with
// EVAL when Redis does not know the script yet). Each file is `<name>-<number of keys>.lua` with a
// header naming its KEYS, ARGV and output; the functions below are their typed call sites.
import { readFileSync } from 'node:fs';
import type { Redis } from '../redis.js';

/** A command as ioredis adds it to the client: keys first, then the arguments. */
type RawCommand = (...keysAndArgs: string[]) => Promise<unknown>;

function load(redis: Redis, file: string): RawCommand {
  const match = /^(.+)-(\d+)\.lua$/.exec(file);
  if (!match) throw new Error(`${file}: a command file is named <name>-<number of keys>.lua`);
  const name = match[1].replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
  const commands = redis as unknown as Record<string, RawCommand | undefined>;
  if (!commands[name]) {
    const lua = readFileSync(new URL(file, import.meta.url), 'utf8');
    redis.defineCommand(name, { numberOfKeys: Number(match[2]), lua });
  }
  return (...keysAndArgs) => commands[name]!.apply(redis, keysAndArgs);
}

/** The job store's scripts (see each .lua file's header for the meaning of every key and argument). */
export interface JobCommands {
  /** job-cas-8.lua: 1 written, 0 the revision moved. */
  jobCas(
    keys: [string, string, string, string, string, string, string, string],
    argv: string[],
  ): Promise<number>;
  /** job-create-6.lua: 1 created, -1 the tenant's cap of active jobs is reached. */
  jobCreate(
    keys: [string, string, string, string, string, string],
    argv: [string, string, string, string],
  ): Promise<number>;
  /** job-append-epochs-3.lua: [owned 0/1, cancelRequested 0/1, number appended]. */
  jobAppendEpochs(
    keys: [string, string, string],
    token: string,
    pairs: string[],
  ): Promise<[number, number, number]>;
}

/** Registers the job scripts on this connection (once) and returns their typed call sites. */
export function jobCommands(redis: Redis): JobCommands {
  const cas = load(redis, 'job-cas-8.lua');
  const create = load(redis, 'job-create-6.lua');
  const append = load(redis, 'job-append-epochs-3.lua');
  return {
    jobCas: async (keys, argv) => Number(await cas(...keys, ...argv)),
    jobCreate: async (keys, argv) => Number(await create(...keys, ...argv)),
    jobAppendEpochs: async (keys, token, pairs) =>
      (await append(...keys, token, ...pairs)) as [number, number, number],
  };
}

/** The leased record store's script (record-cas-3.lua). */
export interface RecordCommands {
  /** record-cas-3.lua: 1 written, 0 the revision moved. */
  recordCas(keys: [string, string, string], argv: [string, string, string, string]): Promise<number>;
}

/** Registers the leased record script on this connection (once) and returns its typed call site. */
export function recordCommands(redis: Redis): RecordCommands {
  const cas = load(redis, 'record-cas-3.lua');
  return { recordCas: async (keys, argv) => Number(await cas(...keys, ...argv)) };
}
