// Argument checks shared by the backends: a too-short operand would otherwise read undefined
// (plain JS) or stale memory (WASM) and give silently wrong numbers.
import type { PreparedMatrix } from './types.js';

/**
 * Throws a RangeError naming the operand that is too short or the size that is not a count.
 * A null operand is not checked (a prepared B, or a prepare call with no A and C yet).
 */
export function checkGemm(
  m: number,
  n: number,
  k: number,
  a: Float32Array | null,
  b: Float32Array | null,
  c: Float32Array | null,
): void {
  for (const [name, v] of [
    ['m', m],
    ['n', n],
    ['k', k],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw new RangeError(`gemm: ${name} must be a non-negative integer, got ${v}`);
  }
  if (a && a.length < m * k) throw new RangeError(`gemm: A has ${a.length} elements, needs ${m}x${k}`);
  if (b && b.length < k * n) throw new RangeError(`gemm: B has ${b.length} elements, needs ${k}x${n}`);
  if (c && c.length < m * n) throw new RangeError(`gemm: C has ${c.length} elements, needs ${m}x${n}`);
}

/** Throws unless `b` was prepared by the backend named `backend`. */
export function checkPrepared(backend: string, b: PreparedMatrix): void {
  if (b.backend !== backend) {
    throw new TypeError(
      `gemmPrepared: the matrix was prepared by the "${b.backend}" backend, not "${backend}"`,
    );
  }
}
