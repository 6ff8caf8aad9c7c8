import { describe, expect, it } from 'vitest';
import {
  activations,
  createRng,
  Dense,
  getKernels,
  jsKernels,
  setKernels,
  type Kernels,
} from '../../src/engine/index.js';
import { LEAKY_SLOPE } from '../../src/engine/activations.js';

// Values every element-wise activation must handle: signs, both zeros, extremes, ±∞ and NaN.
const SPECIAL = [3.5, -2.25, 0, -0, 1e-30, -1e-30, 3e38, -3e38, Infinity, -Infinity, NaN];

function inputs(): Float32Array {
  const rng = createRng(5);
  const z = new Float32Array(SPECIAL.length + 200);
  z.set(SPECIAL);
  for (let i = SPECIAL.length; i < z.length; i++) z[i] = rng.normal() * 3;
  return z;
}

// Equal as numbers (+0 and −0 alike), or both NaN.
function expectSame(actual: Float32Array, expected: number[], what: string): void {
  for (let i = 0; i < expected.length; i++) {
    const ok = Number.isNaN(expected[i]) ? Number.isNaN(actual[i]) : actual[i] === Math.fround(expected[i]);
    if (!ok) expect.fail(`${what}[${i}] is ${actual[i]}, expected ${expected[i]}`);
  }
}

// The definitions written as plain branches: relu = max(v, 0) with NaN kept (so divergence
// shows), relu' = [v > 0]; leakyRelu = v or slope·v, leakyRelu' = 1 or slope.
const reluRef = (v: number) => (Number.isNaN(v) ? NaN : v > 0 ? v : 0);
const leakyRef = (v: number) => (v > 0 ? v : LEAKY_SLOPE * v);

describe('relu and leakyRelu', () => {
  const z = inputs();
  const n = z.length;
  const da = inputs().reverse();
  const a = new Float32Array(n);
  const dz = new Float32Array(n);

  it('when relu runs forward, then it is max(v, 0): a NaN stays NaN, −∞ gives 0, +∞ stays +∞', () => {
    activations.relu.forward(z, a, 1, n);
    expectSame(a, Array.from(z, reluRef), 'relu(z)');
    expect(a[SPECIAL.indexOf(-Infinity)]).toBe(0);
    expect(Number.isNaN(a[SPECIAL.length - 1])).toBe(true);
  });

  it('when relu runs backward, then dz is da where z > 0 and 0 elsewhere for finite da', () => {
    const finiteDa = da.map((v) => (Number.isFinite(v) ? v : 1));
    activations.relu.backward(z, a, finiteDa, dz, 1, n);
    expectSame(
      dz,
      Array.from(z, (v, i) => (v > 0 ? finiteDa[i] : 0)),
      'relu dz',
    );
  });

  it('when da is NaN, then relu backward passes the NaN on wherever it lands', () => {
    const nanDa = new Float32Array(n).fill(NaN);
    activations.relu.backward(z, a, nanDa, dz, 1, n);
    expect(dz.every((v) => Number.isNaN(v))).toBe(true);
  });

  it('when leakyRelu runs forward and backward, then it is v or slope·v bit for bit, ±∞ and NaN included', () => {
    activations.leakyRelu.forward(z, a, 1, n);
    expectSame(a, Array.from(z, leakyRef), 'leakyRelu(z)');
    expect(a[SPECIAL.indexOf(-Infinity)]).toBe(-Infinity);
    activations.leakyRelu.backward(z, a, da, dz, 1, n);
    expectSame(
      dz,
      Array.from(z, (v, i) => (v > 0 ? da[i] : LEAKY_SLOPE * da[i])),
      'leakyRelu dz',
    );
  });
});

describe('the bias pass fused into each activation', () => {
  const rows = 5;
  const cols = 7;
  it.each(Object.keys(activations) as (keyof typeof activations)[])(
    'when %s gets the bias and the bias gradient, then z, a, dz and db are bit for bit a separate add and column sum',
    (name) => {
      const act = activations[name];
      const rng = createRng(21);
      const z0 = Float32Array.from({ length: rows * cols }, () => rng.normal() * 2);
      const bias = Float32Array.from({ length: cols }, () => rng.normal());
      const da = Float32Array.from({ length: rows * cols }, () => rng.normal());

      // Reference: z += bias in its own loop, then the activation without a bias.
      const zRef = z0.slice();
      for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) zRef[r * cols + j] += bias[j];
      const aRef = new Float32Array(rows * cols);
      act.forward(zRef, aRef, rows, cols);
      const dzRef = new Float32Array(rows * cols);
      act.backward(zRef, aRef, da, dzRef, rows, cols);
      const dbRef = Float32Array.of(...Array.from({ length: cols }, () => 0.5));
      for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) dbRef[j] += dzRef[r * cols + j];

      const z = z0.slice();
      const a = new Float32Array(rows * cols);
      act.forward(z, a, rows, cols, bias);
      const dz = new Float32Array(rows * cols);
      const db = new Float32Array(cols).fill(0.5); // accumulates onto what is there
      act.backward(z, a, da, dz, rows, cols, db);
      expect(z).toEqual(zRef);
      expect(a).toEqual(aRef);
      expect(dz).toEqual(dzRef);
      expect(db).toEqual(dbRef);
    },
  );
});

describe('activation passes behind the kernel interface', () => {
  it('when the active backend brings its own activation pass, then dense layers use it forward and backward', () => {
    const calls: string[] = [];
    const relu = activations.relu;
    const backend: Kernels = {
      ...jsKernels,
      name: 'js-with-own-relu',
      activations: {
        ...jsKernels.activations,
        relu: {
          forward(z, a, rows, cols, bias) {
            calls.push('forward');
            relu.forward(z, a, rows, cols, bias);
          },
          backward(z, a, da, dz, rows, cols, biasGrad) {
            calls.push('backward');
            relu.backward(z, a, da, dz, rows, cols, biasGrad);
          },
        },
      },
    };
    const before = getKernels();
    setKernels(backend);
    try {
      const layer = new Dense(3, 2, 'relu');
      layer.init(createRng(1), 'he');
      const out = layer.forward(new Float32Array([1, -2, 3, 0.5, 0.5, -1]), 2);
      expect(out.every((v) => v >= 0)).toBe(true);
      layer.backward(new Float32Array([1, 1, 1, 1]));
      expect(calls).toEqual(['forward', 'backward']);
    } finally {
      setKernels(before);
    }
  });
});
