// README.md's "Training defaults" table states the values of the one definition the schemas use.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recipes } from '../../src/domain/recipes.js';
import { TrainingSpecInputSchema } from '../../src/domain/schemas.js';
import {
  DEFAULT_LEARNING_RATE,
  TRAINING_DEFAULTS as D,
  defaultInitializer,
} from '../../src/domain/training-defaults.js';
import { OPTIMIZER_DEFAULTS as O } from '../../src/engine/index.js';

/** The README table's rows: field cell → default cell. */
function readmeDefaults(): Map<string, string> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Training defaults'));
  const rows = section.slice(0, section.indexOf('\n\n', section.indexOf('| field'))).split('\n');
  return new Map(
    rows
      .filter((r) => r.startsWith('| `'))
      .map((r) => r.split('|').map((c) => c.trim()))
      .map(([, field, value]) => [field, value]),
  );
}

describe('training defaults', () => {
  const rows = readmeDefaults();
  const row = (field: string) => rows.get(field) ?? `(no README row for ${field})`;

  it('when the README table is read, then each default is stated with the value the schemas fill in', () => {
    expect(row('`training.epochs`')).toContain(`\`${D.epochs}\``);
    expect(row('`training.batchSize`')).toContain(`\`${D.batchSize}\``);
    expect(row('`training.validationSplit`, `testSplit`')).toContain(
      `\`${D.validationSplit}\`, \`${D.testSplit}\``,
    );
    expect(row('`training.earlyStopping`')).toContain(`patience \`${D.earlyStopping.patience}\``);
    expect(row('`training.earlyStopping`')).toContain(`\`minDelta\` ${D.earlyStopping.minDelta}`);
    expect(row('`training.seed`')).toContain(`\`${D.seed}\``);
    expect(row('`model.binaryOutput`')).toMatch(new RegExp(`^\`${D.binaryOutput}\``));
    expect(row('`preprocessing.scaling`')).toMatch(new RegExp(`^\`${D.scaling}\``));
    expect(row('`preprocessing.unknownCategory`')).toMatch(new RegExp(`^\`${D.unknownCategory}\``));
  });

  it('when the README states the optimizer defaults, then they are the engine and learning-rate tables', () => {
    const optimizer = row('`training.optimizer`');
    expect(optimizer).toMatch(
      new RegExp(`^\`${D.optimizer}\`, learning rate \`${DEFAULT_LEARNING_RATE.adam}\``),
    );
    expect(optimizer).toContain(`β₁ \`${O.adam.beta1}\`, β₂ \`${O.adam.beta2}\`, ε \`${O.adam.epsilon}\``);
    expect(optimizer).toContain(`sgd/momentum \`${DEFAULT_LEARNING_RATE.sgd}\``);
    expect(DEFAULT_LEARNING_RATE.momentum).toBe(DEFAULT_LEARNING_RATE.sgd);
    expect(optimizer).toContain(`adagrad \`${DEFAULT_LEARNING_RATE.adagrad}\``);
    expect(optimizer).toContain(`rmsprop \`${DEFAULT_LEARNING_RATE.rmsprop}\``);
    expect(optimizer).toContain(`momentum \`${O.momentum.momentum}\``);
    expect(optimizer).toContain(`rmsprop ρ \`${O.rmsprop.rho}\``);
    expect(O.adagrad.epsilon).toBe(O.rmsprop.epsilon);
    expect(optimizer).toContain(`adagrad and rmsprop ε \`${O.rmsprop.epsilon}\``);
  });

  it('when a spec names nothing, then the schema fills in exactly these defaults', () => {
    const parsed = TrainingSpecInputSchema.parse({ datasetId: 'ds', target: 'y' });
    expect(parsed.recipe).toBe('quality');
    // The fields a recipe fills come from the fast recipe, which reads the same table; quality
    // (the default) is fast with folds in place of the validation split and metric-selected epochs.
    const fast = recipes.fast({ task: 'classification', rows: 100, inputSize: 4 });
    const quality = recipes.quality({ task: 'classification', rows: 100, inputSize: 4 });
    expect(quality.training).toEqual({
      ...fast.training,
      validationSplit: 0,
      crossValidation: { folds: 5 },
      bestEpoch: 'metric',
    });
    expect(quality.preprocessing).toEqual(fast.preprocessing);
    expect(quality.layers).toEqual(fast.layers);
    expect({ ...parsed.training, ...fast.training }).toMatchObject({
      epochs: D.epochs,
      batchSize: D.batchSize,
      validationSplit: D.validationSplit,
      testSplit: D.testSplit,
      earlyStopping: D.earlyStopping,
      seed: D.seed,
      optimizer: { type: 'adam', learningRate: DEFAULT_LEARNING_RATE.adam, ...O.adam },
    });
    expect({ ...parsed.preprocessing, ...fast.preprocessing }).toMatchObject({
      scaling: D.scaling,
      unknownCategory: D.unknownCategory,
    });
    const rms = TrainingSpecInputSchema.parse({
      datasetId: 'ds',
      target: 'y',
      training: { optimizer: { type: 'rmsprop' } },
    });
    expect(rms.training.optimizer).toEqual({
      type: 'rmsprop',
      learningRate: DEFAULT_LEARNING_RATE.rmsprop,
      ...O.rmsprop,
    });
  });

  it('when the hidden layers are all relu or leakyRelu, then He initialization; otherwise Xavier (README row)', () => {
    expect(row('`model.initializer`')).toBe('`he` for `relu`/`leakyRelu` layers, `xavier` otherwise');
    expect(defaultInitializer(['relu', 'leakyRelu'])).toBe('he');
    expect(defaultInitializer(['relu', 'tanh'])).toBe('xavier');
    expect(defaultInitializer([])).toBe('xavier');
  });
});
