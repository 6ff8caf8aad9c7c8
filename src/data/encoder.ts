// Fit on the training split, then transform any rows the same way: mean imputation, scaling and
// one-hot encoding of the features; label encoding (classification) or standardization
// (regression) of the target. Serializable to plain, versioned JSON.
import { z } from 'zod';
import {
  classList,
  findColumn,
  isMissingCell,
  numericStats,
  parseNumberCell,
  type Column,
  type Table,
} from './schema.js';

/** Every scaling of numeric features the encoder applies. */
export const SCALINGS = ['standardize', 'minmax', 'robust', 'none'] as const;
export type Scaling = (typeof SCALINGS)[number];
/** What prediction does with a category training never saw: treat it as missing, or refuse the row. */
export const UNKNOWN_CATEGORY_POLICIES = ['missing', 'error'] as const;
export type UnknownCategoryPolicy = (typeof UNKNOWN_CATEGORY_POLICIES)[number];
export type Task = 'classification' | 'regression';

export interface EncoderOptions {
  features: string[];
  target: string;
  task: Task;
  scaling: Scaling;
  /** Two classes as one sigmoid output (y = 1 for classes[1]) instead of a two-way softmax. */
  binaryOutput?: boolean;
  /** A category not seen in training, at prediction: all zeros ('missing', the default) or an error. */
  unknownCategory?: UnknownCategoryPolicy;
  /** A numeric feature with missing training values gets a second input, 1 where the value was missing. Default false. */
  missingIndicators?: boolean;
  /** A categorical feature with exactly two categories and no missing training value is one 0/1 input. Default false. */
  binaryAsOneInput?: boolean;
}

/** The bound of the smooth clip after robust scaling: x / √(1 + (x/3)²) maps into (−3, 3). */
export const SMOOTH_CLIP = 3;

/** The spec cannot be encoded with this table (unknown column, wrong target type, too few classes). */
export class EncoderError extends Error {
  override name = 'EncoderError';
  constructor(
    message: string,
    readonly column?: string,
  ) {
    super(message);
  }
}

/** A prediction value that cannot be read for its column; `row` is the 0-based index in the request. */
export class RowValueError extends Error {
  override name = 'RowValueError';
  constructor(
    message: string,
    readonly row: number,
    readonly column: string,
  ) {
    super(message);
  }
}

const NumericFeatureSchema = z.object({
  name: z.string(),
  type: z.literal('numeric'),
  /** The training mean, used for missing values. */
  impute: z.number(),
  /** x' = (x - shift) / scale. */
  shift: z.number(),
  scale: z.number().positive(),
  /** Then x'' = x' / √(1 + (x'/clip)²), a smooth clip into (−clip, clip) (robust scaling). */
  clip: z.number().positive().optional(),
  /** A second input: 1 when the value is missing, else 0. */
  missingIndicator: z.boolean().optional(),
});
const CategoricalFeatureSchema = z.object({
  name: z.string(),
  type: z.literal('categorical'),
  /** The categories seen in training, each one input, sorted. */
  categories: z.array(z.string()),
  /** Training had missing values: one more input after the categories marks a missing value. */
  missingSlot: z.boolean(),
  /** Two categories as one input: 0 for categories[0], 1 for categories[1], ½ when missing or unknown. */
  oneInput: z.boolean().optional(),
});
const FeatureStateSchema = z.discriminatedUnion('type', [NumericFeatureSchema, CategoricalFeatureSchema]);
type FeatureState = z.infer<typeof FeatureStateSchema>;

export const EncoderJSONSchema = z
  .object({
    version: z.literal(1),
    task: z.enum(['classification', 'regression']),
    scaling: z.enum(SCALINGS),
    target: z.string(),
    features: z.array(FeatureStateSchema).min(1),
    classes: z.array(z.string()).nullable(),
    binaryOutput: z.boolean(),
    unknownCategory: z.enum(UNKNOWN_CATEGORY_POLICIES),
    /** Regression: y' = (y - targetMean) / targetStd with training statistics. */
    targetMean: z.number(),
    targetStd: z.number().positive(),
  })
  .superRefine((j, ctx) => {
    if (j.task === 'classification' && (j.classes === null || j.classes.length < 2)) {
      ctx.addIssue({
        code: 'custom',
        message: 'a classification encoder needs at least two classes',
        path: ['classes'],
      });
    }
    if (j.binaryOutput && j.classes?.length !== 2) {
      ctx.addIssue({
        code: 'custom',
        message: 'binaryOutput needs exactly two classes',
        path: ['binaryOutput'],
      });
    }
  });
export type EncoderJSON = z.infer<typeof EncoderJSONSchema>;

