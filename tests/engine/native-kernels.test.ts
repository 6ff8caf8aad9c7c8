// The optional native backend (native/kernels.cc): every instruction set this CPU runs, on one and
// two threads, against the naive reference; its Adam and ReLU passes give the reference's bits;
// and the engine falls back to WebAssembly when the addon is absent or does not load.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { activations } from '../../src/engine/activations.js';
import {
  availableKernels,
  describeEngine,
  jsKernels,
  loadNativeKernels,
  nativeLoad,
  setKernels,
  getKernels,
  wasmKernels,
} from '../../src/engine/kernels/index.js';
import { ADDON_FUNCTIONS } from '../../src/engine/kernels/native.js';
import { createOptimizer } from '../../src/engine/optimizers.js';
import { createParam } from '../../src/engine/tensor.js';
import { boundRatio, randomArray, rng } from './kernel-check.js';

const addon = nativeLoad.addon;
const native = nativeLoad.kernels;
// The CI machine has g++ and Node's headers, so the install built the addon; where it did not, the
// fallback tests below still run and these are reported as skipped by the condition, not hidden.
const withAddon = describe.runIf(addon !== null);

/**
 * The instruction sets this CPU runs, up to the addon's best ("generic", "avx2", "avx512"), and that
 * best, for a suite that switches between them; after the suite the addon is back on it, one thread.
 */
function isasRestoredAfterAll(): { isas: string[]; best: string } {
  const order = ['generic', 'avx2', 'avx512'];
  const best = addon?.isa() ?? 'generic';
  afterAll(() => {
    addon!.setIsa(best);
    addon!.setThreads(1);
  });
  return { isas: order.slice(0, order.indexOf(best) + 1), best };
}

const SHAPES: Array<[number, number, number]> = [
  [1, 256, 784], // one row
  [17, 9, 300], // narrow C, two depth blocks
  [64, 4, 128], // narrow output, computed as Cᵀ
  [130, 70, 515], // edges in every dimension, three depth blocks
  [96, 300, 100], // split by columns on two threads
  [300, 100, 96], // split by rows on two threads
];

interface Case {
  where: string;
  args: [boolean, boolean, number, number, number];
  a: Float32Array;
  b: Float32Array;
  c0: Float32Array;
  accumulate: boolean;
  want: Float32Array;
}

// Every shape, transpose case and accumulate flag with its reference result, made once.
let cases: Case[] | null = null;
function allCases(): Case[] {
  if (cases) return cases;
  const rand = rng(99);
  cases = [];
  for (const [m, n, k] of SHAPES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const accumulate of [false, true]) {
          const a = randomArray(m * k, rand);
          const b = randomArray(k * n, rand);
          const c0 = randomArray(m * n, rand);
          const want = c0.slice();
          jsKernels.gemm(transA, transB, m, n, k, a, b, want, accumulate);
          const where = `${m}x${n}x${k} transA=${transA} transB=${transB} acc=${accumulate}`;
          cases.push({ where, args: [transA, transB, m, n, k], a, b, c0, accumulate, want });
        }
      }
    }
  }
  return cases;
}

function checkAllShapes(label: string): void {
  for (const { where, args, a, b, c0, accumulate, want } of allCases()) {
    const [transA, transB, m, n, k] = args;
    const got = c0.slice();
    native!.gemm(transA, transB, m, n, k, a, b, got, accumulate);
    expect(boundRatio(...args, a, b, c0, accumulate, got, want), `${label} ${where}`).toBeLessThanOrEqual(1);
    if (transB) continue;
    const prepared = native!.prepare(false, k, n, b);
    const gotPrepared = c0.slice();
    native!.gemmPrepared(transA, m, a, prepared, gotPrepared, accumulate);
    expect(
      boundRatio(...args, a, b, c0, accumulate, gotPrepared, want),
      `${label} ${where} prepared`,
    ).toBeLessThanOrEqual(1);
  }
}

