// Fit on the training split, then transform any rows the same way: mean imputation, scaling and
// one-hot encoding of the features; label encoding (classification) or standardization
// (regression) of the target. Serializable to plain, versioned JSON.
import { z } from 'zod';
import {
  MissingMarkers,
  calendarFeatures,
  parseBooleanCell,
  parseDateCell,
  parseNumberCell,
  type DecimalMark,
} from './cells.js';
import { classList, findColumn, labelOf, numericStats, type ColumnType, type Table } from './schema.js';

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
  /** How the dataset's cells were read, so prediction strings are read the same way. */
  cells?: { missingValues: string[] | null; decimal: DecimalMark };
}

/** Something prediction did with a row's value that the caller should know (0-based row). */
export interface RowWarning {
  row: number;
  code: 'imputed' | 'unseenCategory' | 'unknownColumns';
  columns: string[];
  message: string;
}

/** Feature names a message lists before saying how many more there are. */
const NAMED_FEATURES = 10;

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
  /** Tokens the training file had in this column, read as missing (NumericColumn.strays). */
  strays: z.array(z.string()).optional(),
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
const BooleanFeatureSchema = z.object({
  name: z.string(),
  type: z.literal('boolean'),
  /** One input, 1 for true and 0 for false; missing → the training share of true. */
  impute: z.number(),
  labels: z.object({ false: z.string(), true: z.string() }),
});
const ScaledPartSchema = z.object({ impute: z.number(), shift: z.number(), scale: z.number().positive() });
const DatetimeFeatureSchema = z.object({
  name: z.string(),
  type: z.literal('datetime'),
  hasTime: z.boolean(),
  /** One scaled input per calendar feature (cells.ts calendarFeatures): year, month, day of week, day of year[, hour]. */
  parts: z.array(ScaledPartSchema).min(4).max(5),
});
const FeatureStateSchema = z.discriminatedUnion('type', [
  NumericFeatureSchema,
  CategoricalFeatureSchema,
  BooleanFeatureSchema,
  DatetimeFeatureSchema,
]);
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
    /** The dataset's missing markers (null: the defaults) and decimal mark, for prediction strings. */
    missingValues: z.array(z.string()).nullable().default(null),
    decimal: z.enum(['.', ',', 'auto']).default('.'),
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
    if (j.task === 'regression' && j.classes !== null)
      ctx.addIssue({
        code: 'custom',
        message: 'a regression encoder has no classes (null)',
        path: ['classes'],
      });
    for (const issue of encoderConsistencyIssues(j)) ctx.addIssue({ code: 'custom', ...issue });
  });

/** The index of the first repeat in `values` and the value, or null when all differ. */
function firstRepeat(values: readonly string[]): { index: number; value: string } | null {
  const seen = new Set<string>();
  for (let i = 0; i < values.length; i++) {
    if (seen.has(values[i])) return { index: i, value: values[i] };
    seen.add(values[i]);
  }
  return null;
}

/**
 * What fitEncoder never writes but an edited document could hold: a class, feature or category
 * listed twice (one would shadow the other at prediction), a one-input categorical feature without
 * exactly two categories, date parts that do not match `hasTime`, the target among the features.
 */
