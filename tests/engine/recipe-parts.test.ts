import { describe, expect, it } from 'vitest';
import {
  activations,
  createOptimizer,
  createParam,
  createRng,
  decodeTrainingState,
  encodeTrainingState,
  evaluate,
  fit,
  fitEnsemble,
  scheduleFactor,
  Sequential,
  TrainingAbortedError,
  type EnsembleFitOptions,
  type ModelSpec,
  type TrainingState,
} from '../../src/engine/index.js';
import { checkGradient, randomArray } from './grad-check.js';
import { blobs } from './datasets.js';

const weightBytes = (m: Sequential): string => m.toJSON().params.join('|');

describe('activations SELU, GELU and Mish', () => {
  // Reference values from the definitions, computed with Python's math module (float64):
  // selu(-1) = λα(e⁻¹ − 1); gelu(1) = ½(1 + tanh(√(2/π)(1 + 0.044715))); mish(1) = tanh(log(1 + e)).
  it.each([
    ['selu', -1, -1.1113307378125625],
    ['selu', 2, 2.101401974710961],
    ['gelu', 1, 0.8411919906082768],
    ['gelu', -2, -0.04540230591222965],
    ['mish', 1, 0.8650983882673103],
    ['mish', -1, -0.30340146137410895],
  ] as const)('when %s is applied to %d, then it gives %d', (name, v, expected) => {
    const z = new Float32Array([v]);
    const a = new Float32Array(1);
    activations[name].forward(z, a, 1, 1);
    expect(a[0]).toBeCloseTo(expected, 6);
  });
});

describe('dropout', () => {
  const spec: ModelSpec = {
    inputSize: 4,
    layers: [
      { units: 6, activation: 'tanh', dropout: 0.5 },
      { units: 3, activation: 'softmax' },
    ],
    initializer: 'xavier',
  };

  it('when training with a fixed mask, then the gradients match central differences', () => {
    const model = Sequential.create(spec, createRng(1));
    const x = randomArray(createRng(2), 5 * 4);
    const y = new Float32Array(15);
    for (let r = 0; r < 5; r++) y[r * 3 + (r % 3)] = 1;
    // The same seed draws the same mask on every forward.
    const loss = () => {
      model.forwardTrain(x, 5, createRng(7));
      return model.loss('crossEntropy', y, 5);
    };
    model.zeroGrad();
    model.forwardTrain(x, 5, createRng(7));
    model.backward('crossEntropy', y, 5);
    const params = model.params();
    const grads = params.map((p) => p.grad.slice());
    params.forEach((p, i) => checkGradient(p.name, p.value, grads[i], loss));
  });

  it('when a layer has a rate p, then outputs are scaled by 1/(1-p) so their mean over many masks equals the prediction', () => {
    const linearOut: ModelSpec = {
      inputSize: 4,
      layers: [
        { units: 6, activation: 'tanh', dropout: 0.5 },
        { units: 1, activation: 'linear' },
      ],
      initializer: 'xavier',
    };
    const model = Sequential.create(linearOut, createRng(3));
    const row = randomArray(createRng(4), 4);
    const rows = 20000;
    const x = new Float32Array(rows * 4);
    for (let r = 0; r < rows; r++) x.set(row, r * 4);
    const out = model.forwardTrain(x, rows, createRng(5));
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += out[r] / rows;
    const distinct = new Set(Array.from(out.subarray(0, 200))).size;
    expect(distinct).toBeGreaterThan(10); // masks differ from row to row
    const predicted = model.predict(row, 1)[0];
    // The output is linear in the mask, so E[train output] = predict (no dropout); the standard
    // error of the mean over 20,000 masks is well under 0.02 for these unit-scale weights.
    expect(Math.abs(mean - predicted)).toBeLessThan(0.02);
    expect(Array.from(model.predict(row, 1))).toEqual(Array.from(model.predict(row, 1)));
  });

  it('when the rate factor is 0 (end of a schedule), then the training forward equals predict', () => {
    const model = Sequential.create(spec, createRng(3));
    const x = randomArray(createRng(4), 8 * 4);
    const train = model.forwardTrain(x, 8, createRng(5), 0).slice();
    expect(Array.from(train)).toEqual(Array.from(model.predict(x, 8)));
  });
});

