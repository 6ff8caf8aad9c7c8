// Every kernel backend against the naive reference (jsKernels) on seeded random data, within the
// error bound of tests/engine/kernel-check.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleWat, WASM_MODULE_PATH, WAT_PATH, wasmModuleSource } from '../../scripts/build-wasm.js';
import { boundRatio, randomArray, rng, U } from './kernel-check.js';
import {
  availableKernels,
  getKernels,
  jsKernels,
  nativeKernels,
  selectKernels,
  setKernels,
  wasmKernels,
  wasmSimdAvailable,
  type Kernels,
} from '../../src/engine/kernels/index.js';

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [13, 7, 5],
  [3, 17, 2],
  [1, 256, 784], // single-row predict, gemv path
  [128, 1, 33], // one-column C
  [64, 4, 128], // narrow output, computed as Cᵀ
  [128, 10, 128],
  [37, 29, 261], // k not a multiple of the tile and more than one K block
  [129, 23, 300], // m over one M block
  [128, 784, 256], // L1 dX-sized
];

const backends = availableKernels();

describe('kernel backends', () => {
  it('when SIMD WebAssembly compiles here, then wasm-simd is available, and the default unless the native addon was built', () => {
    expect(wasmSimdAvailable).toBe(true);
    expect(wasmKernels).not.toBeNull();
    const rest = ['wasm-simd', 'js-blocked', 'js'];
    expect(backends.map((k) => k.name)).toEqual(nativeKernels ? ['native', ...rest] : rest);
  });

  for (const kernels of backends) {
    describe(kernels.name, () => {
      for (const [m, n, k] of SHAPES) {
        it(`when gemm runs ${m}x${n}x${k} in all four transpose cases, with and without accumulate, then it matches the reference within the bound`, () => {
          const rand = rng(m * 1_000_003 + n * 1009 + k);
          for (const transA of [false, true]) {
            for (const transB of [false, true]) {
              for (const accumulate of [false, true]) {
                const a = randomArray(m * k, rand);
                const b = randomArray(k * n, rand);
                const c0 = randomArray(m * n, rand);
                const want = c0.slice();
                jsKernels.gemm(transA, transB, m, n, k, a, b, want, accumulate);
                const got = c0.slice();
                kernels.gemm(transA, transB, m, n, k, a, b, got, accumulate);
                const ratio = boundRatio(transA, transB, m, n, k, a, b, c0, accumulate, got, want);
                expect(
                  ratio,
                  `transA=${transA} transB=${transB} accumulate=${accumulate}`,
                ).toBeLessThanOrEqual(1);
              }
            }
          }
        });
      }

      it('when the operands are subarrays with a byteOffset, then only C’s own elements change', () => {
        const rand = rng(7);
        const [m, n, k] = [19, 11, 23];
        const aBuf = randomArray(m * k + 5, rand);
        const bBuf = randomArray(k * n + 9, rand);
        const cBuf = randomArray(m * n + 6, rand);
        const a = aBuf.subarray(3, 3 + m * k);
        const b = bBuf.subarray(9);
        const c = cBuf.subarray(2, 2 + m * n);
        expect(a.byteOffset).toBe(12);
        const before = cBuf.slice();
        const want = c.slice();
        jsKernels.gemm(false, true, m, n, k, a.slice(), b.slice(), want, true);
        kernels.gemm(false, true, m, n, k, a, b, c, true);
        expect(boundRatio(false, true, m, n, k, a, b, before.subarray(2), true, c, want)).toBeLessThanOrEqual(
          1,
        );
        expect(Array.from(cBuf.subarray(0, 2))).toEqual(Array.from(before.subarray(0, 2)));
        expect(Array.from(cBuf.subarray(2 + m * n))).toEqual(Array.from(before.subarray(2 + m * n)));
      });

      it('when C is larger than m·n, then gemm writes only its first m·n elements', () => {
        const rand = rng(11);
        const [m, n, k] = [8, 8, 8];
        const c = randomArray(m * n + 4, rand);
        const tail = Array.from(c.subarray(m * n));
        kernels.gemm(false, false, m, n, k, randomArray(m * k, rand), randomArray(k * n, rand), c, false);
        expect(Array.from(c.subarray(m * n))).toEqual(tail);
      });

      it('when k is 0, then C becomes zero, or stays as it was with accumulate', () => {
        const c = Float32Array.from([1, 2, 3, 4]);
        kernels.gemm(false, false, 2, 2, 0, new Float32Array(0), new Float32Array(0), c, true);
        expect(Array.from(c)).toEqual([1, 2, 3, 4]);
        kernels.gemm(false, false, 2, 2, 0, new Float32Array(0), new Float32Array(0), c, false);
        expect(Array.from(c)).toEqual([0, 0, 0, 0]);
      });

      it('when a large product is followed by a small one, then both are right (memory growth)', () => {
        const rand = rng(3);
        for (const [m, n, k] of [
          [300, 300, 300],
          [5, 6, 7],
        ] as const) {
          const a = randomArray(m * k, rand);
          const b = randomArray(k * n, rand);
          const want = new Float32Array(m * n);
          const got = new Float32Array(m * n);
          jsKernels.gemm(false, false, m, n, k, a, b, want, false);
          kernels.gemm(false, false, m, n, k, a, b, got, false);
          expect(boundRatio(false, false, m, n, k, a, b, want, false, got, want)).toBeLessThanOrEqual(1);
        }
      });

      it('when sumRows runs, then out holds the column sums, added to it with accumulate', () => {
        const rand = rng(6);
        const [m, n] = [9, 5];
        const x = randomArray(m * n, rand);
        const exact = Array.from({ length: n }, (_, j) => {
          let s = 0;
          for (let i = 0; i < m; i++) s += x[i * n + j];
          return s;
        });
        const out = new Float32Array(n).fill(100);
        kernels.sumRows(m, n, x, out, false);
        out.forEach((v, j) => expect(Math.abs(v - exact[j])).toBeLessThanOrEqual(2 * m * U * m));
        kernels.sumRows(m, n, x, out, true);
        out.forEach((v, j) => expect(Math.abs(v - 2 * exact[j])).toBeLessThanOrEqual(4 * m * U * m));
      });

      it('when B is prepared, then gemmPrepared matches gemm for every shape and transpose, and ignores later writes to B', () => {
        const rand = rng(23);
        for (const [m, n, k] of [
          [1, 256, 784],
          [1, 10, 128],
          [64, 4, 128],
          [13, 7, 5],
          [129, 23, 300],
          [5, 1, 9],
        ] as const) {
          for (const transA of [false, true]) {
            for (const transB of [false, true]) {
              for (const accumulate of [false, true]) {
                const a = randomArray(m * k, rand);
                const b = randomArray(k * n, rand);
                const c0 = randomArray(m * n, rand);
                const want = c0.slice();
                jsKernels.gemm(transA, transB, m, n, k, a, b, want, accumulate);
                const bOriginal = b.slice();
                const prepared = kernels.prepare(transB, k, n, b);
                b.fill(1000); // the prepared copy keeps the values it was made from
                const got = c0.slice();
                kernels.gemmPrepared(transA, m, a, prepared, got, accumulate);
                const label = `${m}x${n}x${k} transA=${transA} transB=${transB} accumulate=${accumulate}`;
                expect(prepared).toMatchObject({ backend: kernels.name, k, n });
                expect(
                  boundRatio(transA, transB, m, n, k, a, bOriginal, c0, accumulate, got, want),
                  label,
                ).toBeLessThanOrEqual(1);
              }
            }
          }
        }
      });

      it('when a matrix prepared by another backend is passed, then gemmPrepared throws naming both', () => {
        const other = backends.find((o) => o !== kernels) as Kernels;
        const prepared = other.prepare(false, 2, 2, new Float32Array(4));
        expect(() =>
          kernels.gemmPrepared(false, 2, new Float32Array(4), prepared, new Float32Array(4), false),
        ).toThrow(new RegExp(`${other.name}.*${kernels.name}`));
      });

      it('when an operand is too short, then gemm throws a RangeError naming it', () => {
        expect(() =>
          kernels.gemm(
            false,
            false,
            2,
            2,
            2,
            new Float32Array(3),
            new Float32Array(4),
            new Float32Array(4),
            false,
          ),
        ).toThrow(/A/);
      });
    });
  }
});