function encoderConsistencyIssues(j: {
  target: string;
  classes: string[] | null;
  features: FeatureState[];
}): { message: string; path: (string | number)[] }[] {
  const issues: { message: string; path: (string | number)[] }[] = [];
  const classRepeat = firstRepeat(j.classes ?? []);
  if (classRepeat)
    issues.push({
      message: `the class ${JSON.stringify(classRepeat.value)} is listed twice`,
      path: ['classes', classRepeat.index],
    });
  const featureRepeat = firstRepeat(j.features.map((f) => f.name));
  if (featureRepeat)
    issues.push({
      message: `the feature ${JSON.stringify(featureRepeat.value)} is listed twice`,
      path: ['features', featureRepeat.index, 'name'],
    });
  j.features.forEach((f, i) => {
    if (f.name === j.target)
      issues.push({
        message: `the target ${JSON.stringify(f.name)} cannot also be a feature`,
        path: ['features', i, 'name'],
      });
    if (f.type === 'categorical') {
      const repeat = firstRepeat(f.categories);
      if (repeat)
        issues.push({
          message: `the category ${JSON.stringify(repeat.value)} of ${JSON.stringify(f.name)} is listed twice`,
          path: ['features', i, 'categories', repeat.index],
        });
      if (f.oneInput && f.categories.length !== 2)
        issues.push({ message: 'oneInput needs exactly two categories', path: ['features', i, 'oneInput'] });
    }
    if (f.type === 'datetime' && f.parts.length !== (f.hasTime ? 5 : 4))
      issues.push({
        message: `${f.hasTime ? 'a date with time has 5' : 'a date without time has 4'} parts, not ${f.parts.length}`,
        path: ['features', i, 'parts'],
      });
  });
  return issues;
}
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
  readonly features: { name: string; type: ColumnType }[];
  readonly task: Task;
  readonly target: string;
  private readonly state: EncoderJSON;
  private readonly classIndex: Map<string, number>;
  /** The classes read as numbers or as booleans, by value; made on first need (targetOf). */
  private readonly classesByValue: { numeric?: Map<number, number>; boolean?: Map<number, number> } = {};
  private readonly categoryIndex: Map<string, number>[];
  private readonly missing: MissingMarkers;

  private constructor(state: EncoderJSON) {
    this.state = state;
    this.task = state.task;
    this.target = state.target;
    this.classes = state.classes ? [...state.classes] : null;
    this.features = state.features.map((f) => ({ name: f.name, type: f.type }));
    this.inputSize = state.features.reduce((n, f) => n + width(f), 0);
    this.outputSize = state.task === 'regression' || state.binaryOutput ? 1 : state.classes!.length;
    this.classIndex = new Map((state.classes ?? []).map((c, i) => [c, i]));
    this.missing = new MissingMarkers(state.missingValues);
    this.categoryIndex = state.features.map(
      (f) => new Map(f.type === 'categorical' ? f.categories.map((c, i) => [c, i]) : []),
    );
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

  /**
   * Why row `i` cannot be predicted when it has none of the features: the features by name (the
   * first NAMED_FEATURES of them, and how many more) and what the row holds instead.
   */
  private noFeatureMessage(i: number, rec: Record<string, unknown>): string {
    const all = this.state.features.map((f) => JSON.stringify(f.name));
    const names =
      all.length > NAMED_FEATURES
        ? `${all.slice(0, NAMED_FEATURES).join(', ')} and ${all.length - NAMED_FEATURES} more`
        : all.join(', ');
    const keys = Object.keys(rec);
    const others = keys.filter((k) => k !== this.target).map((k) => JSON.stringify(k));
    const shown =
      others.length > NAMED_FEATURES ? `${others.slice(0, NAMED_FEATURES).join(', ')}, …` : others.join(', ');
    const got =
      keys.length === 0
        ? 'it is empty'
        : others.length === 0
          ? `it has only the target ${JSON.stringify(this.target)}`
          : `it has ${shown}${others.length < keys.length ? ` and the target ${JSON.stringify(this.target)}` : ''}`;
    return `row ${i} has none of the model's features (${names}): ${got}`;
  }

  /** How many network inputs each feature takes, in the order of `features`. */
  featureWidths(): number[] {
    return this.state.features.map(width);
  }

  toJSON(): EncoderJSON {
    return structuredClone(this.state);
  }

  /**
   * The 0-based input columns that carry a scaled number (a numeric feature's value, each
   * calendar part of a datetime), ascending: the columns a per-feature numeric embedding applies to.
   * Missing indicators, booleans and categories are not among them.
   */
  continuousInputs(): number[] {
    const out: number[] = [];
    let off = 0;
    for (const f of this.state.features) {
      if (f.type === 'numeric') out.push(off);
      if (f.type === 'datetime') f.parts.forEach((_, i) => out.push(off + i));
      off += width(f);
    }
    return out;
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
        off = this.writeFeature(f, col.values[r], x, off);
      }
      this.writeTarget(t, y, k, labels);
      k++;
    }
    return { x, y, rows: n, labels, kept };
  }

  /** Same as encodeRecords, without the warnings. */
  transformRecords(records: Record<string, unknown>[]): Float32Array {
    return this.encodeRecords(records, false).x;
  }

  /**
   * Encodes prediction rows given as raw values, as in the CSV: numbers or numeric strings for
   * numeric features; strings (numbers and booleans as their string form) for categorical ones;
   * JSON booleans or the strings a boolean column takes (true/false, yes/no, 1/0, any case) for
   * boolean ones; ISO dates for datetime ones. null, absent or a missing marker is missing and
   * imputed, an unseen category is encoded exactly as a missing one; both give a row warning, as
   * do keys the model does not use (the target's is ignored). A key written with surrounding
   * spaces, as a header cell the upload trimmed (`"  spaced  "`), stands for the trimmed name
   * (see withTrimmedNames). A row with none of the model's
   * features is a RowValueError: answering it would only repeat the imputed values.
   * Rows may be null-prototype objects; only own keys are read.
   */
  encodeRecords(
    records: Record<string, unknown>[],
    requireFeature = true,
  ): { x: Float32Array; warnings: RowWarning[] } {
    const x = new Float32Array(records.length * this.inputSize);
    const warnings: RowWarning[] = [];
    const known = new Set([...this.state.features.map((f) => f.name), this.target]);
    for (let i = 0; i < records.length; i++) {
      const given = records[i];
      if (given === null || typeof given !== 'object' || Array.isArray(given)) {
        throw new RowValueError(`row ${i} is not an object of column values`, i, '');
      }
      let rec = given as Record<string, unknown>;
      let unknown = Object.keys(rec).filter((k) => !known.has(k));
      if (unknown.length > 0) {
        rec = withTrimmedNames(rec, unknown, known);
        if (rec !== given) unknown = Object.keys(rec).filter((k) => !known.has(k));
      }
      if (requireFeature && !this.state.features.some((f) => Object.hasOwn(rec, f.name)))
        throw new RowValueError(this.noFeatureMessage(i, rec), i, '');
      const imputed: string[] = [];
      const unseen: string[] = [];
      let off = i * this.inputSize;
      for (let f = 0; f < this.state.features.length; f++) {
        const feat = this.state.features[f];
        const value = this.readValue(feat, Object.hasOwn(rec, feat.name) ? rec[feat.name] : undefined, i);
        if (value === null || (typeof value === 'number' && Number.isNaN(value))) imputed.push(feat.name);
        else if (feat.type === 'categorical' && !this.categoryIndex[f].has(value as string)) {
          if (this.state.unknownCategory === 'error') {
            throw new RowValueError(
              `row ${i}, column "${feat.name}": the category "${String(value)}" was not seen in training`,
              i,
              feat.name,
            );
          }
          unseen.push(feat.name);
        }
        off = this.writeFeature(f, value, x, off);
      }
      if (imputed.length > 0)
        warnings.push({
          row: i,
          code: 'imputed',
          columns: imputed,
          message: `missing, imputed: ${imputed.join(', ')}`,
        });
      if (unseen.length > 0)
        warnings.push({
          row: i,
          code: 'unseenCategory',
          columns: unseen,
          message: `a category not seen in training, encoded as missing: ${unseen.join(', ')}`,
        });
      if (unknown.length > 0)
        warnings.push({
          row: i,
          code: 'unknownColumns',
          columns: unknown,
          message: `not features of this model, ignored: ${unknown.join(', ')}`,
        });
    }
    return { x, warnings };
  }

  /** A prediction value read for its feature: number (NaN missing) or category (null missing). */
  private readValue(feat: FeatureState, raw: unknown, row: number): number | string | null {
    switch (feat.type) {
      case 'numeric':
        return readNumber(raw, row, feat, this.missing, this.state.decimal);
      case 'categorical':
        return readCategory(raw, row, feat.name, this.missing);
      case 'boolean':
        return readBoolean(raw, row, feat, this.missing);
      case 'datetime':
        return readDate(raw, row, feat.name, this.missing);
    }
  }

  /** A regression output back in the target's units: y = y' × std + mean. */
  decodeValue(v: number): number {
    return v * this.state.targetStd + this.state.targetMean;
  }

  private targetOf(col: NonNullable<ReturnType<typeof findColumn>>, r: number): number {
    if (this.task === 'regression') return col.type === 'numeric' ? col.values[r] : Number.NaN;
    const key = labelOf(col, r);
    if (key === null) return Number.NaN;
    const k = this.classIndex.get(key);
    if (k !== undefined) return k;
    if (col.type !== 'numeric' && col.type !== 'boolean') return Number.NaN;
    // The same value written otherwise: a model's class "1.0" and a file's 1, "yes" and TRUE.
    const byValue = (this.classesByValue[col.type] ??= classesByValue(this.classes ?? [], col.type));
    return byValue.get(col.values[r]) ?? Number.NaN;
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

  /** Writes feature f (a number, NaN missing, or a category, null missing) at x[off…]; returns the offset after it. */
  private writeFeature(f: number, value: number | string | null, x: Float32Array, off: number): number {
    const feat = this.state.features[f];
    const num = typeof value === 'number' && !Number.isNaN(value) ? value : Number.NaN;
    switch (feat.type) {
      case 'numeric': {
        const present = !Number.isNaN(num);
        const s = ((present ? num : feat.impute) - feat.shift) / feat.scale;
        x[off] = feat.clip ? smoothClip(s, feat.clip) : s;
        if (!feat.missingIndicator) return off + 1;
        x[off + 1] = present ? 0 : 1;
        return off + 2;
      }
      case 'boolean':
        x[off] = Number.isNaN(num) ? feat.impute : num;
        return off + 1;
      case 'datetime': {
        const parts = Number.isNaN(num) ? null : calendarFeatures(num, feat.hasTime);
        feat.parts.forEach((p, k) => (x[off + k] = ((parts ? parts[k] : p.impute) - p.shift) / p.scale));
        return off + feat.parts.length;
      }
      case 'categorical': {
        // An unseen category is encoded exactly as a missing one: ½ on one input, else the missing slot.
        const idx = typeof value === 'string' ? this.categoryIndex[f].get(value) : undefined;
        if (feat.oneInput) {
          x[off] = idx === undefined ? 0.5 : idx;
          return off + 1;
        }
        const size = width(feat);
        if (idx !== undefined) x[off + idx] = 1;
        else if (feat.missingSlot) x[off + size - 1] = 1;
        return off + size;
      }
    }
  }
}

