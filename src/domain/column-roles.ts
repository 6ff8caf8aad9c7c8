// What a job makes of its dataset's columns when the spec leaves it open: the column types in force
// (the dataset's, with the job's columnTypes over them), the task a target implies and the rule that
// chose it, and the default features with the columns left out and why.
import {
  EXCLUDING_WARNINGS,
  MAX_INTEGER_CODES,
  RARE_CLASS_ROWS,
  parseBooleanCell,
  parseDateCell,
  parseNumberCell,
  type DecimalMark,
} from '../data/index.js';
import { UnprocessableError } from './errors.js';
import type { ColumnSummary, ColumnType, ColumnWarning, Dataset, TrainingSpec } from './schemas.js';

export type Decisions = NonNullable<TrainingSpec['decisions']>;

/** A target whose smallest class holds less than this share of the rows is flagged imbalanced. */
export const IMBALANCE_SHARE = 0.05;
/** Categories assumed for a column a job turns into a categorical one (its summary has no counts). */
const ASSUMED_CATEGORIES = 16;

/** The type of each column for this job: the dataset's, or the job's columnTypes entry. */
export function columnTypesFor(
  dataset: Dataset,
  overrides: Record<string, ColumnType> | undefined,
): Map<string, ColumnType> {
  const types = new Map(dataset.columns.map((c) => [c.name, c.type as ColumnType]));
  const unknown = Object.keys(overrides ?? {}).filter((n) => !types.has(n));
  if (unknown.length > 0) {
    throw new UnprocessableError(
      `columnTypes names columns that dataset ${dataset.id} does not have: ${unknown.join(', ')}`,
      [{ path: 'columnTypes', message: `unknown columns: ${unknown.join(', ')}` }],
    );
  }
  for (const [name, type] of Object.entries(overrides ?? {})) types.set(name, type);
  return types;
}

/** Network inputs of one feature: 1 (numeric, boolean), 4-5 calendar features (datetime), categories + 1 (categorical). */
export function inputsOf(col: ColumnSummary, type: ColumnType): number {
  if (type === 'numeric' || type === 'boolean') return 1;
  if (type === 'datetime') return col.type === 'datetime' && !col.hasTime ? 4 : 5;
  if (col.type === 'categorical') return Object.keys(col.categories).length + 1;
  if (col.type === 'numeric' && col.valueCounts) return Object.keys(col.valueCounts).length + 1;
  return col.type === 'boolean' ? 3 : ASSUMED_CATEGORIES;
}

/** Each class and its row count, when the summary knows them (categorical, boolean, integer codes). */
export function classCounts(col: ColumnSummary): Map<string, number> | null {
  if (col.type === 'categorical') return new Map(Object.entries(col.categories));
  if (col.type === 'boolean')
    return new Map(
      [
        [col.labels.false, col.counts.false],
        [col.labels.true, col.counts.true],
      ].filter(([, n]) => (n as number) > 0) as [string, number][],
    );
  if (col.type === 'numeric' && col.valueCounts) return new Map(Object.entries(col.valueCounts));
  return null;
}

/**
 * The task a target implies, and the rule that chose it: `requested` (the spec's task),
 * `categoricalTarget`, `booleanTarget`, `integerLabels` (a numeric target of at most
 * MAX_INTEGER_CODES distinct integers, like 0/1 or 1..5) or `numericTarget` (regression).
 */
export function chooseTask(
  target: ColumnSummary,
  type: ColumnType,
  requested: 'classification' | 'regression' | undefined,
): Decisions['task'] {
  if (requested)
    return { value: requested, rule: 'requested', reason: `task "${requested}" was given in the spec` };
  if (type === 'categorical')
    return { value: 'classification', rule: 'categoricalTarget', reason: `"${target.name}" is categorical` };
  if (type === 'boolean')
    return { value: 'classification', rule: 'booleanTarget', reason: `"${target.name}" is boolean` };
  if (type === 'numeric' && target.type === 'numeric' && target.valueCounts) {
    const n = Object.keys(target.valueCounts).length;
    if (n >= 2)
      return {
        value: 'classification',
        rule: 'integerLabels',
        reason: `"${target.name}" holds only ${n} distinct integers (at most ${MAX_INTEGER_CODES}): read as class labels; set task "regression" to predict it as a number`,
      };
  }
  if (type === 'datetime') {
    throw new UnprocessableError(
      `the target "${target.name}" is a datetime column; predict a numeric or categorical column`,
      [{ path: 'target', message: 'datetime target' }],
    );
  }
  return {
    value: 'regression',
    rule: 'numericTarget',
    reason: `"${target.name}" is numeric with many distinct values`,
  };
}

/** Every column but the target, less those the dataset flags as ID-like, constant or very-high-cardinality. */
export function defaultFeatures(
  dataset: Dataset,
  target: string,
): { features: string[]; excluded: Decisions['excludedFeatures'] } {
  const flagged = new Map<string, ColumnWarning>();
  for (const w of dataset.warnings) {
    if (w.column !== null && EXCLUDING_WARNINGS.has(w.code as never) && !flagged.has(w.column))
      flagged.set(w.column, w);
  }
  const features: string[] = [];
  const excluded: Decisions['excludedFeatures'] = [];
  for (const c of dataset.columns) {
    if (c.name === target) continue;
    const w = flagged.get(c.name);
    if (w) excluded.push({ column: c.name, code: w.code, message: w.message });
    else features.push(c.name);
  }
  return { features, excluded };
}

