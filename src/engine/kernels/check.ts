// Argument checks shared by the backends: a too-short operand would otherwise read undefined
// (plain JS) or stale memory (WASM) and give silently wrong numbers.

/** Throws a RangeError naming the operand that is too short or the size that is not a count. */
export function checkGemm(m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array): void {
  for (const [name, v] of [['m', m], ['n', n], ['k', k]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`gemm: ${name} must be a non-negative integer, got ${v}`);
  }
  if (a.length < m * k) throw new RangeError(`gemm: A has ${a.length} elements, needs ${m}x${k}`);
  if (b.length < k * n) throw new RangeError(`gemm: B has ${b.length} elements, needs ${k}x${n}`);
  if (c.length < m * n) throw new RangeError(`gemm: C has ${c.length} elements, needs ${m}x${n}`);
}
