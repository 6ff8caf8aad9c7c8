// Each optimizer's first two steps on f(w) = w²/2 (so the gradient is w), from w = 1, worked out
// by hand below. Float32 storage limits agreement to about 7 digits, so values are compared to 6.
import { describe, expect, it } from 'vitest';
import { createOptimizer, createParam, type OptimizerConfig, type Param } from '../../src/engine/index.js';

function weight(v: number[]): Param {
  const p = createParam('w', v.length, true);
  p.value.set(v);
  return p;
}

/** Two steps with grad = w (the gradient of w²/2); returns w after each step. */
function twoSteps(cfg: OptimizerConfig): number[] {
  const p = weight([1]);
  const opt = createOptimizer([p], cfg);
  const out: number[] = [];
  for (let k = 0; k < 2; k++) {
    p.grad[0] = p.value[0];
    opt.step();
    out.push(p.value[0]);
  }
  return out;
}

describe('optimizers: first two steps by hand', () => {
  it('sgd: w ← w − lr·g', () => {
    // lr 0.1: w1 = 1 − 0.1·1 = 0.9; w2 = 0.9 − 0.1·0.9 = 0.81
    const [w1, w2] = twoSteps({ type: 'sgd', learningRate: 0.1 });
    expect(w1).toBeCloseTo(0.9, 6);
    expect(w2).toBeCloseTo(0.81, 6);
  });

  it('momentum: v ← μv + g; w ← w − lr·v', () => {
    // μ 0.9, lr 0.1: v1 = 1, w1 = 0.9; v2 = 0.9·1 + 0.9 = 1.8, w2 = 0.9 − 0.18 = 0.72
    const [w1, w2] = twoSteps({ type: 'momentum', learningRate: 0.1, momentum: 0.9 });
    expect(w1).toBeCloseTo(0.9, 6);
    expect(w2).toBeCloseTo(0.72, 6);
  });

  it('momentum with Nesterov: w ← w − lr·(g + μv)', () => {
    // v1 = 1, w1 = 1 − 0.1·(1 + 0.9·1) = 0.81;
    // g2 = 0.81, v2 = 0.9 + 0.81 = 1.71, w2 = 0.81 − 0.1·(0.81 + 0.9·1.71) = 0.81 − 0.2349 = 0.5751
    const [w1, w2] = twoSteps({ type: 'momentum', learningRate: 0.1, momentum: 0.9, nesterov: true });
    expect(w1).toBeCloseTo(0.81, 6);
    expect(w2).toBeCloseTo(0.5751, 6);
  });

  it('adagrad: s ← s + g²; w ← w − lr·g/(√s + ε)', () => {
    // s1 = 1, w1 = 1 − 0.1·1/1 = 0.9; s2 = 1 + 0.81 = 1.81, w2 = 0.9 − 0.09/√1.81 = 0.9 − 0.0668965 = 0.8331035
    const [w1, w2] = twoSteps({ type: 'adagrad', learningRate: 0.1 });
    expect(w1).toBeCloseTo(0.9, 6);
    expect(w2).toBeCloseTo(0.8331035, 6);
  });

  it('rmsprop: s ← ρs + (1 − ρ)g²; w ← w − lr·g/(√s + ε)', () => {
    // ρ 0.9, lr 0.01: s1 = 0.1, w1 = 1 − 0.01/√0.1 = 0.9683772;
    // s2 = 0.09 + 0.1·0.9683772² = 0.1837754, w2 = 0.9683772 − 0.01·0.9683772/√0.1837754 = 0.9457880
    const [w1, w2] = twoSteps({ type: 'rmsprop', learningRate: 0.01, rho: 0.9 });
    expect(w1).toBeCloseTo(0.9683772, 6);
    expect(w2).toBeCloseTo(0.945788, 6);
  });

  it('adam: bias-corrected moments (the first step moves by lr·sign(g))', () => {
    // β1 0.9, β2 0.999, lr 0.1.
    // t1: m = 0.1, v = 0.001; m̂ = 0.1/(1 − 0.9) = 1, v̂ = 0.001/(1 − 0.999) = 1 → w1 = 1 − 0.1·1/1 = 0.9
    // t2: g = 0.9; m = 0.09 + 0.09 = 0.18, v = 0.000999 + 0.00081 = 0.001809;
    //     m̂ = 0.18/0.19 = 0.9473684, v̂ = 0.001809/0.001999 = 0.9049525, √v̂ = 0.9512899
    //     w2 = 0.9 − 0.1·0.9473684/0.9512899 = 0.8004122
    // (Without the correction w1 would be 1 − 0.1·0.1/√0.001 = 0.6838.)
    const [w1, w2] = twoSteps({ type: 'adam', learningRate: 0.1, beta1: 0.9, beta2: 0.999 });
    expect(w1).toBeCloseTo(0.9, 6);
    expect(w2).toBeCloseTo(0.8004122, 6);
  });
});