/** An `imbalancedTarget` warning when the smallest class has less than IMBALANCE_SHARE of the rows. */
export function imbalanceWarning(
  target: ColumnSummary,
  task: 'classification' | 'regression',
): ColumnWarning[] {
  const counts = task === 'classification' ? classCounts(target) : null;
  if (!counts || counts.size < 2) return [];
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const [smallest, n] = [...counts].sort((a, b) => a[1] - b[1])[0];
  if (n >= IMBALANCE_SHARE * total) return [];
  return [
    {
      column: target.name,
      code: 'imbalancedTarget',
      message: `class "${smallest}" has ${n} of ${total} rows (${((100 * n) / total).toFixed(1)}%): accuracy says little, look at f1Macro and the confusion matrix`,
    },
  ];
}

/** The values the summary lists with their row counts: categories, boolean labels or integer codes. */
function listedValues(col: ColumnSummary): [string, number][] | null {
  if (col.type === 'numeric') return col.valueCounts ? Object.entries(col.valueCounts) : null;
  if (col.type === 'datetime') return null;
  return [...classCounts(col)!];
}

const READERS: Record<Exclude<ColumnType, 'categorical'>, (text: string, decimal: DecimalMark) => number> = {
  numeric: (text, decimal) => parseNumberCell(text, decimal),
  boolean: (text) => parseBooleanCell(text, true),
  datetime: (text) => parseDateCell(text)?.ms ?? Number.NaN,
};

/**
 * The values of a column read as `type` (as the CSV reader reads a column forced by columnTypes:
 * cells that do not read as the type become missing) and the rows of each; null when the summary
 * cannot tell. Numbers are never ISO dates and dates never numbers or booleans, so those are empty.
 */
export function valuesAs(
  col: ColumnSummary,
  type: ColumnType,
  decimal: DecimalMark,
): Map<string, number> | null {
  const listed = listedValues(col);
  if (type === col.type || type === 'categorical') return listed && new Map(listed);
  const read = READERS[type];
  if (listed) {
    const out = new Map<string, number>();
    for (const [text, n] of listed) {
      const v = read(text.trim(), decimal);
      if (!Number.isNaN(v)) out.set(String(v), (out.get(String(v)) ?? 0) + n);
    }
    return out;
  }
  if (col.type === 'datetime' || (col.type === 'numeric' && type === 'datetime')) return new Map();
  // A numeric column read as boolean: only 0 and 1 are booleans.
  if (col.type === 'numeric' && col.min !== null && col.max !== null && (col.min > 1 || col.max < 0))
    return new Map();
  return null;
}

/**
 * The classes a classification on this column sees read as `type` (src/data/schema.ts classList:
 * its distinct present values) and how many are on fewer than RARE_CLASS_ROWS rows; null when the
 * summary does not count them (a numeric column of more than MAX_COUNTED_VALUES distinct values).
 */
export function classesAs(
  col: ColumnSummary,
  type: ColumnType,
  decimal: DecimalMark,
): { count: number; rare: number } | null {
  const values = valuesAs(col, type, decimal);
  if (values) {
    return { count: values.size, rare: [...values.values()].filter((n) => n < RARE_CLASS_ROWS).length };
  }
  if (col.type === 'numeric' && type !== 'boolean' && col.distinctValues !== undefined)
    return { count: col.distinctValues, rare: col.rareValues ?? 0 };
  return null;
}

const AS_WHAT: Record<ColumnType, string> = {
  numeric: 'a number',
  boolean: 'a boolean (true/false, yes/no, 1/0, t/f, y/n)',
  datetime: 'an ISO date',
  categorical: 'a category',
};

/** A few of the column's values, for a message: categories, labels, or the range. */
function someValues(col: ColumnSummary): string {
  const listed = listedValues(col);
  if (listed) {
    const shown = listed.slice(0, 5).map(([v]) => JSON.stringify(v));
    return `${shown.join(', ')}${listed.length > 5 ? ', …' : ''}`;
  }
  if (col.type === 'numeric' || col.type === 'datetime') return `${col.min} to ${col.max}`;
  return '';
}

/**
 * 422 naming `columnTypes.<column>` when the job forces a column it reads (the target or a
 * feature) to a type none of its values reads as: the whole column would be missing, so the target
 * would have no rows or the feature no information. Decided from the dataset's column summary.
 */
export function checkForcedTypes(
  dataset: Dataset,
  overrides: Record<string, ColumnType> | undefined,
  target: string,
  features: string[],
): void {
  for (const [name, type] of Object.entries(overrides ?? {})) {
    if (name !== target && !features.includes(name)) continue;
    const col = dataset.columns.find((c) => c.name === name);
    if (!col || col.missing === dataset.rowCount) continue;
    const values = valuesAs(col, type, dataset.format.decimal);
    if (values === null || values.size > 0) continue;
    const role = name === target ? 'target' : 'feature';
    throw new UnprocessableError(
      `columnTypes sets the ${role} "${name}" to ${type}, but none of its values (${someValues(col)}) reads as ${AS_WHAT[type]}: it would have no value in any row`,
      [{ path: `columnTypes.${name}`, message: `no value of "${name}" reads as ${AS_WHAT[type]}` }],
    );
  }
}

/**
 * Classes of a classification on this target read as `type`, as training will count them; 2 for a
 * boolean the summary cannot count; null when the summary does not count them.
 */
export function targetClassCount(col: ColumnSummary, type: ColumnType, decimal: DecimalMark): number | null {
  return classesAs(col, type, decimal)?.count ?? (type === 'boolean' ? 2 : null);
}
