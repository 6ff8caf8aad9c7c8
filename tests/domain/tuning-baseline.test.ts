// The search's baseline: the default job's parameters are trial 0 when the search space holds them,
// ASHA promotes that trial at every rung whatever its rank, and its refit is the default job's spec.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../src/data/index.js';
import { resolveSpec, type JobLimits } from '../../src/domain/jobs.js';
import { TrainingSpecInputSchema, type TrainingSpec } from '../../src/domain/schemas.js';
import {
  TuningRequestSchema,
  defaultTrialParams,
  inSearchSpace,
  promotable,
  refitSpecInput,
  sampleTrials,
  searchTrials,
  type Trial,
} from '../../src/domain/tuning.js';
import { FIXTURES, datasetOf } from '../helpers/trained-model.js';

const limits: JobLimits = {
  MAX_EPOCHS: 10_000,
  MAX_LAYERS: 8,
  MAX_UNITS: 1024,
  MAX_PARAMETERS: 10_000_000,
  MAX_RUNTIME_SECONDS: 3600,
  MAX_ACTIVE_JOBS_PER_TENANT: 10,
};

async function iris() {
  const table = await readCsv(await readFile(join(FIXTURES, 'iris.csv'), 'utf8'), {
    maxColumns: 100,
    maxRows: 10_000,
    maxLineBytes: 1 << 16,
  });
  return datasetOf(table, 'ds_iris', 'iris');
}

const request = (extra: object = {}) =>
  TuningRequestSchema.parse({ datasetId: 'ds_iris', target: 'species', maxTrials: 9, seed: 5, ...extra });

describe('search baseline', () => {
  it('when the default space holds the default job parameters, then they are trial 0 and the seeded draws follow', async () => {
    const dataset = await iris();
    const trials = searchTrials(request(), dataset, limits);
    // The default job on iris: 4 numeric inputs, so clamp(nextPow2(4·4), 16, 128) = 16 units and
    // half of that (training-defaults.ts), Adam at 1e-3 without weight decay, batch 32, standardized.
    expect(trials.baseline).toBe(true);
    expect(trials.params[0]).toEqual({
      layers: [16, 8],
      learningRate: 1e-3,
      weightDecay: 0,
      dropout: 0,
      batchSize: 32,
      scaling: 'standardize',
    });
    expect(trials.params).toHaveLength(9);
    expect(trials.params.slice(1)).toEqual(sampleTrials({}, 5, 8));
  });

  it('when the search space leaves the default parameters out, then every trial is a seeded draw', async () => {
    const dataset = await iris();
    const narrow = { width: { min: 64, max: 128 } };
    const dflt = defaultTrialParams(request(), dataset, limits)!;
    expect(inSearchSpace(dflt, narrow)).toBe(false);
    expect(inSearchSpace(dflt, { batchSize: [16, 64] })).toBe(false);
    expect(inSearchSpace(dflt, { learningRate: { min: 1e-3, max: 1e-3 } })).toBe(true);
    const trials = searchTrials(request({ searchSpace: narrow }), dataset, limits);
    expect(trials.baseline).toBe(false);
    expect(trials.params).toEqual(sampleTrials(narrow, 5, 9));
  });

  it('when the baseline is refit, then its spec is the default job spec with the same seed', async () => {
    const dataset = await iris();
    const req = request();
    const dflt = defaultTrialParams(req, dataset, limits)!;
    const refit = resolveSpec(refitSpecInput(req, dflt, 243, 600), dataset, limits);
    const job = resolveSpec(
      TrainingSpecInputSchema.parse({ datasetId: 'ds_iris', target: 'species', training: { seed: 5 } }),
      dataset,
      limits,
    );
    // Everything that shapes the model is equal; only the refit's time limit is its own.
    const shape = (s: TrainingSpec) => ({ ...s, training: { ...s.training, maxRuntimeSeconds: 0 } });
    expect(shape(refit)).toEqual(shape(job));
    expect(refit.training).toMatchObject({ epochs: 500, crossValidation: { folds: 5 } });
    expect(refit.training.maxRuntimeSeconds).toBe(600);
    // A top rung beyond the default's 500 epochs is kept.
    expect(resolveSpec(refitSpecInput(req, dflt, 900), dataset, limits).training.epochs).toBe(900);
  });

  it('when the baseline ranks last at a rung, then it is promoted after the top third', () => {
    const trial = (index: number, loss: number, baseline = false): Trial => ({
      index,
      params: { layers: [8], learningRate: 0.01, weightDecay: 0, batchSize: 16, scaling: 'standardize' },
      rung: 0,
      state: 'completed',
      jobId: `job_${index}`,
      rungMetrics: [loss],
      modelId: null,
      ...(baseline ? { baseline: true } : {}),
    });
    const board = [
      trial(0, 0.9, true),
      trial(1, 0.2),
      trial(2, 0.5),
      trial(3, 0.1),
      trial(4, 0.7),
      trial(5, 0.3),
    ];
    // 6 done with η = 3: the best 2 (trials 3 and 1), then the baseline.
    expect(promotable(board, 0, 3, 'valLoss').map((t) => t.index)).toEqual([3, 1, 0]);
    // Alone at its rung (too few results for ASHA to promote anyone), it still moves up.
    expect(promotable(board.slice(0, 1), 0, 3, 'valLoss').map((t) => t.index)).toEqual([0]);
    // Once it runs the next rung, it is not promotable from this one again.
    board[0] = { ...board[0], rung: 1, state: 'running' };
    expect(promotable(board, 0, 3, 'valLoss').map((t) => t.index)).toEqual([3, 1]);
    // Without the flag, the same last trial stays.
    const plain = board.map((t) => ({ ...t, baseline: undefined, rung: 0, state: 'completed' as const }));
    expect(promotable(plain, 0, 3, 'valLoss').map((t) => t.index)).toEqual([3, 1]);
  });
});