describe('optimizers: shared options', () => {
  it('when weightDecay is set, then weights decay (grad += wd·w) and biases do not', () => {
    const w = weight([1]);
    const b = createParam('b', 1, false);
    b.value[0] = 0.5;
    const opt = createOptimizer([w, b], { type: 'sgd', learningRate: 0.1, weightDecay: 0.5 });
    // Loss gradient 0: g = 0.5·w. w1 = 1 − 0.1·0.5 = 0.95; w2 = 0.95 − 0.1·0.475 = 0.9025; b stays 0.5.
    opt.step();
    expect(w.value[0]).toBeCloseTo(0.95, 6);
    opt.step();
    expect(w.value[0]).toBeCloseTo(0.9025, 6);
    expect(b.value[0]).toBe(0.5);
  });

  it('when clipNorm is set, then the global gradient norm over all parameters is clipped', () => {
    const w = weight([0]);
    const b = createParam('b', 1, false);
    const opt = createOptimizer([w, b], { type: 'sgd', learningRate: 1, clipNorm: 1 });
    // Step 1: g = (3, 4), ‖g‖ = 5 > 1 → scale 0.2 → w = −0.6, b = −0.8.
    w.grad[0] = 3;
    b.grad[0] = 4;
    opt.step();
    expect(w.value[0]).toBeCloseTo(-0.6, 6);
    expect(b.value[0]).toBeCloseTo(-0.8, 6);
    // Step 2: g = (0.3, 0.4), ‖g‖ = 0.5 ≤ 1 → unclipped → w = −0.9, b = −1.2.
    w.grad[0] = 0.3;
    b.grad[0] = 0.4;
    opt.step();
    expect(w.value[0]).toBeCloseTo(-0.9, 6);
    expect(b.value[0]).toBeCloseTo(-1.2, 6);
  });

  it('when adam has weightDecay, then the decay term is its only gradient for a zero loss gradient', () => {
    const w = weight([1]);
    const opt = createOptimizer([w], { type: 'adam', learningRate: 0.1, weightDecay: 0.5 });
    // g = 0.5·w. t1: g = 0.5 → the first step is lr·sign(g): w1 = 0.9.
    // t2: g = 0.45; m = 0.045 + 0.045 = 0.09, v = 0.00024975 + 0.0002025 = 0.00045225;
    //     m̂ = 0.09/0.19 = 0.4736842, v̂ = 0.00045225/0.001999 = 0.2262381 → w2 = 0.9 − 0.1·0.4736842/0.4756449 = 0.8004122
    opt.step();
    expect(w.value[0]).toBeCloseTo(0.9, 6);
    opt.step();
    expect(w.value[0]).toBeCloseTo(0.8004122, 6);
  });

  it('when adam has clipNorm, then the clipped gradient feeds its moments', () => {
    const w = weight([0]);
    const opt = createOptimizer([w], { type: 'adam', learningRate: 0.1, clipNorm: 1 });
    // t1: g = 3 clipped to 1 → m = 0.1, v = 0.001, w1 = −0.1.
    // t2: g = 0.5 (unclipped) → m = 0.14, v = 0.001249; m̂ = 0.7368421, v̂ = 0.6248124 → w2 = −0.1 − 0.1·0.7368421/0.7904508 = −0.1932180
    // (unclipped moments would give w2 = −0.1783327)
    w.grad[0] = 3;
    opt.step();
    expect(w.value[0]).toBeCloseTo(-0.1, 6);
    w.grad[0] = 0.5;
    opt.step();
    expect(w.value[0]).toBeCloseTo(-0.193218, 6);
  });

  it('when a step is taken, then the gradients are zeroed for the next backward', () => {
    const p = weight([1, 2]);
    p.grad.set([0.5, -0.5]);
    createOptimizer([p], { type: 'adam', learningRate: 0.01 }).step();
    expect(Array.from(p.grad)).toEqual([0, 0]);
  });

  it('when the state is loaded into a fresh optimizer, then it continues exactly like the original', () => {
    const cfg: OptimizerConfig = { type: 'adam', learningRate: 0.05 };
    const a = weight([1, -2]);
    const optA = createOptimizer([a], cfg);
    for (let k = 0; k < 3; k++) {
      a.grad.set(a.value);
      optA.step();
    }
    const b = weight(Array.from(a.value));
    const optB = createOptimizer([b], cfg);
    optB.load(optA.state());
    for (let k = 0; k < 3; k++) {
      a.grad.set(a.value);
      optA.step();
      b.grad.set(b.value);
      optB.step();
    }
    expect(Array.from(b.value)).toEqual(Array.from(a.value));
  });

  it('when a setting is out of range, then creating the optimizer names it', () => {
    const p = weight([1]);
    expect(() => createOptimizer([p], { type: 'sgd', learningRate: -1 })).toThrow(/learningRate/);
    expect(() => createOptimizer([p], { type: 'adam', learningRate: 0.1, beta1: 1 })).toThrow(/beta1/);
    expect(() => createOptimizer([p], { type: 'sgd', learningRate: 0.1, clipNorm: 0 })).toThrow(/clipNorm/);
    expect(() =>
      createOptimizer([p], { type: 'momentum', learningRate: 0.1 }).load({ type: 'adam', t: 1, slots: [] }),
    ).toThrow(/adam/);
  });
});
