import { describe, expect, it } from 'vitest';
import {
  activations,
  createRng,
  Dense,
  fusedLosses,
  lossFunctions,
  Sequential,
  type ActivationName,
  type LossName,
} from '../../src/engine/index.js';
import { checkGradient, randomArray } from './grad-check.js';

const ACTIVATIONS = Object.keys(activations) as ActivationName[];

function dot64(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe('dense layer gradients (finite differences)', () => {
  it.each(ACTIVATIONS)('when the activation is %s, then dW, db and dX match central differences', (act) => {
    const rng = createRng(11);
    const rows = 3;
    const layer = new Dense(4, 5, act);
    layer.init(rng, 'xavierNormal');
    layer.bias.value.set(randomArray(rng, 5, 0.3));
    const x = randomArray(rng, rows * 4);
    // L = Σ R ⊙ a, so dL/da = R: a random projection exercises the full Jacobian.
    const R = randomArray(rng, rows * 5);
    const loss = () => dot64(layer.forward(x, rows), R);

    layer.forward(x, rows);
    const dx = (layer.backward(R) as Float32Array).slice();
    const dW = layer.weight.grad.slice();
    const db = layer.bias.grad.slice();

    checkGradient(`${act} W`, layer.weight.value, dW, loss);
    checkGradient(`${act} b`, layer.bias.value, db, loss);
    checkGradient(`${act} x`, x, dx, loss);
  });

  it('when backward runs twice, then parameter gradients accumulate', () => {
    const rng = createRng(3);
    const layer = new Dense(2, 3, 'tanh');
    layer.init(rng, 'he');
    const x = randomArray(rng, 4);
    const R = randomArray(rng, 6);
    layer.forward(x, 2);
    layer.backward(R);
    const once = layer.weight.grad.slice();
    layer.forward(x, 2);
    layer.backward(R);
    for (let i = 0; i < once.length; i++) expect(layer.weight.grad[i]).toBeCloseTo(2 * once[i], 6);
  });
});

// Targets for each loss: one-hot rows, 0/1 values, or real values.
function targets(loss: LossName, rows: number, cols: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const y = new Float32Array(rows * cols);
  if (loss === 'crossEntropy') for (let r = 0; r < rows; r++) y[r * cols + rng.int(cols)] = 1;
  else if (loss === 'binaryCrossEntropy') for (let i = 0; i < y.length; i++) y[i] = rng.int(2);
  else for (let i = 0; i < y.length; i++) y[i] = rng.normal();
  return y;
}

// Outputs a loss is evaluated on: probabilities for the cross-entropies, real values otherwise.
function outputs(loss: LossName, rows: number, cols: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const a = new Float32Array(rows * cols);
  if (loss === 'crossEntropy') activations.softmax.forward(randomArray(rng, rows * cols), a, rows, cols);
  else if (loss === 'binaryCrossEntropy')
    activations.sigmoid.forward(randomArray(rng, rows * cols), a, rows, cols);
  else a.set(randomArray(rng, rows * cols));
  return a;
}

describe('loss gradients (finite differences)', () => {
  const LOSSES = Object.keys(lossFunctions) as LossName[];

  it.each(LOSSES)('when the loss is %s, then dL/da matches central differences', (name) => {
    const rows = 4;
    const cols = 3;
    const fn = lossFunctions[name];
    const a = outputs(name, rows, cols, 5);
    const y = targets(name, rows, cols, 6);
    const da = new Float32Array(rows * cols);
    const value = fn.gradient(a, y, da, rows, cols);
    expect(value).toBeCloseTo(fn.value(a, y, rows, cols), 10);
    checkGradient(`${name} a`, a, da, () => fn.value(a, y, rows, cols));
  });

  const PAIRS: [ActivationName, LossName][] = [
    ['softmax', 'crossEntropy'],
    ['sigmoid', 'binaryCrossEntropy'],
  ];

  it.each(PAIRS)(
    'when %s is paired with %s, then the fused dL/dz matches differences and the unfused chain',
    (act, name) => {
      const rows = 4;
      const cols = 3;
      const fused = fusedLosses[act]?.[name];
      expect(fused).toBeDefined();
      const f = fused!;
      const rng = createRng(8);
      const z = randomArray(rng, rows * cols, 2);
      const y = targets(name, rows, cols, 9);
      const a = new Float32Array(rows * cols);
      const lossOfZ = () => {
        activations[act].forward(z, a, rows, cols);
        return f.value(z, a, y, rows, cols);
      };
      activations[act].forward(z, a, rows, cols);
      const dz = new Float32Array(rows * cols);
      const value = f.gradient(z, a, y, dz, rows, cols);
      checkGradient(`${act}+${name} z`, z, dz, lossOfZ);

      // The same loss and gradient through the generic loss and the activation's backward.
      activations[act].forward(z, a, rows, cols);
      expect(value).toBeCloseTo(lossFunctions[name].value(a, y, rows, cols), 5);
      const da = new Float32Array(rows * cols);
      lossFunctions[name].gradient(a, y, da, rows, cols);
      const dzChain = new Float32Array(rows * cols);
      activations[act].backward(z, a, da, dzChain, rows, cols);
      for (let i = 0; i < dz.length; i++) expect(dzChain[i]).toBeCloseTo(dz[i], 5);
    },
  );

  it('when logits are huge, then softmax cross-entropy stays finite and exact (log-sum-exp)', () => {
    const z = new Float32Array([1000, 0, -1000]);
    const y = new Float32Array([0, 1, 0]);
    const a = new Float32Array(3);
    activations.softmax.forward(z, a, 1, 3);
    const dz = new Float32Array(3);
    // lse(z) = 1000 + log(1 + e^-1000 + e^-2000) = 1000, so L = lse − z_1 = 1000.
    expect(fusedLosses.softmax!.crossEntropy!.gradient(z, a, y, dz, 1, 3)).toBeCloseTo(1000, 6);
    // (softmax − onehot) = [1, 0, 0] − [0, 1, 0].
    expect(Array.from(dz)).toEqual([1, -1, 0]);
  });
});

describe('network gradients end to end (finite differences)', () => {
  const CASES: {
    name: string;
    hidden: ActivationName[];
    out: ActivationName;
    loss: LossName;
    outSize: number;
  }[] = [
    {
      name: 'tanh, leakyRelu, softmax + crossEntropy',
      hidden: ['tanh', 'leakyRelu'],
      out: 'softmax',
      loss: 'crossEntropy',
      outSize: 3,
    },
    {
      name: 'sigmoid, relu, sigmoid + binaryCrossEntropy',
      hidden: ['sigmoid', 'relu'],
      out: 'sigmoid',
      loss: 'binaryCrossEntropy',
      outSize: 2,
    },
    { name: 'relu, tanh, linear + mse', hidden: ['relu', 'tanh'], out: 'linear', loss: 'mse', outSize: 2 },
    {
      name: 'tanh, sigmoid, linear + mae',
      hidden: ['tanh', 'sigmoid'],
      out: 'linear',
      loss: 'mae',
      outSize: 1,
    },
    {
      name: 'tanh, tanh, softmax + mse (unfused softmax Jacobian)',
      hidden: ['tanh', 'tanh'],
      out: 'softmax',
      loss: 'mse',
      outSize: 3,
    },
  ];

  it.each(CASES)(
    'when the network is $name, then every parameter gradient matches',
    ({ hidden, out, loss, outSize }) => {
      const rng = createRng(21);
      const rows = 5;
      const model = Sequential.create(
        {
          inputSize: 4,
          layers: [
            { units: 6, activation: hidden[0] },
            { units: 5, activation: hidden[1] },
            { units: outSize, activation: out },
          ],
          initializer: 'xavierNormal',
        },
        rng,
      );
      for (const l of model.layers) l.bias.value.set(randomArray(rng, l.units, 0.2));
      const x = randomArray(rng, rows * 4);
      const y = targets(loss, rows, outSize, 22);
      const lossFn = () => {
        model.forward(x, rows);
        return model.loss(loss, y, rows);
      };
      model.zeroGrad();
      model.forward(x, rows);
      const value = model.backward(loss, y, rows);
      expect(value).toBeCloseTo(lossFn(), 10);
      for (const p of model.params()) checkGradient(p.name, p.value, p.grad.slice(), lossFn);
    },
  );
});
