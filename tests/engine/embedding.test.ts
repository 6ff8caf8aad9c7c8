import { describe, expect, it } from 'vitest';
import {
  createOptimizer,
  createRng,
  fit,
  ModelFormatError,
  PeriodicEmbedding,
  piecewiseLinearBins,
  Sequential,
  type ModelSpec,
  type SerializedModel,
} from '../../src/engine/index.js';
import { checkGradient, randomArray } from './grad-check.js';

const EMBEDDED: ModelSpec = {
  inputSize: 4,
  embedding: { type: 'periodic', features: [0, 2, 3], frequencies: 5, size: 3, sigma: 0.3 },
  layers: [
    { units: 6, activation: 'mish' },
    { units: 3, activation: 'softmax' },
  ],
  initializer: 'xavierNormal',
};

function oneHot(rows: number, classes: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const y = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) y[r * classes + Math.floor(rng.next() * classes)] = 1;
  return y;
}

describe('periodic numeric embeddings', () => {
  it('when the network has an embedding, then every parameter gradient matches finite differences', () => {
    const rng = createRng(31);
    const model = Sequential.create(EMBEDDED, rng);
    const rows = 5;
    const x = randomArray(rng, rows * 4);
    const y = oneHot(rows, 3, 32);
    const lossFn = () => {
      model.forward(x, rows);
      return model.loss('crossEntropy', y, rows);
    };
    model.zeroGrad();
    model.forward(x, rows);
    model.backward('crossEntropy', y, rows);
    const names = model.params().map((p) => p.name);
    expect(names.slice(0, 4)).toEqual([
      'embedding.frequency',
      'embedding.phase',
      'embedding.weight',
      'embedding.bias',
    ]);
    for (const p of model.params()) {
      // Every embedding parameter must receive some gradient, or the check below proves nothing.
      if (p.name.startsWith('embedding.')) expect(p.grad.some((g) => g !== 0)).toBe(true);
      checkGradient(p.name, p.value, p.grad.slice(), lossFn);
    }
  });

  it('when a row goes through, then its raw inputs come first and each embedded value is b₂ + W₂·cos(2π·w₁·x + b₁)', () => {
    const model = Sequential.create(EMBEDDED, createRng(3));
    const e = model.embedding as PeriodicEmbedding;
    const x = new Float32Array([0.5, -1, 2, 0.25]);
    const out = e.forward(x, 1);
    expect(out.length).toBe(4 + 3 * 3);
    expect(Array.from(out.subarray(0, 4))).toEqual(Array.from(x));
    // Feature 1 of the embedding is input column 2 (x = 2); its output 1, written out by hand.
    const K = 5;
    const f = 1;
    const o = 1;
    let z = e.bias.value[f * 3 + o];
    for (let q = 0; q < K; q++) {
      const angle = 2 * Math.PI * e.frequency.value[f * K + q] * 2 + e.phase.value[f * K + q];
      z += e.weight.value[(f * 3 + o) * K + q] * Math.cos(angle);
    }
    expect(out[4 + f * 3 + o]).toBeCloseTo(z, 5);
    // The first dense layer sees the widened row.
    expect(model.layers[0].inputSize).toBe(13);
  });

  it('when an embedded model is saved and loaded, then it predicts the same bits', () => {
    const model = Sequential.create(EMBEDDED, createRng(4));
    const x = randomArray(createRng(5), 7 * 4);
    const loaded = Sequential.fromJSON(JSON.parse(JSON.stringify(model.toJSON())) as SerializedModel);
    expect(loaded.spec.embedding).toEqual(EMBEDDED.embedding);
    expect(Array.from(loaded.predict(x, 7))).toEqual(Array.from(model.predict(x, 7)));
  });

  it.each([
    [{ features: [] }, /features must be a non-empty array/],
    [{ features: [0, 4] }, /features\[1\] must be an integer in \[0, 4\)/],
    [{ features: [2, 1] }, /strictly ascending/],
    [{ frequencies: 0 }, /frequencies must be an integer/],
    [{ sigma: -1 }, /sigma must be a positive number/],
  ])('when the embedding spec has %j, then loading it fails naming the field', (patch, message) => {
    const spec = { ...EMBEDDED, embedding: { ...EMBEDDED.embedding!, ...patch } };
    expect(() => Sequential.create(spec, createRng(1))).toThrow(ModelFormatError);
    expect(() => Sequential.create(spec, createRng(1))).toThrow(message);
  });

  it('when the optimizer steps, then embedding parameters move at a tenth of the learning rate', () => {
    const model = Sequential.create(EMBEDDED, createRng(6));
    const params = model.params();
    for (const p of params) p.grad.fill(1);
    const before = params.map((p) => p.value.slice());
    createOptimizer(params, { type: 'sgd', learningRate: 0.5 }).step();
    // SGD: w ← w − lr·factor·g with g = 1, so every value moves by exactly lr·factor.
    params.forEach((p, i) => {
      const step = p.name.startsWith('embedding.') ? 0.05 : 0.5;
      expect(before[i][0] - p.value[0]).toBeCloseTo(step, 6);
    });
  });

  it('when a target depends on a sharp periodic function of one input, then the embedding fits it better than the plain network', async () => {
    // y = sign(sin(6·x₀)) on x₀ ∈ [−3, 3]: twelve alternating bands, hard for one tanh layer of 8 units.
    const rows = 600;
    const rng = createRng(40);
    const x = new Float32Array(rows * 2);
    const y = new Float32Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      x[r * 2] = rng.next() * 6 - 3;
      x[r * 2 + 1] = rng.normal();
      y[r * 2 + (Math.sin(6 * x[r * 2]) > 0 ? 1 : 0)] = 1;
    }
    const accuracy = async (embedded: boolean): Promise<number> => {
      const spec: ModelSpec = {
        inputSize: 2,
        ...(embedded
          ? {
              embedding: {
                type: 'periodic' as const,
                features: [0, 1],
                frequencies: 16,
                size: 3,
                sigma: 0.5,
              },
            }
          : {}),
        layers: [
          { units: 8, activation: 'tanh' },
          { units: 2, activation: 'softmax' },
        ],
        initializer: 'xavier',
      };
      const model = Sequential.create(spec, createRng(41));
      await fit(
        model,
        { x, y, rows },
        {
          epochs: 60,
          batchSize: 32,
          optimizer: { type: 'adam', learningRate: 0.01 },
          loss: 'crossEntropy',
          seed: 42,
        },
      );
      const p = model.predict(x, rows);
      let right = 0;
      for (let r = 0; r < rows; r++) if (p[r * 2 + 1] > p[r * 2] === y[r * 2 + 1] > 0) right++;
      return right / rows;
    };
    const plain = await accuracy(false);
    const embedded = await accuracy(true);
    expect(embedded).toBeGreaterThan(0.9);
    // Measured on this seed: plain 0.61, embedded 0.997.
    expect(embedded).toBeGreaterThan(plain + 0.2);
  });
});

