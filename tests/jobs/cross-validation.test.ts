// Cross-validated and seed ensembles through the real training procedure (runTraining) on the iris
// fixture: folds, their metrics, the averaged artifact, and the stratified fold split itself.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeTable, kFolds, readCsv, targetStrata } from '../../src/data/index.js';
import { resolveSpec } from '../../src/domain/jobs.js';
import { TrainingSpecInputSchema, type Dataset, type TrainingSpecInput } from '../../src/domain/schemas.js';
import { prepareTraining, runTraining } from '../../src/domain/training.js';
import { Ensemble, networkFromJSON, type SerializedEnsemble } from '../../src/engine/index.js';
import { loadConfig } from '../../src/config.js';

const LIMITS = { maxColumns: 1000, maxRows: 1_000_000, maxLineBytes: 1 << 20 };

async function iris() {
  const table = await readCsv(
    await readFile(join(import.meta.dirname, '..', 'fixtures', 'iris.csv'), 'utf8'),
    LIMITS,
  );
  const dataset: Dataset = {
    id: 'ds_iris',
    name: 'iris',
    rowCount: table.rowCount,
    sizeBytes: 0,
    createdAt: new Date().toISOString(),
    columns: describeTable(table),
    warnings: [],
    format: { delimiter: ',', decimal: '.', charset: 'utf-8', missingValues: null, columnTypes: {} },
  };
  const resolve = (spec: Omit<TrainingSpecInput, 'datasetId' | 'target'>) =>
    resolveSpec(
      TrainingSpecInputSchema.parse({ ...spec, datasetId: 'ds_iris', target: 'species' }),
      dataset,
      loadConfig({}),
    );
  return { table, resolve };
}

describe('kFolds', () => {
  it('when 150 rows of 3 classes go into 5 folds, then the folds are disjoint, cover every row and hold 10 of each class', async () => {
    const { table } = await iris();
    const strata = targetStrata(table, 'species')!;
    const rows = Int32Array.from({ length: 150 }, (_, i) => i);
    const folds = kFolds(rows, 5, 7, strata);
    const all = folds.flatMap((f) => Array.from(f)).sort((a, b) => a - b);
    expect(all).toEqual(Array.from(rows));
    for (const f of folds) {
      const counts = [0, 0, 0];
      for (const r of f) counts[strata[r]]++;
      expect(counts).toEqual([10, 10, 10]);
    }
    expect(kFolds(rows, 5, 7, strata)).toEqual(folds); // seeded
    expect(kFolds(rows, 5, 8, strata)).not.toEqual(folds);
  });
});

