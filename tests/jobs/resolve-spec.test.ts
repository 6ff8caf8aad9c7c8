import { describe, expect, it } from 'vitest';
import { defaultHiddenLayers } from '../../src/domain/training-defaults.js';
import { encodedInputSize, parameterCount, resolveSpec, type JobLimits } from '../../src/domain/jobs.js';
import { recipes } from '../../src/domain/recipes.js';
import { TrainingSpecInputSchema, type Dataset } from '../../src/domain/schemas.js';
import { UnprocessableError } from '../../src/domain/errors.js';

const limits: JobLimits = {
  MAX_EPOCHS: 1000,
  MAX_LAYERS: 4,
  MAX_UNITS: 256,
  MAX_PARAMETERS: 50_000,
  MAX_RUNTIME_SECONDS: 600,
  MAX_ACTIVE_JOBS_PER_TENANT: 3,
};

const num = (name: string) => ({
  name,
  type: 'numeric' as const,
  missing: 0,
  min: 0,
  max: 1,
  mean: 0.5,
  std: 0.2,
});
const cat = (name: string, cats: string[]) => ({
  name,
  type: 'categorical' as const,
  missing: 0,
  categories: Object.fromEntries(cats.map((c) => [c, 10])),
});

const iris: Dataset = {
  id: 'ds_iris',
  name: 'iris',
  rowCount: 150,
  sizeBytes: 4000,
  createdAt: new Date(0).toISOString(),
  columns: [num('a'), num('b'), num('c'), num('d'), cat('species', ['setosa', 'versicolor', 'virginica'])],
  warnings: [],
  format: { delimiter: ',', decimal: '.', charset: 'utf-8', missingValues: null, columnTypes: {} },
};
const loans: Dataset = {
  ...iris,
  id: 'ds_loans',
  columns: [num('age'), cat('region', ['n', 's', 'e', 'w']), cat('approved', ['yes', 'no']), num('income')],
};