export interface Encoded {
  /** rows × inputSize, row-major. */
  x: Float32Array;
  /** rows × outputSize: one-hot (softmax), 0/1 (sigmoid) or the standardized value (regression). */
  y: Float32Array;
  rows: number;
  /** Class index per kept row (classification), else null. */
  labels: Int32Array | null;
  /** The table rows encoded, in order: the requested rows less those with a missing or unknown target. */
  kept: Int32Array;
}

export class Encoder {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly classes: string[] | null;
  readonly features: { name: string; type: 'numeric' | 'categorical' }[];
  readonly task: Task;
  readonly target: string;
  private readonly state: EncoderJSON;
  private readonly classIndex: Map<string, number>;
  private readonly categoryIndex: Map<string, number>[];

  private constructor(state: EncoderJSON) {
    this.state = state;
    this.task = state.task;
    this.target = state.target;
    this.classes = state.classes ? [...state.classes] : null;
    this.features = state.features.map((f) => ({ name: f.name, type: f.type }));
    this.inputSize = state.features.reduce((n, f) => n + width(f), 0);
    this.outputSize = state.task === 'regression' || state.binaryOutput ? 1 : state.classes!.length;
    this.classIndex = new Map((state.classes ?? []).map((c, i) => [c, i]));
    this.categoryIndex = state.features.map(
      (f) => new Map(f.type === 'categorical' ? f.categories.map((c, i) => [c, i]) : []),
    );
  }

  /** @internal use fitEncoder */
  static fromState(state: EncoderJSON): Encoder {
    return new Encoder(state);
  }

