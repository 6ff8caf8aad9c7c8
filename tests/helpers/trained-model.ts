// Trains a model on a fixture with the real training procedure, in this process, and saves it
// through the app's model store, as a worker would; for tests of what happens after training.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeTable, readCsv, tableWarnings, type CsvFormat, type Table } from '../../src/data/index.js';
import { newId } from '../../src/domain/ids.js';
import { resolveSpec } from '../../src/domain/jobs.js';
import {
  TrainingSpecInputSchema,
  type Dataset,
  type Model,
  type TrainingSpecInput,
} from '../../src/domain/schemas.js';
import { runTraining } from '../../src/domain/training.js';
import { Tensor } from 'onnxruntime-node';
import type { Config } from '../../src/config.js';
import type { TestApp } from './app.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const LIMITS = { maxColumns: 1000, maxRows: 1_000_000, maxLineBytes: 1 << 20 };

/** The dataset record the API would make of a parsed table (described, with its format). */
export function datasetOf(table: Table & { format: CsvFormat }, id: string, name: string): Dataset {
  return {
    id,
    name,
    rowCount: table.rowCount,
    sizeBytes: 0,
    createdAt: new Date().toISOString(),
    columns: describeTable(table),
    warnings: tableWarnings(table),
    format: { ...table.format, missingValues: null, columnTypes: {} },
  };
}

/**
 * Trains `spec` on tests/fixtures/`file` in this process (the fast recipe unless it names one);
 * `config` gives the limits of resolveSpec.
 */
export async function trainFixture(file: string, spec: Omit<TrainingSpecInput, 'datasetId'>, config: Config) {
  const table = await readCsv(await readFile(join(FIXTURES, file), 'utf8'), LIMITS);
  const dataset = datasetOf(table, newId('ds'), file);
  // One network (the fast recipe) unless the spec names a recipe: these are tests of what happens
  // after training, and most of them read the network's layers.
  const resolved = resolveSpec(
    TrainingSpecInputSchema.parse({ recipe: 'fast', ...spec, datasetId: dataset.id }),
    dataset,
    config,
  );
  return { dataset, resolved, outcome: await runTraining(table, resolved) };
}

/** Trains `spec` on tests/fixtures/`file` and saves the model for `tenant`. */
export async function trainAndSave(
  t: TestApp,
  tenant: string,
  file: string,
  spec: Omit<TrainingSpecInput, 'datasetId'>,
) {
  const { dataset, resolved, outcome } = await trainFixture(file, spec, t.config);
  const model: Model = {
    id: newId('mdl'),
    jobId: newId('job'),
    datasetId: dataset.id,
    task: resolved.task,
    target: resolved.target,
    classes: outcome.classes,
    features: outcome.features,
    unknownCategory: resolved.preprocessing.unknownCategory,
    metrics: outcome.metrics,
    baselines: outcome.baselines,
    featureImportance: outcome.featureImportance,
    parameterCount: outcome.parameterCount,
    epochsTrained: outcome.epochsTrained,
    createdAt: new Date().toISOString(),
  };
  await t.modelStore.save(tenant, model, outcome.artifact);
  return { model, artifact: outcome.artifact };
}

/**
 * ONNX Runtime feeds for an exported model from raw CSV records: numeric features as float32
 * [N, 1] (NaN when empty), categorical ones as their trimmed text.
 */
export function onnxFeeds(
  features: { name: string; type: string }[],
  records: Record<string, string>[],
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const f of features) {
    const cells = records.map((r) => (r[f.name] ?? '').trim());
    out[f.name] =
      f.type === 'numeric'
        ? new Tensor(
            'float32',
            Float32Array.from(cells, (c) => (c === '' ? Number.NaN : Number(c))),
            [cells.length, 1],
          )
        : new Tensor('string', cells, [cells.length, 1]);
  }
  return out;
}
