// Seeded data and the error bound the kernel tests share (tests/engine/kernels.test.ts,
// tests/engine/native-kernels.test.ts).
// Error bound: both results are float32 sums of k products, so each lies within k·u·Σ|a·b| of the
// exact value (u = 2⁻²⁴; Higham, Accuracy and Stability of Numerical Algorithms, §3.1/3.5). We allow
// their difference 2(k+2)·u·(Σ_p |op(A)ᵢₚ·op(B)ₚⱼ| + |C₀ᵢⱼ|), the extra terms for the accumulate add.

// mulberry32: a small seeded generator, uniform in [-1, 1).
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

export function randomArray(len: number, rand: () => number): Float32Array {
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) out[i] = rand();
  return out;
}

export const U = 2 ** -24;

/** The largest |got - want| / bound over C; ≤ 1 means within the stated error bound. */
export function boundRatio(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c0: Float32Array,
  accumulate: boolean,
  got: Float32Array,
  want: Float32Array,
): number {
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let mag = accumulate ? Math.abs(c0[i * n + j]) : 0;
      for (let p = 0; p < k; p++) {
        mag += Math.abs((transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]));
      }
      const bound = 2 * (k + 2) * U * mag + Number.MIN_VALUE;
      worst = Math.max(worst, Math.abs(got[i * n + j] - want[i * n + j]) / bound);
    }
  }
  return worst;
}