describe('cross-validation in a training job', () => {
  it('when crossValidation has 3 folds and ensemble 2, then 6 networks train on the non-test rows and the model reports each fold', async () => {
    const { table, resolve } = await iris();
    const spec = resolve({
      recipe: 'quality',
      training: { crossValidation: { folds: 3 }, ensemble: 2, epochs: 60, seed: 3 },
    });
    const prepared = prepareTraining(table, spec);
    expect(prepared.members).toHaveLength(6);
    // No validation split: the folds are the non-test rows (150 − 23 test rows).
    expect(prepared.validation).toBeNull();
    expect(prepared.train.rows).toBe(150 - prepared.test!.rows);
    for (const m of prepared.members) {
      const fold = prepared.folds![m.fold];
      expect(m.train.rows + fold.rows).toBe(prepared.train.rows);
      expect(m.validation).toBe(fold);
    }
    expect(new Set(prepared.members.map((m) => m.seed)).size).toBe(6);

    const outcome = await runTraining(table, spec);
    const folds = outcome.metrics.folds!;
    expect(folds.map((f) => f.fold)).toEqual([0, 1, 2]);
    expect(folds.every((f) => f.bestEpochs.length === 2)).toBe(true);
    const accs = folds.map((f) => (f.metrics as { accuracy: number }).accuracy);
    expect(outcome.metrics.foldMean!.accuracy).toBeCloseTo((accs[0] + accs[1] + accs[2]) / 3, 10);
    // The pooled out-of-fold validation covers every non-test row.
    const pooled = outcome.metrics.validation as { confusionMatrix: number[][] };
    expect(pooled.confusionMatrix.flat().reduce((a, b) => a + b, 0)).toBe(prepared.train.rows);
    // The artifact is the averaged ensemble of all six networks.
    const network = networkFromJSON(outcome.artifact.network as SerializedEnsemble);
    expect(network).toBeInstanceOf(Ensemble);
    expect((network as Ensemble).members).toHaveLength(6);
    expect(outcome.history).toHaveLength(60);
    expect((outcome.metrics.test as { accuracy: number }).accuracy).toBeGreaterThan(0.8);
  });

  it('when the spec asks for piecewise-linear embeddings, then each fold network gets quantile edges of its own training rows', async () => {
    const { table, resolve } = await iris();
    const spec = resolve({
      model: { embedding: { type: 'piecewiseLinear', bins: 4 } },
      training: { crossValidation: { folds: 2 }, epochs: 2, seed: 5 },
    });
    const prepared = prepareTraining(table, spec);
    const [a, b] = prepared.members;
    const ea = a.model.spec.embedding;
    if (ea?.type !== 'piecewiseLinear') throw new Error('expected a piecewise-linear embedding');
    // iris: four numeric inputs, each with at most 4 bins (5 edges) spanning its training rows.
    expect(ea.features).toEqual([0, 1, 2, 3]);
    for (let f = 0; f < 4; f++) {
      const col = Array.from({ length: a.train.rows }, (_, r) => a.train.x[r * 4 + f]);
      const edges = ea.bins[f];
      expect(edges.length).toBeGreaterThanOrEqual(2);
      expect(edges.length).toBeLessThanOrEqual(5);
      expect(edges[0]).toBe(Math.fround(Math.min(...col)));
      expect(edges[edges.length - 1]).toBe(Math.fround(Math.max(...col)));
    }
    // The other fold trained on other rows, so its edges differ.
    expect(b.model.spec.embedding).not.toEqual(ea);
    const outcome = await runTraining(table, spec);
    const ens = networkFromJSON(outcome.artifact.network as SerializedEnsemble) as Ensemble;
    expect(ens.members[0].spec.embedding).toEqual(ea);
  });

  it('when the embedding has members alternate, then networks 1, 3, 5 get it and the others train on the plain inputs', async () => {
    const { table, resolve } = await iris();
    const spec = resolve({
      model: { embedding: { type: 'piecewiseLinear', bins: 4, members: 'alternate' } },
      training: { crossValidation: { folds: 3 }, ensemble: 2, epochs: 2, seed: 5 },
    });
    expect(spec.model.embedding).toEqual({ type: 'piecewiseLinear', bins: 4, members: 'alternate' });
    const prepared = prepareTraining(table, spec);
    // Training order is fold-major: each fold trains one network with the encoding, one without.
    expect(prepared.members.map((m) => [m.fold, m.model.spec.embedding?.type ?? 'none'])).toEqual([
      [0, 'piecewiseLinear'],
      [0, 'none'],
      [1, 'piecewiseLinear'],
      [1, 'none'],
      [2, 'piecewiseLinear'],
      [2, 'none'],
    ]);
    // A plain network reads the 4 inputs, an encoded one 4 + 4 × (at most 4 bins).
    expect(prepared.members[1].model.layers[0].inputSize).toBe(4);
    expect(prepared.members[0].model.layers[0].inputSize).toBeGreaterThan(4);
    // Periodic embeddings alternate the same way, and the engine spec holds no `members` field.
    const periodic = prepareTraining(
      table,
      resolve({
        model: { embedding: { type: 'periodic', members: 'alternate' } },
        training: { crossValidation: { folds: 3 }, epochs: 2, seed: 5 },
      }),
    );
    const kinds = periodic.members.map((m) => m.model.spec.embedding);
    expect(kinds.map((e) => e?.type ?? 'none')).toEqual(['periodic', 'none', 'periodic']);
    expect(kinds[0]).not.toHaveProperty('members');
    // The artifact keeps each network with its own first stage, and predicts their mean.
    const outcome = await runTraining(table, spec);
    const ens = networkFromJSON(outcome.artifact.network as SerializedEnsemble) as Ensemble;
    expect(ens.members.map((m) => m.spec.embedding?.type ?? 'none')).toEqual(
      prepared.members.map((m) => m.model.spec.embedding?.type ?? 'none'),
    );
    const x = new Float32Array(ens.inputSize).fill(0.3);
    const sum = ens.members.reduce((s, m) => s + m.predict(x, 1)[0], 0);
    expect(ens.predict(x, 1)[0]).toBeCloseTo(sum / ens.members.length, 6);
  });

  it('when the embedding members field is not all or alternate, then the spec is refused naming it', () => {
    const r = TrainingSpecInputSchema.safeParse({
      datasetId: 'ds_iris',
      target: 'species',
      model: { embedding: { type: 'piecewiseLinear', members: 'half' } },
    });
    expect(r.success).toBe(false);
    // The union of an embedding and false fails at model.embedding; its embedding branch names members.
    const issue = r.error?.issues[0];
    expect(issue?.path).toEqual(['model', 'embedding']);
    const branches = issue?.code === 'invalid_union' ? issue.errors : [];
    expect(branches.flat().map((e) => e.path)).toContainEqual(['members']);
  });

  it('when the ensemble predicts, then each output is the mean of its networks', async () => {
    const { table, resolve } = await iris();
    const spec = resolve({ training: { crossValidation: { folds: 2 }, epochs: 3, seed: 1 } });
    const outcome = await runTraining(table, spec);
    const ens = networkFromJSON(outcome.artifact.network as SerializedEnsemble) as Ensemble;
    const x = new Float32Array(ens.inputSize).fill(0.3);
    const a = ens.members[0].predict(x, 1);
    const b = ens.members[1].predict(x, 1);
    const mean = ens.predict(x, 1);
    for (let j = 0; j < mean.length; j++) expect(mean[j]).toBeCloseTo((a[j] + b[j]) / 2, 6);
  });
});