describe('decoupled weight decay', () => {
  it('when the gradient is zero, then one step multiplies weights by 1 − lr·wd and leaves biases alone', () => {
    const w = createParam('w', 3, true);
    const b = createParam('b', 2, false);
    w.value.set([1, -2, 0.5]);
    b.value.set([3, -1]);
    const opt = createOptimizer([w, b], { type: 'adam', learningRate: 0.1, decoupledWeightDecay: 0.02 });
    opt.step();
    // 1 − 0.1·0.02 = 0.998; Adam's own update is 0 for a zero gradient (m = v = 0).
    expect(Array.from(w.value)).toEqual([1, -2, 0.5].map((v) => Math.fround(v * 0.998)));
    expect(Array.from(b.value)).toEqual([3, -1]);
    // With a schedule factor on the learning rate (0.5) and on the decay (0.5): 1 − 0.05·0.02·0.5.
    opt.step(0.5, 0.5);
    expect(w.value[0]).toBeCloseTo(0.998 * (1 - 0.0005), 6);
  });
});

describe('schedules', () => {
  // Values from the formulas in src/engine/schedules.ts, worked by hand.
  it.each([
    ['constant', 0.7, 0, 1],
    ['cosine', 0, 0, 1],
    ['cosine', 0.5, 0, 0.5],
    ['cosine', 1, 0, 0],
    ['flatCosine', 0.3, 0, 1],
    ['flatCosine', 0.75, 0, 0.5],
    ['cosLog4', 0, 0, 0],
    ['cosLog4', 1 / 15, 0, 0], // log₂(2) = 1: the end of the first cycle
    ['cosLog4', 1 / 30, 0, 0.5 * (1 - Math.cos(2 * Math.PI * Math.log2(1.5)))],
    ['constant', 0.05, 0.1, 0.5], // half-way through a 10 % linear warm-up
  ] as const)('when %s is at t = %d with warm-up %d, then the factor is %d', (name, t, warmup, expected) => {
    expect(scheduleFactor(name, t, warmup)).toBeCloseTo(expected, 10);
  });
});

describe('label smoothing and best-epoch selection', () => {
  it('when every row is class 0 and ε = 0.1, then the bias-only model converges to p = 1 − ε/2', async () => {
    const rows = 32;
    const data = { x: new Float32Array(rows), y: new Float32Array(rows * 2), rows };
    for (let r = 0; r < rows; r++) data.y[r * 2] = 1;
    const model = Sequential.create(
      { inputSize: 1, layers: [{ units: 2, activation: 'softmax' }], initializer: 'xavier' },
      createRng(1),
    );
    await fit(model, data, {
      epochs: 300,
      batchSize: 32,
      optimizer: { type: 'adam', learningRate: 0.05 },
      loss: 'crossEntropy',
      seed: 1,
      labelSmoothing: 0.1,
    });
    // The smoothed target is (0.95, 0.05): cross-entropy is smallest at exactly that softmax.
    expect(model.predict(new Float32Array([0]), 1)[0]).toBeCloseTo(0.95, 3);
  });

  it('when selecting on the metric, then the model ends with the weights of the last epoch of best validation accuracy', async () => {
    const data = blobs(120, 11);
    const val = blobs(40, 12);
    const spec: ModelSpec = {
      inputSize: 6,
      layers: [
        { units: 8, activation: 'relu' },
        { units: 4, activation: 'softmax' },
      ],
      initializer: 'he',
    };
    const model = Sequential.create(spec, createRng(3));
    const snapshots: string[] = [];
    const res = await fit(model, data, {
      epochs: 25,
      batchSize: 16,
      optimizer: { type: 'adam', learningRate: 0.01 },
      loss: 'crossEntropy',
      seed: 3,
      validation: val,
      bestEpoch: { monitor: 'metric' },
      onEpoch: () => void snapshots.push(weightBytes(model)),
    });
    const accs = res.history.map((h) => h.valAccuracy as number);
    const best = Math.max(...accs);
    const lastBest = accs.lastIndexOf(best) + 1;
    expect(res.bestEpoch).toBe(lastBest);
    expect(weightBytes(model)).toBe(snapshots[lastBest - 1]);
    const m = evaluate(model, val, { loss: 'crossEntropy', kind: 'classification' });
    expect('accuracy' in m && m.accuracy).toBe(best);
  });
  it('when selecting on the metric with early stopping, then the run stops patience epochs after the first epoch of best validation accuracy', async () => {
    // Overlapping blobs (centres 1.5 apart, unit noise): the loss and the accuracy peak apart.
    const data = blobs(120, 41);
    const val = blobs(60, 42);
    const spec: ModelSpec = {
      inputSize: 6,
      layers: [
        { units: 32, activation: 'relu' },
        { units: 4, activation: 'softmax' },
      ],
      initializer: 'he',
    };
    const patience = 6;
    const res = await fit(Sequential.create(spec, createRng(5)), data, {
      epochs: 300,
      batchSize: 16,
      optimizer: { type: 'adam', learningRate: 0.01 },
      loss: 'crossEntropy',
      seed: 5,
      validation: val,
      bestEpoch: { monitor: 'metric' },
      earlyStopping: { patience },
    });
    const accs = res.history.map((h) => h.valAccuracy as number);
    const losses = res.history.map((h) => h.valLoss as number);
    const firstBestAccuracy = accs.indexOf(Math.max(...accs)) + 1;
    const firstBestLoss = losses.indexOf(Math.min(...losses)) + 1;
    expect(res.stoppedEarly).toBe(true);
    expect(res.history).toHaveLength(firstBestAccuracy + patience);
    // Stopping on the loss would have ended elsewhere: the fixture tells the two rules apart.
    expect(firstBestLoss + patience).not.toBe(res.history.length);
    expect(res.bestEpoch).toBe(accs.lastIndexOf(Math.max(...accs)) + 1);
  });
});