withAddon('native backend', () => {
  const { isas, best } = isasRestoredAfterAll();

  for (const isa of isas) {
    for (const threads of [1, 2]) {
      it(`when it runs ${isa} on ${threads} thread(s), then every transpose case matches the reference`, () => {
        expect(addon!.setIsa(isa)).toBe(isa);
        expect(addon!.setThreads(threads)).toBe(threads);
        checkAllShapes(`${isa}/${threads}T`);
      });
    }
  }

  it('when an instruction set this CPU lacks is asked for, then setIsa refuses it', () => {
    if (best === 'avx512') return expect(() => addon!.setIsa('neon')).toThrow(/cannot run/);
    expect(() => addon!.setIsa('avx512')).toThrow(/cannot run/);
  });

  it('when a matrix packed for one instruction set is used under another, then gemmPrepared refuses it', () => {
    addon!.setIsa(best);
    const prepared = native!.prepare(false, 4, 4, new Float32Array(16));
    addon!.setIsa('generic');
    try {
      if (best !== 'generic') {
        expect(() =>
          native!.gemmPrepared(false, 1, new Float32Array(4), prepared, new Float32Array(4), false),
        ).toThrow(/packed for/);
      }
    } finally {
      addon!.setIsa(best);
    }
  });

  it('when an operand is shorter than its shape, then the addon throws instead of reading past it', () => {
    expect(() =>
      addon!.gemm(
        false,
        false,
        4,
        4,
        4,
        new Float32Array(15),
        new Float32Array(16),
        new Float32Array(16),
        false,
      ),
    ).toThrow(/shorter/);
    expect(() =>
      addon!.gemm(false, false, 1, 1, 1, new Float32Array(1), [1] as never, new Float32Array(1), false),
    ).toThrow(/Float32Array/);
  });

  it('when Adam steps through the native pass, then weights and moments have the reference loop’s bits', () => {
    for (const extra of [{}, { weightDecay: 0.01, clipNorm: 0.5 }]) {
      const rand = rng(5);
      const w0 = randomArray(1000, rand);
      const grads = [randomArray(1000, rand), randomArray(1000, rand), randomArray(1000, rand)];
      grads[0][3] = 0;
      const run = (kernels: typeof jsKernels) => {
        const before = getKernels();
        setKernels(kernels);
        try {
          const p = createParam('w', 1000, true);
          p.value.set(w0);
          const opt = createOptimizer([p], { type: 'adam', learningRate: 0.01, ...extra });
          for (const g of grads) {
            p.grad.set(g);
            opt.step();
          }
          return {
            w: Array.from(p.value),
            slots: opt.state().slots.map((s) => Array.from(s)),
            grad: Array.from(p.grad),
          };
        } finally {
          setKernels(before);
        }
      };
      const want = run(jsKernels);
      const got = run(native!);
      expect(got).toEqual(want);
      expect(got.grad.every((g) => g === 0)).toBe(true);
    }
  });

  it('when ReLU runs natively, then z, a, dz and the bias gradient have the reference’s bits, signed zeros and non-finite values included', () => {
    const rand = rng(8);
    const [rows, cols] = [9, 37];
    const z0 = randomArray(rows * cols, rand);
    z0.set([Infinity, -Infinity, NaN, -0, 0, -1e-30], 0);
    const bias = randomArray(cols, rand);
    bias[0] = 0;
    const da = randomArray(rows * cols, rand);
    const pass = (relu: (typeof activations)['relu'], withBias: boolean) => {
      const z = z0.slice();
      const a = new Float32Array(rows * cols);
      const dz = new Float32Array(rows * cols);
      const g = withBias ? new Float32Array(cols).fill(0.5) : undefined;
      relu.forward(z, a, rows, cols, withBias ? bias : undefined);
      relu.backward(z, a, da, dz, rows, cols, g);
      return [z, a, dz, g ?? new Float32Array(0)].map((x) => Array.from(x));
    };
    for (const withBias of [true, false]) {
      const want = pass(activations.relu, withBias);
      const got = pass(native!.activations.relu, withBias);
      // toEqual tells +0 from -0 and treats NaN as equal to NaN: the bits that matter here.
      expect(got).toEqual(want);
    }
  });
});

// The dense forward (inference): every shape and activation it fuses, on every instruction set and
// thread count, against gemmPrepared followed by the JavaScript activation pass; x holds one row
// with an infinity so NaN, ±∞ and the ReLU of −∞ are compared too.
const DENSE_SHAPES: Array<[number, number, number]> = [
  [1, 256, 784],
  [17, 9, 300],
  [130, 70, 515],
  [300, 100, 96], // split by rows on two threads
  [40, 300, 200], // split by columns on two threads
];

function checkDenseForward(label: string): void {
  const rand = rng(21);
  for (const [m, n, k] of DENSE_SHAPES) {
    const x = randomArray(m * k, rand);
    x[Math.min(1, m - 1) * k + 3] = Infinity;
    const w = randomArray(k * n, rand);
    const bias = randomArray(n, rand);
    const prepared = native!.prepare(false, k, n, w);
    for (const activation of ['relu', 'linear'] as const) {
      const z = new Float32Array(m * n);
      const want = new Float32Array(m * n);
      native!.gemmPrepared(false, m, x, prepared, z, false);
      activations[activation].forward(z, want, m, n, bias);
      const got = new Float32Array(m * n).fill(7);
      expect(native!.denseForward!(m, x, prepared, bias, activation, got)).toBe(true);
      // toEqual tells +0 from -0 and treats NaN as equal to NaN: the bits that matter here.
      expect(Array.from(got), `${label} ${m}x${n}x${k} ${activation}`).toEqual(Array.from(want));
    }
  }
}

