// The operator's limits, defined once: config.ts reads each from the environment (this default,
// at least 1), the domain checks requests against them, and the README's configuration table is
// tested against this list (tests/ops/limits-readme.test.ts).
import type { CsvLimits } from '../data/index.js';

/** Each limit with its default and what it bounds (the README's wording). */
export const LIMITS = {
  MAX_UPLOAD_BYTES: { default: 100 * 1024 * 1024, about: 'largest dataset upload, bytes' },
  MAX_COLUMNS: { default: 1000, about: 'columns of a table' },
  MAX_ROWS: { default: 1_000_000, about: 'rows of a table' },
  MAX_LINE_BYTES: { default: 1024 * 1024, about: 'longest CSV line, bytes' },
  MAX_EPOCHS: { default: 10_000, about: 'epochs of one job' },
  MAX_LAYERS: { default: 32, about: 'hidden layers of one network' },
  MAX_UNITS: { default: 8192, about: 'units in one layer' },
  MAX_PARAMETERS: { default: 10_000_000, about: 'weights and biases of one network' },
  MAX_RUNTIME_SECONDS: { default: 24 * 3600, about: 'wall-clock limit of one job, seconds' },
  RATE_LIMIT_PER_MINUTE: { default: 600, about: 'requests a minute per API key' },
  PREDICT_RATE_LIMIT_PER_MINUTE: { default: 6000, about: 'prediction requests a minute per API key' },
  MAX_ACTIVE_JOBS_PER_TENANT: { default: 100, about: 'queued plus running jobs of one tenant' },
} as const satisfies Record<string, { default: number; about: string }>;

export type LimitName = keyof typeof LIMITS;
/** The limits in force (the config's values), by name. */
export type Limits = Readonly<Record<LimitName, number>>;

/** The CSV reader's limits (src/data) from the operator's. */
export function csvLimitsOf(limits: Pick<Limits, 'MAX_COLUMNS' | 'MAX_ROWS' | 'MAX_LINE_BYTES'>): CsvLimits {
  return { maxColumns: limits.MAX_COLUMNS, maxRows: limits.MAX_ROWS, maxLineBytes: limits.MAX_LINE_BYTES };
}