describe('fitEnsemble', () => {
  const spec: ModelSpec = {
    inputSize: 6,
    layers: [
      { units: 10, activation: 'selu', dropout: 0.15 },
      { units: 4, activation: 'softmax' },
    ],
    initializer: 'xavier',
  };
  const opts: EnsembleFitOptions = {
    epochs: 8,
    batchSize: 16,
    optimizer: { type: 'adam', learningRate: 0.01, beta2: 0.95, decoupledWeightDecay: 0.02 },
    loss: 'crossEntropy',
    labelSmoothing: 0.1,
    learningRateSchedule: 'cosLog4',
    regularizationSchedule: 'flatCosine',
    bestEpoch: { monitor: 'metric' },
  };
  const members = (seed: number) =>
    [0, 1, 2].map((i) => ({
      model: Sequential.create(spec, createRng(seed + i)),
      train: blobs(90, 20 + i),
      validation: blobs(30, 30 + i),
      seed: 100 + i,
    }));

  it('when 3 members are saved at epoch 4 and resumed, then every member ends byte for byte as the straight run', async () => {
    const straight = members(1);
    const full = await fitEnsemble(straight, opts);
    // Schedules depend on the whole run's length: the state is taken at epoch 4 of an 8-epoch run.
    let own: Uint8Array | null = null;
    await fitEnsemble(members(1), {
      ...opts,
      onEpoch: (r, snapshot) => {
        if (r.epoch === 4) own = encodeTrainingState(snapshot());
      },
    });
    const state: TrainingState = decodeTrainingState(own!);
    expect(state.members).toHaveLength(2);
    const resumed = members(50);
    const rest = await fitEnsemble(resumed, { ...opts, resume: state });
    expect(rest).toEqual(full);
    resumed.forEach((m, i) => expect(weightBytes(m.model)).toBe(weightBytes(straight[i].model)));
    // The history is the mean of the members' reports.
    expect(full.history).toHaveLength(8);
    expect(full.members.map((m) => m.epochs)).toEqual([8, 8, 8]);
  });

  it('when the signal aborts, then no member trains further', async () => {
    const ms = members(2);
    const controller = new AbortController();
    const before: string[] = [];
    await expect(
      fitEnsemble(ms, {
        ...opts,
        signal: controller.signal,
        onEpoch: (r) => {
          if (r.epoch === 2) {
            ms.forEach((m) => before.push(weightBytes(m.model)));
            controller.abort();
          }
        },
      }),
    ).rejects.toBeInstanceOf(TrainingAbortedError);
    ms.forEach((m, i) => expect(weightBytes(m.model)).toBe(before[i]));
  });

  it('when a state of another ensemble size is given, then it is refused', async () => {
    let state: TrainingState | null = null;
    await fit(Sequential.create(spec, createRng(1)), blobs(50, 1), {
      ...opts,
      seed: 1,
      epochs: 1,
      onEpoch: (_r, s) => void (state = s()),
    });
    await expect(fitEnsemble(members(1), { ...opts, resume: state! })).rejects.toThrow(
      /1 networks, expected 3/,
    );
  });
});