  /** Rebuilds an encoder from toJSON() output; throws EncoderError naming what is invalid. */
  static fromJSON(j: unknown): Encoder {
    const parsed = EncoderJSONSchema.safeParse(j);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new EncoderError(`invalid encoder JSON at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return new Encoder(parsed.data);
  }

  /** How many network inputs each feature takes, in the order of `features`. */
  featureWidths(): number[] {
    return this.state.features.map(width);
  }

  toJSON(): EncoderJSON {
    return structuredClone(this.state);
  }

  /** Encodes table rows for training or evaluation. Rows whose target is missing (or an unknown class) are left out. */
  transform(table: Table, rows: Int32Array): Encoded {
    const cols = this.state.features.map((f) => {
      const col = findColumn(table, f.name);
      if (!col) throw new EncoderError(`the table has no column "${f.name}"`, f.name);
      if (col.type !== f.type)
        throw new EncoderError(`column "${f.name}" is ${col.type}, the encoder expects ${f.type}`, f.name);
      return col;
    });
    const targetCol = findColumn(table, this.target);
    if (!targetCol) throw new EncoderError(`the table has no column "${this.target}"`, this.target);
    const targets = new Float64Array(rows.length); // class index or raw value; NaN drops the row
    for (let i = 0; i < rows.length; i++) targets[i] = this.targetOf(targetCol, rows[i]);
    let n = 0;
    for (let i = 0; i < rows.length; i++) if (!Number.isNaN(targets[i])) n++;

    const kept = new Int32Array(n);
    const x = new Float32Array(n * this.inputSize);
    const y = new Float32Array(n * this.outputSize);
    const labels = this.task === 'classification' ? new Int32Array(n) : null;
    let k = 0;
    for (let i = 0; i < rows.length; i++) {
      const t = targets[i];
      if (Number.isNaN(t)) continue;
      const r = rows[i];
      kept[k] = r;
      let off = k * this.inputSize;
      for (let f = 0; f < cols.length; f++) {
        const col = cols[f];
        off = this.writeFeature(f, col.type === 'numeric' ? col.values[r] : col.values[r], x, off, k, false);
      }
      this.writeTarget(t, y, k, labels);
      k++;
    }
    return { x, y, rows: n, labels, kept };
  }

  /**
   * Encodes prediction rows given as raw values, as in the CSV: numbers or numeric strings for
   * numeric features; strings (numbers and booleans as their string form) for categorical ones.
   * null or absent is missing; keys the encoder does not use are ignored.
   */
  transformRecords(records: Record<string, unknown>[]): Float32Array {
    const x = new Float32Array(records.length * this.inputSize);
    for (let i = 0; i < records.length; i++) {
      const rec = records[i];
      if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
        throw new RowValueError(`row ${i} is not an object of column values`, i, '');
      }
      let off = i * this.inputSize;
      for (let f = 0; f < this.state.features.length; f++) {
        const feat = this.state.features[f];
        const raw = Object.hasOwn(rec, feat.name) ? rec[feat.name] : undefined;
        const value =
          feat.type === 'numeric' ? readNumber(raw, i, feat.name) : readCategory(raw, i, feat.name);
        off = this.writeFeature(f, value, x, off, i, true);
      }
    }
    return x;
  }

  /** A regression output back in the target's units: y = y' × std + mean. */
  decodeValue(v: number): number {
    return v * this.state.targetStd + this.state.targetMean;
  }

  private targetOf(col: Column, r: number): number {
    if (this.task === 'regression') return col.type === 'numeric' ? col.values[r] : Number.NaN;
    const key =
      col.type === 'numeric' ? (Number.isNaN(col.values[r]) ? null : String(col.values[r])) : col.values[r];
    if (key === null) return Number.NaN;
    return this.classIndex.get(key) ?? Number.NaN;
  }

  private writeTarget(t: number, y: Float32Array, k: number, labels: Int32Array | null): void {
    if (this.task === 'regression') {
      y[k] = (t - this.state.targetMean) / this.state.targetStd;
      return;
    }
    labels![k] = t;
    if (this.state.binaryOutput) y[k] = t;
    else y[k * this.outputSize + t] = 1;
  }

  /** Writes feature f of row `row` at x[off…]; returns the offset after it. */
  private writeFeature(
    f: number,
    value: number | string | null,
    x: Float32Array,
    off: number,
    row: number,
    strict: boolean,
  ): number {
    const feat = this.state.features[f];
    if (feat.type === 'numeric') {
      const present = typeof value === 'number' && !Number.isNaN(value);
      const s = ((present ? value : feat.impute) - feat.shift) / feat.scale;
      x[off] = feat.clip ? s / Math.sqrt(1 + (s / feat.clip) ** 2) : s;
      if (!feat.missingIndicator) return off + 1;
      x[off + 1] = present ? 0 : 1;
      return off + 2;
    }
    const size = width(feat);
    if (feat.oneInput) {
      const idx = typeof value === 'string' ? this.categoryIndex[f].get(value) : undefined;
      if (idx === undefined && typeof value === 'string' && strict && this.state.unknownCategory === 'error')
        throw new RowValueError(
          `row ${row}, column "${feat.name}": the category "${value}" was not seen in training`,
          row,
          feat.name,
        );
      x[off] = idx === undefined ? 0.5 : idx;
      return off + 1;
    }
    if (value === null || typeof value !== 'string') {
      if (feat.missingSlot) x[off + size - 1] = 1;
      return off + size;
    }
    const idx = this.categoryIndex[f].get(value);
    if (idx !== undefined) x[off + idx] = 1;
    else if (strict && this.state.unknownCategory === 'error') {
      throw new RowValueError(
        `row ${row}, column "${feat.name}": the category "${value}" was not seen in training`,
        row,
        feat.name,
      );
    }
    return off + size;
  }
}

function width(f: FeatureState): number {
  if (f.type === 'numeric') return f.missingIndicator ? 2 : 1;
  return f.oneInput ? 1 : f.categories.length + (f.missingSlot ? 1 : 0);
}

function readNumber(raw: unknown, row: number, column: string): number {
  if (raw === undefined || raw === null) return Number.NaN;
  if (typeof raw === 'number') {
    if (Number.isFinite(raw)) return raw;
    throw new RowValueError(`row ${row}, column "${column}": ${raw} is not a finite number`, row, column);
  }
  if (typeof raw === 'string') {
    const s = raw.trim();
    if (isMissingCell(s)) return Number.NaN;
    const v = parseNumberCell(s);
    if (!Number.isNaN(v)) return v;
    throw new RowValueError(`row ${row}, column "${column}": "${raw}" is not a number`, row, column);
  }
  throw new RowValueError(
    `row ${row}, column "${column}": expected a number, got ${describeType(raw)}`,
    row,
    column,
  );
}

function readCategory(raw: unknown, row: number, column: string): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string') {
    const s = raw.trim();
    return isMissingCell(s) ? null : s;
  }
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  if (typeof raw === 'boolean') return String(raw);
  throw new RowValueError(
    `row ${row}, column "${column}": expected a string, got ${describeType(raw)}`,
    row,
    column,
  );
}

function describeType(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * Fits the preprocessing on the training rows only. Numeric features: missing → training mean,
 * then scaled (standardize: z = (x - mean) / std, population std, 0 → 1; minmax: (x - min) /
 * (max - min), range 0 → 1; robust: see robustScale, then the smooth clip), plus a missing
 * indicator when asked and training had missing values. Categorical features: one-hot over the
 * categories seen in training, plus a "missing" input when training had missing values (or one
 * 0/1 input for two categories when asked). The class list covers the whole table.
 */
export function fitEncoder(table: Table, opts: EncoderOptions, trainRows: Int32Array): Encoder {
  const targetCol = findColumn(table, opts.target);
  if (!targetCol) throw new EncoderError(`the target column "${opts.target}" does not exist`, opts.target);
  const seen = new Set<string>();
  const features = opts.features.map((name): FeatureState => {
    const col = findColumn(table, name);
    if (!col) throw new EncoderError(`the feature column "${name}" does not exist`, name);
    if (name === opts.target) throw new EncoderError(`the target "${name}" cannot also be a feature`, name);
    if (seen.has(name)) throw new EncoderError(`the feature "${name}" is listed twice`, name);
    seen.add(name);
    return col.type === 'numeric'
      ? fitNumeric(col.name, col.values, opts, trainRows)
      : fitCategorical(col.name, col.values, trainRows, opts.binaryAsOneInput === true);
  });
  if (features.length === 0) throw new EncoderError('at least one feature is needed');

  let classes: string[] | null = null;
  let targetMean = 0;
  let targetStd = 1;
  if (opts.task === 'classification') {
    classes = classList(table, opts.target);
    if (classes.length < 2)
      throw new EncoderError(
        `the target "${opts.target}" needs at least two classes, it has ${classes.length}`,
        opts.target,
      );
    if (opts.binaryOutput && classes.length !== 2) {
      throw new EncoderError(
        `a binary output needs exactly two classes, "${opts.target}" has ${classes.length}`,
        opts.target,
      );
    }
  } else {
    if (targetCol.type !== 'numeric')
      throw new EncoderError(
        `regression needs a numeric target, "${opts.target}" is categorical`,
        opts.target,
      );
    const s = numericStats(targetCol.values, trainRows);
    if (s.count === 0)
      throw new EncoderError(`the target "${opts.target}" has no values in the training rows`, opts.target);
    targetMean = s.mean;
    targetStd = s.std > 0 ? s.std : 1;
  }
  return Encoder.fromState({
    version: 1,
    task: opts.task,
    scaling: opts.scaling,
    target: opts.target,
    features,
    classes,
    binaryOutput: opts.task === 'classification' && opts.binaryOutput === true,
    unknownCategory: opts.unknownCategory ?? 'missing',
    targetMean,
    targetStd,
  });
}

function fitNumeric(
  name: string,
  values: Float64Array,
  opts: EncoderOptions,
  rows: Int32Array,
): FeatureState {
  const s = numericStats(values, rows);
  // No training values at all: impute 0 and leave the (constant) input unscaled.
  if (s.count === 0) return { name, type: 'numeric', impute: 0, shift: 0, scale: 1 };
  const indicator =
    opts.missingIndicators === true && s.count < rows.length ? { missingIndicator: true } : {};
  const base = { name, type: 'numeric' as const, impute: s.mean, ...indicator };
  switch (opts.scaling) {
    case 'standardize':
      return { ...base, shift: s.mean, scale: s.std > 0 ? s.std : 1 };
    case 'minmax':
      return { ...base, shift: s.min, scale: s.max > s.min ? s.max - s.min : 1 };
    case 'robust':
      return { ...base, ...robustScale(values, rows), clip: SMOOTH_CLIP };
    default:
      return { ...base, shift: 0, scale: 1 };
  }
}

/**
 * Robust scaling (as in RealMLP, Holzmüller et al. 2024, §3): shift by the median, divide by the
 * interquartile range q75 − q25; when that is 0, by half the range (max − min)/2; a constant
 * column gets scale 1. Quantiles by linear interpolation between order statistics (NumPy's default).
 */
export function robustScale(values: Float64Array, rows: Int32Array): { shift: number; scale: number } {
  const v: number[] = [];
  for (const r of rows) if (!Number.isNaN(values[r])) v.push(values[r]);
  v.sort((a, b) => a - b);
  const q = (p: number): number => {
    const h = (v.length - 1) * p;
    const lo = Math.floor(h);
    return v[lo] + (h - lo) * ((v[Math.min(lo + 1, v.length - 1)] ?? v[lo]) - v[lo]);
  };
  const iqr = q(0.75) - q(0.25);
  const range = v[v.length - 1] - v[0];
  return { shift: q(0.5), scale: iqr > 0 ? iqr : range > 0 ? range / 2 : 1 };
}

function fitCategorical(
  name: string,
  values: (string | null)[],
  rows: Int32Array,
  binaryAsOneInput: boolean,
): FeatureState {
  const seen = new Set<string>();
  let missing = false;
  for (const r of rows) {
    const v = values[r];
    if (v === null) missing = true;
    else seen.add(v);
  }
  const categories = [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (binaryAsOneInput && categories.length === 2 && !missing)
    return { name, type: 'categorical', categories, missingSlot: false, oneInput: true };
  return { name, type: 'categorical', categories, missingSlot: missing };
}

/** Same as Encoder.fromJSON. */
export function encoderFromJSON(j: unknown): Encoder {
  return Encoder.fromJSON(j);
}