function width(f: FeatureState): number {
  switch (f.type) {
    case 'numeric':
      return f.missingIndicator ? 2 : 1;
    case 'boolean':
      return 1;
    case 'datetime':
      return f.parts.length;
    case 'categorical':
      return f.oneInput ? 1 : f.categories.length + (f.missingSlot ? 1 : 0);
  }
}

const valueError = (row: number, column: string, what: string) =>
  new RowValueError(`row ${row}, column "${column}": ${what}`, row, column);

function readNumber(
  raw: unknown,
  row: number,
  feat: Extract<FeatureState, { type: 'numeric' }>,
  missing: MissingMarkers,
  decimal: DecimalMark,
): number {
  if (raw === undefined || raw === null) return Number.NaN;
  if (typeof raw === 'number') {
    if (Number.isFinite(raw)) return raw;
    throw valueError(row, feat.name, `${raw} is not a finite number`);
  }
  if (typeof raw === 'string') {
    const s = raw.trim();
    if (missing.has(s)) return Number.NaN;
    const v = parseNumberCell(s, decimal);
    if (!Number.isNaN(v)) return v;
    // A token the training file had in this column was missing there: it is here too.
    if (feat.strays?.includes(s)) return Number.NaN;
    throw valueError(row, feat.name, `"${raw}" is not a number`);
  }
  throw valueError(row, feat.name, `expected a number, got ${describeType(raw)}`);
}