describe('piecewise-linear encoding', () => {
  const PLE: ModelSpec = {
    inputSize: 3,
    embedding: {
      type: 'piecewiseLinear',
      features: [0, 2],
      bins: [
        [0, 1, 3],
        [-1, 1],
      ],
    },
    layers: [{ units: 2, activation: 'linear' }],
    initializer: 'xavier',
  };

  it('when a row goes through, then each bin value is clamp((x − b_{t−1})/(b_t − b_{t−1}), 0, 1) after the raw inputs', () => {
    const model = Sequential.create(PLE, createRng(1));
    const out = model.embedding!.forward(new Float32Array([2, 7, 0.5, -5, 7, 4]), 2);
    // Row 1: x₀ = 2 → bins [0,1]: 1, [1,3]: 0.5; x₂ = 0.5 → [−1,1]: 0.75.
    // Row 2: x₀ = −5 → 0, 0 (below the first edge); x₂ = 4 → 1 (above the last).
    expect(Array.from(out)).toEqual([2, 7, 0.5, 1, 0.5, 0.75, -5, 7, 4, 0, 0, 1]);
    expect(model.layers[0].inputSize).toBe(6);
    expect(model.paramCount()).toBe(6 * 2 + 2);
  });

  it('when bins are taken from training rows, then they are the distinct quantiles (numpy linear interpolation)', () => {
    // Column 0 holds 0…8; quantiles at 0, ¼, ½, ¾, 1 of 9 values: 0, 2, 4, 6, 8 (numpy.quantile).
    // Column 1 is constant: one distinct edge, widened to [5, 6].
    const rows = 9;
    const x = new Float32Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      x[r * 2] = 8 - r;
      x[r * 2 + 1] = 5;
    }
    expect(piecewiseLinearBins(x, rows, 2, [0, 1], 4)).toEqual([
      [0, 2, 4, 6, 8],
      [5, 6],
    ]);
    // Levels 0, ⅓, ⅔, 1 of ten values sit at sorted ranks 0, 3, 6, 9: 0, 0, 3, 6; the repeated 0 collapses.
    const y = new Float32Array([6, 0, 0, 0, 0, 1, 2, 3, 4, 5]);
    expect(piecewiseLinearBins(y, 10, 1, [0], 3)).toEqual([[0, 3, 6]]);
  });

  it('when the network has a piecewise-linear encoding, then the dense gradients still match finite differences', () => {
    const rng = createRng(12);
    const model = Sequential.create(
      {
        ...PLE,
        layers: [
          { units: 4, activation: 'selu' },
          { units: 1, activation: 'linear' },
        ],
      },
      rng,
    );
    const rows = 4;
    const x = randomArray(rng, rows * 3, 2);
    const y = randomArray(rng, rows);
    const lossFn = () => {
      model.forward(x, rows);
      return model.loss('mse', y, rows);
    };
    model.zeroGrad();
    model.forward(x, rows);
    model.backward('mse', y, rows);
    for (const p of model.params()) checkGradient(p.name, p.value, p.grad.slice(), lossFn);
  });

  it('when edges are not ascending or do not match the features, then loading fails naming the field', () => {
    const bad = (bins: number[][]) => ({ ...PLE, embedding: { ...PLE.embedding!, bins } as never });
    expect(() => Sequential.create(bad([[0, 1]]), createRng(1))).toThrow(
      /one array of edges per embedded feature/,
    );
    expect(() =>
      Sequential.create(
        bad([
          [0, 0],
          [1, 2],
        ]),
        createRng(1),
      ),
    ).toThrow(/bins\[0\] must be 2 to 257/);
    const loaded = Sequential.fromJSON(
      JSON.parse(JSON.stringify(Sequential.create(PLE, createRng(2)).toJSON())),
    );
    expect(loaded.spec.embedding).toEqual(PLE.embedding);
  });
});