describe('wasm-simd slicing of large products', () => {
  // Working sets above the backend's slice size (32 MB) are computed in row or depth slices.
  it.each([
    ['row slices', false, 11_000, 2, 784],
    ['depth slices', true, 784, 2, 11_000],
  ] as const)(
    'when the working set is over the slice size (%s), then the result matches the reference',
    (_label, transA, m, n, k) => {
      const kernels = wasmKernels as Kernels;
      const rand = rng(17);
      const a = randomArray(m * k, rand);
      const b = randomArray(k * n, rand);
      const c0 = randomArray(m * n, rand);
      const want = c0.slice();
      jsKernels.gemm(transA, false, m, n, k, a, b, want, true);
      const got = c0.slice();
      kernels.gemm(transA, false, m, n, k, a, b, got, true);
      expect(boundRatio(transA, false, m, n, k, a, b, c0, true, got, want)).toBeLessThanOrEqual(1);
    },
  );
});

describe('selection', () => {
  it('when a backend is selected by name, then getKernels returns it; unknown names throw listing the choices', () => {
    const before = getKernels();
    try {
      expect(selectKernels('js')).toBe(jsKernels);
      expect(getKernels()).toBe(jsKernels);
      expect(selectKernels().name).toBe(nativeKernels ? 'native' : 'wasm-simd');
      expect(() => selectKernels('cuda')).toThrow(/cuda.*available: (native, )?wasm-simd, js-blocked, js/);
    } finally {
      setKernels(before);
    }
  });
});

describe('gemm-wasm.ts', () => {
  it('when gemm.wat is assembled afresh, then the committed module carries exactly those bytes', async () => {
    const fresh = await assembleWat(readFileSync(WAT_PATH, 'utf8'));
    expect(readFileSync(WASM_MODULE_PATH, 'utf8')).toBe(wasmModuleSource(fresh));
  });
});
