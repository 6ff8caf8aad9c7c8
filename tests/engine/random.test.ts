import { describe, expect, it } from 'vitest';
import { createRng, initializers, rngFromState } from '../../src/engine/index.js';

describe('seeded generator', () => {
  it('when seeded twice with the same seed, then the sequences are identical; another seed differs', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(sa);
  });

  it('when restored from state(), then it continues the same sequence', () => {
    const a = createRng(7);
    for (let i = 0; i < 10; i++) a.normal();
    const b = rngFromState(a.state());
    expect(Array.from({ length: 50 }, () => b.next())).toEqual(Array.from({ length: 50 }, () => a.next()));
  });

  it('when drawing many uniforms and normals, then they lie in range with the expected moments', () => {
    const r = createRng(1);
    const n = 100_000;
    let s = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      s += u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // Mean of U(0,1) is 0.5 with standard error 0.29/√n ≈ 0.0009; allow 5 standard errors.
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.005);
    let m = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      m += z;
      sq += z * z;
    }
    expect(Math.abs(m / n)).toBeLessThan(0.02);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.03);
  });

  it('when shuffling, then the result is a permutation and int(n) stays in [0, n)', () => {
    const r = createRng(5);
    const arr = Int32Array.from({ length: 50 }, (_, i) => i);
    r.shuffle(arr);
    expect(Array.from(arr).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(arr)).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (let i = 0; i < 1000; i++) {
      const k = r.int(3);
      expect(k === 0 || k === 1 || k === 2).toBe(true);
    }
  });

  it('when the state is not four 32-bit words, then rngFromState refuses it', () => {
    expect(() => rngFromState([1, 2, 3])).toThrow(/four 32-bit/);
    expect(() => rngFromState([0, 0, 0, 0])).toThrow(/not all zero/);
  });
});

describe('initializers', () => {
  const fanIn = 200;
  const fanOut = 100;
  const stats = (name: keyof typeof initializers) => {
    const w = new Float32Array(fanIn * fanOut);
    initializers[name](createRng(9), fanIn, fanOut, w);
    let max = 0;
    let sq = 0;
    for (const v of w) {
      max = Math.max(max, Math.abs(v));
      sq += v * v;
    }
    return { max, std: Math.sqrt(sq / w.length) };
  };

  it('when uniform forms are drawn, then they stay within their limits (std = limit/√3)', () => {
    const cases: [keyof typeof initializers, number][] = [
      ['he', Math.sqrt(6 / fanIn)],
      ['xavier', Math.sqrt(6 / (fanIn + fanOut))],
      ['uniform', 0.05],
    ];
    for (const [name, limit] of cases) {
      const s = stats(name);
      expect(s.max).toBeLessThanOrEqual(limit);
      expect(s.max).toBeGreaterThan(0.99 * limit);
      expect(s.std / (limit / Math.sqrt(3))).toBeCloseTo(1, 1);
    }
  });

  it('when normal forms are drawn, then their standard deviation matches the formula', () => {
    const cases: [keyof typeof initializers, number][] = [
      ['heNormal', Math.sqrt(2 / fanIn)],
      ['xavierNormal', Math.sqrt(2 / (fanIn + fanOut))],
      ['normal', 0.05],
    ];
    for (const [name, std] of cases) expect(stats(name).std / std).toBeCloseTo(1, 1);
  });
});
