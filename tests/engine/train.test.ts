import { describe, expect, it } from 'vitest';
import {
  createOptimizer,
  createRng,
  decodeTrainingState,
  encodeTrainingState,
  evaluate,
  fit,
  outputActivationFor,
  Sequential,
  TrainingAbortedError,
  TrainingDivergedError,
  type FitOptions,
  type ModelSpec,
  type TrainingState,
} from '../../src/engine/index.js';
import { blobs, moons, smoothRegression, xor } from './datasets.js';

function weightBytes(m: Sequential): string {
  return m.toJSON().params.join('|');
}

describe('fit: convergence with a fixed seed', () => {
  it('when trained on XOR, then it classifies all four points', async () => {
    const model = Sequential.create(
      {
        inputSize: 2,
        layers: [
          { units: 8, activation: 'tanh' },
          { units: 2, activation: 'softmax' },
        ],
        initializer: 'xavier',
      },
      createRng(1),
    );
    await fit(model, xor(), {
      epochs: 400,
      batchSize: 4,
      optimizer: { type: 'adam', learningRate: 0.05 },
      loss: 'crossEntropy',
      seed: 1,
    });
    const m = evaluate(model, xor(), { loss: 'crossEntropy', kind: 'classification' });
    expect('accuracy' in m && m.accuracy).toBe(1);
  });

  it('when trained on two interleaved moons, then held-out accuracy is at least 0.95', async () => {
    const train = moons(400, 0.1, 2);
    const test = moons(400, 0.1, 3);
    const model = Sequential.create(
      {
        inputSize: 2,
        layers: [
          { units: 16, activation: 'relu' },
          { units: 16, activation: 'relu' },
          { units: 2, activation: outputActivationFor('crossEntropy') },
        ],
        initializer: 'he',
      },
      createRng(2),
    );
    const res = await fit(model, train, {
      epochs: 40,
      batchSize: 32,
      optimizer: { type: 'adam', learningRate: 0.01 },
      loss: 'crossEntropy',
      seed: 2,
      validation: test,
    });
    const m = evaluate(model, test, { loss: 'crossEntropy', kind: 'classification' });
    expect('accuracy' in m && m.accuracy).toBeGreaterThanOrEqual(0.95);
    // Validation metrics are reported each epoch and the last one matches evaluate().
    expect(res.history).toHaveLength(40);
    expect(res.history[39].valAccuracy).toBe('accuracy' in m ? m.accuracy : NaN);
    expect(res.history[39].loss).toBeLessThan(res.history[0].loss);
  });

  it('when trained on a smooth regression, then held-out r2 is at least 0.95', async () => {
    const train = smoothRegression(600, 4);
    const test = smoothRegression(300, 5);
    const model = Sequential.create(
      {
        inputSize: 2,
        layers: [
          { units: 32, activation: 'tanh' },
          { units: 1, activation: 'linear' },
        ],
        initializer: 'xavier',
      },
      createRng(4),
    );
    const res = await fit(model, train, {
      epochs: 80,
      batchSize: 32,
      optimizer: { type: 'adam', learningRate: 0.01 },
      loss: 'mse',
      seed: 4,
      validation: test,
    });
    const m = evaluate(model, test, { loss: 'mse', kind: 'regression' });
    expect('r2' in m && m.r2).toBeGreaterThanOrEqual(0.95);
    expect(res.history[res.history.length - 1].valR2).toBeCloseTo('r2' in m ? m.r2 : NaN, 10);
  });
});

const SPEC: ModelSpec = {
  inputSize: 6,
  layers: [
    { units: 12, activation: 'relu' },
    { units: 8, activation: 'tanh' },
    { units: 4, activation: 'softmax' },
  ],
  initializer: 'xavier',
};

const baseOpts = (extra: Partial<FitOptions> = {}): FitOptions => ({
  epochs: 10,
  batchSize: 16,
  optimizer: { type: 'adam', learningRate: 0.01 },
  loss: 'crossEntropy',
  seed: 99,
  ...extra,
});