const parse = (input: object) => TrainingSpecInputSchema.parse(input);
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UnprocessableError);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('resolveSpec', () => {
  it('when the fast recipe is asked for, then a categorical target becomes classification with crossEntropy and sized ReLU layers', () => {
    const spec = resolveSpec(
      parse({ datasetId: 'ds_iris', target: 'species', recipe: 'fast' }),
      iris,
      limits,
    );
    expect(spec.task).toBe('classification');
    expect(spec.training.loss).toBe('crossEntropy');
    expect(spec.features).toEqual(['a', 'b', 'c', 'd']);
    // 4 inputs → nextPow2(16) = 16, then 8
    expect(spec.model.layers).toEqual([
      { units: 16, activation: 'relu' },
      { units: 8, activation: 'relu' },
    ]);
    expect(spec.model.initializer).toBe('he');
    expect(spec.model.binaryOutput).toBe('softmax');
    expect(spec.training.maxRuntimeSeconds).toBe(600);
  });

  it('when the target is numeric, then the task is regression with mse', () => {
    const spec = resolveSpec(
      parse({ datasetId: 'ds_loans', target: 'income', recipe: 'fast' }),
      loans,
      limits,
    );
    expect(spec.task).toBe('regression');
    expect(spec.training.loss).toBe('mse');
    // age 1 + region 4+1 + approved 2+1 = 9 inputs → nextPow2(36) = 64
    expect(encodedInputSize(loans, spec.features)).toBe(9);
    expect(spec.model.layers.map((l) => l.units)).toEqual([64, 32]);
  });

  it('when no recipe is named, then the quality recipe fills and echoes every value: the fast network, piecewise-linear bins, 5 folds and metric-selected epochs', () => {
    const spec = resolveSpec(parse({ datasetId: 'ds_iris', target: 'species' }), iris, limits);
    expect(spec.recipe).toBe('quality');
    const fast = resolveSpec(
      parse({ datasetId: 'ds_iris', target: 'species', recipe: 'fast' }),
      iris,
      limits,
    );
    // The same network and optimizer as fast: 4 inputs → 16, 8 ReLU units.
    expect(spec.model.layers).toEqual(fast.model.layers);
    expect(spec.training.optimizer).toEqual(fast.training.optimizer);
    expect(spec.model.embedding).toEqual({ type: 'piecewiseLinear', bins: 8 });
    expect(spec.training).toMatchObject({
      crossValidation: { folds: 5 },
      validationSplit: 0,
      earlyStopping: { patience: 30, minDelta: 0, restoreBest: true },
      epochs: 500,
      batchSize: 32,
      bestEpoch: 'metric',
      labelSmoothing: 0,
      learningRateSchedule: 'constant',
      ensemble: 1,
    });
    expect(spec.preprocessing).toEqual(fast.preprocessing);
    expect(fast.training.crossValidation).toBe(false);
    expect(fast.model.embedding).toBe(false);
    expect(fast.training.bestEpoch).toBe(false);
  });

  it('when a table has more than 128 encoded inputs, then the quality recipe keeps its folds but leaves out the encoding', () => {
    const wide = recipes.quality({ task: 'classification', rows: 1000, inputSize: 129 });
    expect(wide.embedding).toBe(false);
    expect(wide.training.crossValidation).toEqual({ folds: 5 });
    expect(recipes.quality({ task: 'classification', rows: 1000, inputSize: 128 }).embedding).toEqual({
      type: 'piecewiseLinear',
      bins: 8,
    });
  });

  it('when a client sets early stopping under the quality recipe, then it gets one validation split, not folds', () => {
    const spec = resolveSpec(
      parse({
        datasetId: 'ds_iris',
        target: 'species',
        recipe: 'quality',
        training: { earlyStopping: { patience: 5 } },
      }),
      iris,
      limits,
    );
    expect(spec.training.crossValidation).toBe(false);
    expect(spec.training.validationSplit).toBe(0.15);
    expect(spec.training.earlyStopping).toMatchObject({ patience: 5 });
  });

  it('when a client asks for numeric embeddings, then the spec echoes them with every default filled; fast has none', () => {
    const spec = resolveSpec(
      parse({
        datasetId: 'ds_iris',
        target: 'species',
        recipe: 'fast',
        model: { embedding: { type: 'periodic', sigma: 0.3 } },
      }),
      iris,
      limits,
    );
    expect(spec.model.embedding).toEqual({ type: 'periodic', frequencies: 16, size: 3, sigma: 0.3 });
    const plain = resolveSpec(
      parse({ datasetId: 'ds_iris', target: 'species', recipe: 'fast' }),
      iris,
      limits,
    );
    expect(plain.model.embedding).toBe(false);
    const ple = resolveSpec(
      parse({
        datasetId: 'ds_iris',
        target: 'species',
        recipe: 'fast',
        model: { embedding: { type: 'piecewiseLinear' } },
      }),
      iris,
      limits,
    );
    expect(ple.model.embedding).toEqual({ type: 'piecewiseLinear', bins: 8 });
    const bad = TrainingSpecInputSchema.safeParse({
      datasetId: 'ds_iris',
      target: 'species',
      model: { embedding: { type: 'periodic', frequencies: 0 } },
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path).toEqual(['model', 'embedding', 'frequencies']);
  });

  it('when the hidden layers use tanh, then the initializer defaults to xavier', () => {
    const spec = resolveSpec(
      parse({
        datasetId: 'ds_iris',
        target: 'species',
        model: { layers: [{ units: 8, activation: 'tanh' }] },
      }),
      iris,
      limits,
    );
    expect(spec.model.initializer).toBe('xavier');
  });

  it('when binaryOutput is sigmoid on two classes, then the loss is binaryCrossEntropy', () => {
    const spec = resolveSpec(
      parse({ datasetId: 'ds_loans', target: 'approved', model: { binaryOutput: 'sigmoid' } }),
      loans,
      limits,
    );
    expect(spec.training.loss).toBe('binaryCrossEntropy');
  });

  it('when a feature is listed twice, then the 422 names it under features like the other feature refusals', () => {
    const errorsOf = (features: string[]) => {
      try {
        resolveSpec(parse({ datasetId: 'x', target: 'species', features }), iris, limits);
      } catch (err) {
        return { status: (err as { status?: number }).status, errors: (err as { errors?: unknown }).errors };
      }
      throw new Error('expected a refusal');
    };
    expect(errorsOf(['a', 'b', 'a'])).toEqual({
      status: 422,
      errors: [{ path: 'features', message: 'listed more than once: a' }],
    });
    expect(errorsOf(['a', 'zz']).errors).toEqual([{ path: 'features', message: 'unknown columns: zz' }]);
  });

  it('refuses impossible pairs of task, loss and target, naming them', () => {
    expect(refusal(() => resolveSpec(parse({ datasetId: 'x', target: 'nope' }), iris, limits))).toMatch(
      /"nope"/,
    );
    expect(
      refusal(() =>
        resolveSpec(parse({ datasetId: 'x', target: 'species', features: ['a', 'zz'] }), iris, limits),
      ),
    ).toMatch(/zz/);
    expect(
      refusal(() =>
        resolveSpec(parse({ datasetId: 'x', target: 'species', features: ['a', 'species'] }), iris, limits),
      ),
    ).toMatch(/target/);
    expect(
      refusal(() =>
        resolveSpec(parse({ datasetId: 'x', target: 'species', task: 'regression' }), iris, limits),
      ),
    ).toMatch(/categorical/);
    expect(
      refusal(() =>
        resolveSpec(parse({ datasetId: 'x', target: 'species', training: { loss: 'mse' } }), iris, limits),
      ),
    ).toMatch(/mse/);
    expect(
      refusal(() =>
        resolveSpec(parse({ datasetId: 'x', target: 'a', training: { loss: 'crossEntropy' } }), iris, limits),
      ),
    ).toMatch(/crossEntropy/);
    expect(
      refusal(() =>
        resolveSpec(
          parse({ datasetId: 'x', target: 'species', training: { loss: 'binaryCrossEntropy' } }),
          iris,
          limits,
        ),
      ),
    ).toMatch(/2 classes/);
  });

  it('refuses specs beyond the limits, naming the limit', () => {
    expect(
      refusal(() =>
        resolveSpec(parse({ datasetId: 'x', target: 'species', training: { epochs: 1001 } }), iris, limits),
      ),
    ).toMatch(/1000/);
    const five = Array.from({ length: 5 }, () => ({ units: 4 }));
    expect(
      refusal(() =>
        resolveSpec(parse({ datasetId: 'x', target: 'species', model: { layers: five } }), iris, limits),
      ),
    ).toMatch(/limit is 4/);
    expect(
      refusal(() =>
        resolveSpec(
          parse({ datasetId: 'x', target: 'species', model: { layers: [{ units: 257 }] } }),
          iris,
          limits,
        ),
      ),
    ).toMatch(/256/);
    // (4+1)·200 + (200+1)·200 + (200+1)·3 = 41 803 fits; one more 200-unit layer (+40 200) does not
    const ok = resolveSpec(
      parse({ datasetId: 'x', target: 'species', model: { layers: [{ units: 200 }, { units: 200 }] } }),
      iris,
      limits,
    );
    expect(parameterCount(4, [...ok.model.layers.map((l) => l.units), 3])).toBe(41_803);
    expect(
      refusal(() =>
        resolveSpec(
          parse({
            datasetId: 'x',
            target: 'species',
            model: { layers: [{ units: 200 }, { units: 200 }, { units: 200 }] },
          }),
          iris,
          limits,
        ),
      ),
    ).toMatch(/82003 parameters/);
    expect(
      refusal(() =>
        resolveSpec(
          parse({ datasetId: 'x', target: 'species', training: { maxRuntimeSeconds: 601 } }),
          iris,
          limits,
        ),
      ),
    ).toMatch(/600/);
  });

  it('sizes default layers between 16 and 128 units', () => {
    expect(defaultHiddenLayers(1).map((l) => l.units)).toEqual([16, 8]);
    expect(defaultHiddenLayers(10).map((l) => l.units)).toEqual([64, 32]);
    expect(defaultHiddenLayers(500).map((l) => l.units)).toEqual([128, 64]);
  });
});