withAddon('native dense forward', () => {
  const { isas } = isasRestoredAfterAll();

  for (const isa of isas) {
    for (const threads of [1, 2]) {
      it(`when it runs ${isa} on ${threads} thread(s), then ReLU and linear layers have the bits of the product and the activation pass`, () => {
        expect(addon!.setIsa(isa)).toBe(isa);
        expect(addon!.setThreads(threads)).toBe(threads);
        checkDenseForward(`${isa}/${threads}T`);
      });
    }
  }

  it('when the activation is one it does not fuse, then denseForward declines and writes nothing', () => {
    const prepared = native!.prepare(false, 3, 2, new Float32Array(6).fill(1));
    const out = new Float32Array(4).fill(7);
    const x = new Float32Array(6).fill(1);
    expect(native!.denseForward!(2, x, prepared, new Float32Array(2), 'softmax', out)).toBe(false);
    expect(Array.from(out)).toEqual([7, 7, 7, 7]);
  });

  it('when the bias or an operand is short, then denseForward throws naming it', () => {
    const prepared = native!.prepare(false, 3, 2, new Float32Array(6));
    const x = new Float32Array(6);
    const out = new Float32Array(4);
    expect(() => native!.denseForward!(2, x, prepared, new Float32Array(1), 'relu', out)).toThrow(
      /bias has 1 elements, needs 2/,
    );
    expect(() => native!.denseForward!(2, x, prepared, new Float32Array(2), 'relu', out.subarray(1))).toThrow(
      /C has 3 elements/,
    );
  });
});

describe('without the native addon', () => {
  it('when the addon file is missing, then loading says it is not built and WebAssembly comes first', () => {
    const load = loadNativeKernels(join(tmpdir(), 'no-such-dir', 'kernels.node'));
    expect(load.kernels).toBeNull();
    expect(load.error).toMatch(/not built/);
    const order = availableKernels(load.kernels).map((k) => k.name);
    expect(order).toEqual(['wasm-simd', 'js-blocked', 'js']);
    expect(
      describeEngine({ backend: order[0], isa: null, threads: 1, nativeUnavailable: load.error ?? null }),
    ).toMatch(/^wasm-simd \(native addon not built/);
  });

  it('when the addon file is not a loadable library, then loading reports why instead of throwing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bp-native-'));
    const bogus = join(dir, 'kernels.node');
    writeFileSync(bogus, 'not a shared object');
    const load = loadNativeKernels(bogus);
    expect(load.kernels).toBeNull();
    expect(load.error).toMatch(/^cannot load/);
  });

  it('when the addon was built from older sources and lacks a function, then it is not used and the reason names it', () => {
    // A stale build (sources pulled, npm run build:native not run) loads but misses newer entry
    // points; using it would fail every job at its first call instead of falling back.
    const dir = mkdtempSync(join(tmpdir(), 'bp-native-'));
    const stale = join(dir, 'stale-addon.cjs');
    const names = ADDON_FUNCTIONS.filter((name) => name !== 'denseForward');
    writeFileSync(stale, `module.exports = {${names.map((n) => `${n}() {}`).join(', ')}};`);
    const load = loadNativeKernels(stale);
    expect(load.kernels).toBeNull();
    expect(load.addon).toBeNull();
    expect(load.error).toMatch(/older sources \(no denseForward\); run npm run build:native/);
  });

  it('when the engine runs on the WebAssembly fallback, then a product matches the reference', () => {
    const rand = rng(4);
    const [m, n, k] = [33, 20, 70];
    const a = randomArray(m * k, rand);
    const b = randomArray(k * n, rand);
    const want = new Float32Array(m * n);
    const got = new Float32Array(m * n);
    jsKernels.gemm(false, true, m, n, k, a, b, want, false);
    availableKernels(null)[0].gemm(false, true, m, n, k, a, b, got, false);
    expect(availableKernels(null)[0]).toBe(wasmKernels);
    expect(boundRatio(false, true, m, n, k, a, b, want, false, got, want)).toBeLessThanOrEqual(1);
  });

  it('when no C++ compiler is found, then the install step says so and exits 0, leaving any built addon alone', () => {
    const before = nativeLoad.path;
    const r = spawnSync(process.execPath, ['scripts/build-native.mjs'], {
      encoding: 'utf8',
      env: { ...process.env, CXX: 'false' },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/C\+\+ compiler .*not built/);
    expect(loadNativeKernels(before).error).toBe(nativeLoad.error);
  });
});