describe('fit: determinism and resume', () => {
  const data = blobs(150, 7); // 150 rows: the last batch of each epoch is smaller (6 rows)
  const val = blobs(60, 8);

  it('when the same seed is used twice, then the weights are byte-identical', async () => {
    const a = Sequential.create(SPEC, createRng(5));
    const b = Sequential.create(SPEC, createRng(5));
    expect(weightBytes(a)).toBe(weightBytes(b));
    await fit(a, data, baseOpts());
    await fit(b, data, baseOpts());
    expect(weightBytes(a)).toBe(weightBytes(b));
    const c = Sequential.create(SPEC, createRng(5));
    await fit(c, data, baseOpts({ seed: 100 }));
    expect(weightBytes(c)).not.toBe(weightBytes(a));
  });

  async function straightVsResumed(extra: Partial<FitOptions>) {
    const straight = Sequential.create(SPEC, createRng(6));
    const full = await fit(straight, data, baseOpts(extra));

    let saved: Uint8Array | null = null;
    const first = Sequential.create(SPEC, createRng(6));
    await fit(first, data, {
      ...baseOpts(extra),
      epochs: 5,
      onEpoch: (r, snapshot) => {
        if (r.epoch === 5) saved = encodeTrainingState(snapshot());
      },
    });
    expect(saved).not.toBeNull();
    // A different model instance (different initial weights) picks up the saved state.
    const resumed = Sequential.create(SPEC, createRng(123));
    const state: TrainingState = decodeTrainingState(saved!);
    const rest = await fit(resumed, data, { ...baseOpts(extra), resume: state });
    return { straight, resumed, full, rest };
  }

  it('when 5 epochs are saved, encoded, decoded and resumed for 5 more, then the weights equal 10 straight epochs byte for byte', async () => {
    const { straight, resumed, full, rest } = await straightVsResumed({ validation: val });
    expect(weightBytes(resumed)).toBe(weightBytes(straight));
    expect(rest.history).toEqual(full.history);
    expect(rest.history).toHaveLength(10);
  });

  it('when early stopping is configured, then a resumed run also ends byte for byte as the straight one', async () => {
    // A tight patience and a large minDelta make the stop fall inside the 10 epochs.
    const es = {
      validation: val,
      epochs: 10,
      earlyStopping: { patience: 2, minDelta: 0.02, restoreBest: true },
    };
    const { straight, resumed, full, rest } = await straightVsResumed(es);
    expect(full.stoppedEarly).toBe(true);
    expect(full.history.length).toBeGreaterThan(5);
    expect(full.history.length).toBeLessThan(10);
    expect(weightBytes(resumed)).toBe(weightBytes(straight));
    expect(rest).toEqual(full);
  });
  it('when early stopping has patience 0, then a resumed run still matches the straight one', async () => {
    const { straight, resumed, full, rest } = await straightVsResumed({
      validation: val,
      earlyStopping: { patience: 0 },
    });
    expect(weightBytes(resumed)).toBe(weightBytes(straight));
    expect(rest).toEqual(full);
  });
});

describe('fit: early stopping', () => {
  it('when the validation loss stops improving, then training stops and the best weights are restored', async () => {
    const data = blobs(120, 11);
    const val = blobs(60, 12);
    const model = Sequential.create(SPEC, createRng(3));
    let bestSnapshot = '';
    let best = Infinity;
    const res = await fit(model, data, {
      ...baseOpts({ validation: val, epochs: 200, optimizer: { type: 'adam', learningRate: 0.05 } }),
      earlyStopping: { patience: 3 },
      onEpoch: (r, snapshot) => {
        if (r.valLoss! < best) {
          best = r.valLoss!;
          bestSnapshot = snapshot().model.params.join('|');
        }
      },
    });
    expect(res.stoppedEarly).toBe(true);
    expect(res.history.length).toBeLessThan(200);
    const losses = res.history.map((h) => h.valLoss!);
    const bestIdx = losses.indexOf(Math.min(...losses));
    expect(res.bestEpoch).toBe(bestIdx + 1);
    expect(res.history.length).toBe(res.bestEpoch + 3);
    expect(weightBytes(model)).toBe(bestSnapshot);
  });
});