/** The stray tokens a numeric feature keeps from its column (none: no field, as before). */
function strayTokens(strays: string[] | undefined): { strays?: string[] } {
  return strays && strays.length > 0 ? { strays } : {};
}

function readCategory(raw: unknown, row: number, column: string, missing: MissingMarkers): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string') {
    const s = raw.trim();
    return missing.has(s) ? null : s;
  }
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  if (typeof raw === 'boolean') return String(raw);
  throw valueError(row, column, `expected a string, got ${describeType(raw)}`);
}

/** true/false, 1/0, or a string: the column's own spellings or true/false, yes/no, t/f, y/n, 1/0 in any case. */
function readBoolean(
  raw: unknown,
  row: number,
  feat: { name: string; labels: { false: string; true: string } },
  missing: MissingMarkers,
): number {
  if (raw === undefined || raw === null) return Number.NaN;
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (raw === 0 || raw === 1) return raw;
  if (typeof raw === 'string') {
    const s = raw.trim();
    if (missing.has(s)) return Number.NaN;
    const lower = s.toLowerCase();
    if (lower === feat.labels.true.toLowerCase()) return 1;
    if (lower === feat.labels.false.toLowerCase()) return 0;
    const v = parseBooleanCell(s, true);
    if (!Number.isNaN(v)) return v;
  }
  throw valueError(
    row,
    feat.name,
    `expected true or false (or "${feat.labels.true}"/"${feat.labels.false}"), got ${describeType(raw)}`,
  );
}

function readDate(raw: unknown, row: number, column: string, missing: MissingMarkers): number {
  if (raw === undefined || raw === null) return Number.NaN;
  if (typeof raw === 'string') {
    const s = raw.trim();
    if (missing.has(s)) return Number.NaN;
    const d = parseDateCell(s);
    if (d) return d.ms;
  }
  throw valueError(
    row,
    column,
    `expected an ISO date such as "2024-03-01" or "2024-03-01T14:30:00Z", got ${describeType(raw)}`,
  );
}

