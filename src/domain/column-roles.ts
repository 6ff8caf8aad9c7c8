// What a job makes of its dataset's columns when the spec leaves it open: the column types in force
// (the dataset's, with the job's columnTypes over them), the task a target implies and the rule that
// chose it, and the default features with the columns left out and why.
import { EXCLUDING_WARNINGS, MAX_INTEGER_CODES } from '../data/index.js';
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
