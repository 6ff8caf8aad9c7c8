// The only reader of process.env: parsed once with zod, frozen. Everything else receives a Config.
// A `.env` file in the working directory, when present, fills in variables the environment lacks.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { LIMITS, type LimitName } from './domain/limits.js';

const intFrom = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

/** One variable per operator limit: its default from LIMITS, at least 1. */
function limitFields() {
  const fields = Object.fromEntries(
    (Object.keys(LIMITS) as LimitName[]).map((name) => [name, intFrom(LIMITS[name].default, 1)]),
  );
  return fields as Record<LimitName, ReturnType<typeof intFrom>>;
}
/** An optional variable; set but empty counts as unset (as `NAME=` in .env.example). */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const ApiKeysSchema = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    const keys = new Map<string, string>(); // key -> tenant
    for (const pair of raw.split(',')) {
      const trimmed = pair.trim();
      if (!trimmed) continue;
      const at = trimmed.indexOf(':');
      if (at <= 0 || at === trimmed.length - 1) {
        ctx.addIssue({ code: 'custom', message: 'API_KEYS must be comma-separated tenant:key pairs' });
        return z.NEVER;
      }
      keys.set(trimmed.slice(at + 1), trimmed.slice(0, at));
    }
    return keys;
  });

/** A comma-separated list → its trimmed, non-empty items. */
const listOf = z
  .string()
  .optional()
  .transform((raw) =>
    (raw ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );

export const ConfigSchema = z
  .object({
    PORT: intFrom(3000),
    HOST: z.string().default('127.0.0.1'),
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    /** Prefix of every Redis key (metadata and queue), so several deployments or test files share one Redis. */
    REDIS_PREFIX: z.string().default('bp'),
    DATA_DIR: z.string().default('./data'),
    /**
     * Where dataset, model and checkpoint files live: `local` (under DATA_DIR) or `s3` (an
     * S3-compatible bucket, S3_* below), which lets the API and workers run without a shared volume.
     */
    STORAGE: z.enum(['local', 's3']).default('local'),
    S3_BUCKET: optional(z.string()),
    /** Prepended to every object key, e.g. `backprop/`. */
    S3_PREFIX: z.string().default(''),
    S3_REGION: z.string().min(1).default('us-east-1'),
    /** URL of an S3-compatible server (MinIO, Ceph...); unset means AWS. */
    S3_ENDPOINT: optional(z.url()),
    /** `true` puts the bucket in the path rather than the host name, as most S3-compatible servers want. */
    S3_FORCE_PATH_STYLE: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    /** Both or neither; neither uses the AWS SDK's default credential chain. */
    S3_ACCESS_KEY_ID: optional(z.string()),
    S3_SECRET_ACCESS_KEY: optional(z.string()),
    API_KEYS: ApiKeysSchema,
    WORKER_CONCURRENCY: intFrom(1, 1),
    /**
     * Threads one training job's large matrix products may use: 1, or 2 with the native kernels'
     * helper thread (a second core per job; without the native addon the setting has no effect).
     */
    ENGINE_THREADS: z.coerce.number().int().min(1).max(2).default(1),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    // Limits: uploads, CSV shape, training specs and abuse, as src/domain/limits.ts defines them.
    ...limitFields(),
    REQUEST_TIMEOUT_MS: intFrom(120_000, 1),

    // Queue reliability (see README "Guarantees").
    JOB_ATTEMPTS: intFrom(3, 1),
    LOCK_DURATION_MS: intFrom(30_000, 1000),
    STALLED_INTERVAL_MS: intFrom(15_000, 500),
    SHUTDOWN_GRACE_MS: intFrom(25_000, 1000),
    /**
     * Least time between two checkpoints of a running job, counted from its start (a job shorter
     * than this writes none); 0 writes one after every epoch.
     */
    CHECKPOINT_INTERVAL_MS: intFrom(1000, 0),
    /** How often a worker re-queues recorded jobs that lost their queue entry; they wait 2 × this first. */
    RECONCILE_INTERVAL_MS: intFrom(30_000, 100),
    MODEL_CACHE_SIZE: intFrom(32, 1),
    /** Megabytes of parsed and encoded datasets each training thread keeps for the next jobs; 0 = none. */
    DATASET_CACHE_MB: intFrom(256, 0),

    // Operations.
    /** Origins allowed to call the API from a browser (`*` for any); empty = CORS off. */
    CORS_ORIGINS: listOf,
    /** Tenants whose keys may open the queue view (/queues) when API keys are on. */
    OPS_TENANTS: listOf,

    // Webhooks.
    /** Let webhooks reach loopback, private and link-local addresses (off: such URLs are refused). */
    WEBHOOK_ALLOW_PRIVATE: z
      .enum(['true', 'false', '1', '0'])
      .default('false')
      .transform((v) => v === 'true' || v === '1'),
    /** Tries of one delivery before it is recorded failed. */
    WEBHOOK_ATTEMPTS: intFrom(8, 1),
    /** Wait before the first retry, ms; it doubles with each further retry. */
    WEBHOOK_BACKOFF_MS: intFrom(5000, 1),
    /** Longest a receiver may take to answer, ms. */
    WEBHOOK_TIMEOUT_MS: intFrom(10_000, 100),
  })
  .refine((c) => c.STORAGE !== 's3' || c.S3_BUCKET !== undefined, {
    path: ['S3_BUCKET'],
    message: 'S3_BUCKET is required when STORAGE=s3',
  })
  .refine((c) => (c.S3_ACCESS_KEY_ID === undefined) === (c.S3_SECRET_ACCESS_KEY === undefined), {
    path: ['S3_SECRET_ACCESS_KEY'],
    message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together (set both, or neither)',
  });

export type Config = Readonly<z.infer<typeof ConfigSchema>>;

/**
 * Reads `path` (default `.env` in the working directory) into process.env when it exists, without
 * overriding variables already set. Node's own parser (process.loadEnvFile) reads it.
 */
export function readEnvFile(path = '.env'): boolean {
  if (!existsSync(path)) return false;
  process.loadEnvFile(path);
  return true;
}

/** An environment the service cannot start with: for a person to fix, so its message alone is shown. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * How a process that failed to start reports it on stderr: a configuration error as its message
 * alone (one line per bad setting), anything else with its stack, which is a bug to report.
 */
export function startupFailureText(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/**
 * Parses an environment; throws a ConfigError naming each bad variable. Without an argument it
 * reads process.env, after `.env` (see readEnvFile).
 */
export function loadConfig(env?: Record<string, string | undefined>): Config {
  if (env === undefined) {
    readEnvFile();
    env = process.env;
  }
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || 'env'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return Object.freeze(parsed.data);
}