function describeType(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
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
    switch (col.type) {
      case 'numeric':
        return { ...fitNumeric(col.name, col.values, opts, trainRows), ...strayTokens(col.strays) };
      case 'categorical':
        return fitCategorical(col.name, col.values, trainRows, opts.binaryAsOneInput === true);
      case 'boolean': {
        const s = numericStats(col.values, trainRows);
        return { name, type: 'boolean', impute: s.count > 0 ? s.mean : 0, labels: { ...col.labels } };
      }
      case 'datetime':
        return fitDatetime(col.name, col.values, col.hasTime, opts.scaling, trainRows);
    }
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
        `regression needs a numeric target, "${opts.target}" is ${targetCol.type}`,
        opts.target,
      );
    const s = numericStats(targetCol.values, trainRows);
    if (s.count === 0)
      throw new EncoderError(`the target "${opts.target}" has no values in the training rows`, opts.target);
    targetMean = s.mean;
    targetStd = s.std > 0 ? s.std : 1;
  }
  // Through the schema, the one way to build an encoder: the fit is checked as a stored one is.
  return Encoder.fromJSON({
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
    missingValues: opts.cells?.missingValues ?? null,
    decimal: opts.cells?.decimal ?? '.',
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

/** Imputation value (training mean) and scaling of one calendar input; bounded, so robust scaling standardizes it. */
function fitCalendarPart(
  values: Float64Array,
  scaling: Scaling,
  rows?: Int32Array,
): { impute: number; shift: number; scale: number } {
  const s = numericStats(values, rows);
  // No training values at all: impute 0 and leave the (constant) input unscaled.
  if (s.count === 0) return { impute: 0, shift: 0, scale: 1 };
  if (scaling === 'standardize' || scaling === 'robust')
    return { impute: s.mean, shift: s.mean, scale: s.std > 0 ? s.std : 1 };
  if (scaling === 'minmax') return { impute: s.mean, shift: s.min, scale: s.max > s.min ? s.max - s.min : 1 };
  return { impute: s.mean, shift: 0, scale: 1 };
}

/** Each calendar feature of the training rows (cells.ts calendarFeatures) fitted as a numeric input. */
function fitDatetime(
  name: string,
  values: Float64Array,
  hasTime: boolean,
  scaling: Scaling,
  rows: Int32Array,
): FeatureState {
  const count = hasTime ? 5 : 4;
  const parts = Array.from({ length: count }, () => new Float64Array(rows.length));
  rows.forEach((r, i) => {
    const ms = values[r];
    const cal = Number.isNaN(ms) ? null : calendarFeatures(ms, hasTime);
    for (let k = 0; k < count; k++) parts[k][i] = cal ? cal[k] : Number.NaN;
  });
  return { name, type: 'datetime', hasTime, parts: parts.map((p) => fitCalendarPart(p, scaling)) };
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

/**
 * The index of each class that reads as a number (or as a boolean: 1 true, 0 false), by that
 * value; a value that two classes share is left out, since it names neither.
 */
function classesByValue(classes: string[], type: 'numeric' | 'boolean'): Map<number, number> {
  const out = new Map<number, number>();
  const shared = new Set<number>();
  classes.forEach((c, i) => {
    const t = c.trim();
    const v = type === 'boolean' ? parseBooleanCell(t, true) : t === '' ? Number.NaN : Number(t);
    if (Number.isNaN(v)) return;
    if (out.has(v)) shared.add(v);
    else out.set(v, i);
  });
  for (const v of shared) out.delete(v);
  return out;
}

/**
 * The smooth clip of robust scaling, s / √(1 + (s/clip)²): about s near 0, tending to ±clip. Past
 * |s| = clip it is computed as clip·sign(s) / √(1 + (clip/s)²), the same value, so that a scaled
 * value whose square overflows float64 (|s| above about 1e154, or ±∞) gives ±clip instead of 0 or NaN.
 */
export function smoothClip(s: number, clip: number): number {
  const r = s / clip;
  if (Math.abs(r) <= 1) return s / Math.sqrt(1 + r * r);
  return (clip * Math.sign(r)) / Math.sqrt(1 + 1 / (r * r));
}

/**
 * The row with each of its `unknown` keys that names a known column once trimmed (`"  spaced  "`
 * for `spaced`, as csv.ts readHeader trims header cells) read under the trimmed name, unless the
 * row also has that name; the row itself when there is no such key (no copy).
 */
function withTrimmedNames(
  rec: Record<string, unknown>,
  unknown: readonly string[],
  known: ReadonlySet<string>,
): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const k of unknown) {
    const name = k.trim();
    if (name === k || !known.has(name) || Object.hasOwn(rec, name)) continue;
    out ??= Object.assign(Object.create(null) as Record<string, unknown>, rec);
    out[name] = rec[k];
    delete out[k];
  }
  return out ?? rec;
}