describe('fit: cancellation and divergence', () => {
  it('when the signal aborts during an epoch, then fit rejects with TrainingAbortedError between batches', async () => {
    const data = blobs(200, 13);
    const model = Sequential.create(SPEC, createRng(1));
    const ctrl = new AbortController();
    let epochs = 0;
    const run = fit(model, data, {
      ...baseOpts({ epochs: 50, batchSize: 8 }),
      onEpoch: (r) => {
        epochs = r.epoch;
        if (r.epoch === 2) ctrl.abort();
      },
      signal: ctrl.signal,
    });
    await expect(run).rejects.toBeInstanceOf(TrainingAbortedError);
    await expect(run).rejects.toMatchObject({ code: 'aborted', epoch: 3 });
    expect(epochs).toBe(2);
  });

  it('when the signal aborts from a timer, then fit gives the event loop a turn and stops', async () => {
    const model = Sequential.create(SPEC, createRng(1));
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 20);
    await expect(
      fit(model, blobs(100, 2), { ...baseOpts({ epochs: 100_000 }), signal: ctrl.signal }),
    ).rejects.toMatchObject({
      code: 'aborted',
    });
  });

  it('when onEpoch is synchronous, then fit still gives the event loop a turn at each epoch boundary', async () => {
    const model = Sequential.create(SPEC, createRng(1));
    const ctrl = new AbortController();
    let last = 0;
    const run = fit(model, blobs(16, 2), {
      ...baseOpts({ epochs: 100_000, batchSize: 16 }),
      signal: ctrl.signal,
      onEpoch: (r) => {
        last = r.epoch;
        // Lands only if fit lets a macrotask run before the next epoch's first batch.
        if (r.epoch === 3) setImmediate(() => ctrl.abort());
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'aborted', epoch: 4 });
    expect(last).toBe(3);
  });

  it('when the signal is already aborted, then no batch runs and the weights are unchanged', async () => {
    const model = Sequential.create(SPEC, createRng(1));
    const before = weightBytes(model);
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(fit(model, blobs(50, 1), { ...baseOpts(), signal: ctrl.signal })).rejects.toMatchObject({
      code: 'aborted',
    });
    expect(weightBytes(model)).toBe(before);
  });

  it('when the learning rate is huge, then fit rejects with TrainingDivergedError and the weights stay finite', async () => {
    const data = smoothRegression(200, 1);
    const model = Sequential.create(
      {
        inputSize: 2,
        layers: [
          { units: 16, activation: 'relu' },
          { units: 1, activation: 'linear' },
        ],
        initializer: 'he',
      },
      createRng(1),
    );
    const run = fit(model, data, {
      epochs: 50,
      batchSize: 10,
      optimizer: { type: 'sgd', learningRate: 1e6 },
      loss: 'mse',
      seed: 1,
    });
    await expect(run).rejects.toBeInstanceOf(TrainingDivergedError);
    await expect(run).rejects.toMatchObject({ code: 'diverged' });
    for (const p of model.params()) for (const v of p.value) expect(Number.isFinite(v)).toBe(true);
    expect(Number.isFinite(evaluate(model, data, { loss: 'mse', kind: 'regression' }).loss)).toBe(true);
  });

  it('when inputs do not fit the model, then fit names the mismatch', async () => {
    const model = Sequential.create(SPEC, createRng(1));
    await expect(
      fit(model, { x: new Float32Array(10), y: new Float32Array(8), rows: 2 }, baseOpts()),
    ).rejects.toThrow(/x has 10 values, expected 2×6/);
    await expect(fit(model, blobs(10, 1), baseOpts({ batchSize: 0 }))).rejects.toThrow(/batchSize/);
  });
});

describe('fit: which rows make each batch', () => {
  // One epoch by hand: the seeded shuffle (as fit draws it) or file order, batches of `bs` rows
  // copied out of the data, forward, backward, one Adam step each.
  function byHand(
    model: Sequential,
    data: { x: Float32Array; y: Float32Array; rows: number },
    bs: number,
    shuffle: boolean,
  ): void {
    const opt = createOptimizer(model.params(), { type: 'adam', learningRate: 0.01 });
    const inSize = model.inputSize;
    const outSize = model.outputSize;
    const idx = Int32Array.from({ length: data.rows }, (_, i) => i);
    if (shuffle) createRng(9).shuffle(idx);
    for (let s = 0; s < data.rows; s += bs) {
      const n = Math.min(bs, data.rows - s);
      const xb = new Float32Array(n * inSize);
      const yb = new Float32Array(n * outSize);
      for (let b = 0; b < n; b++) {
        xb.set(data.x.subarray(idx[s + b] * inSize, (idx[s + b] + 1) * inSize), b * inSize);
        yb.set(data.y.subarray(idx[s + b] * outSize, (idx[s + b] + 1) * outSize), b * outSize);
      }
      model.forward(xb, n);
      model.backward('crossEntropy', yb, n);
      opt.step();
    }
  }

  it.each([
    ['shuffled, 80-value rows (copied a row at a time)', 80, true],
    ['shuffled, 6-value rows', 6, true],
    ['in file order (batches used in place)', 80, false],
  ] as const)(
    'when rows are %s, then one epoch equals the same batches by hand byte for byte',
    async (_, width, shuffle) => {
      const rows = 45; // the last batch is short
      const rng = createRng(4);
      const x = Float32Array.from({ length: rows * width }, () => rng.normal());
      const y = new Float32Array(rows * 3);
      for (let r = 0; r < rows; r++) y[r * 3 + (r % 3)] = 1;
      const spec: ModelSpec = {
        inputSize: width,
        layers: [
          { units: 7, activation: 'relu' },
          { units: 3, activation: 'softmax' },
        ],
        initializer: 'xavier',
      };
      const viaFit = Sequential.create(spec, createRng(5));
      const manual = Sequential.create(spec, createRng(5));
      const xBefore = x.slice();
      await fit(
        viaFit,
        { x, y, rows },
        {
          epochs: 1,
          batchSize: 16,
          optimizer: { type: 'adam', learningRate: 0.01 },
          loss: 'crossEntropy',
          seed: 9,
          shuffle,
        },
      );
      byHand(manual, { x, y, rows }, 16, shuffle);
      expect(weightBytes(viaFit)).toBe(weightBytes(manual));
      expect(weightBytes(viaFit)).not.toBe(weightBytes(Sequential.create(spec, createRng(5))));
      expect(x).toEqual(xBefore); // training never writes its input
    },
  );
});
