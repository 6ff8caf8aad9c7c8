import { describe, expect, it } from 'vitest';
import { activations, createRng } from '../../src/engine/index.js';
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
    expectSame(dz, Array.from(z, (v, i) => (v > 0 ? finiteDa[i] : 0)), 'relu dz');
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
    expectSame(dz, Array.from(z, (v, i) => (v > 0 ? da[i] : LEAKY_SLOPE * da[i])), 'leakyRelu dz');
  });
});
