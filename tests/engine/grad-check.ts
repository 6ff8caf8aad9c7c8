// Central finite differences for the gradient checks. Inputs are Float32 (the engine's type), so
// the step actually taken is measured as fround(w + h) − fround(w − h), and losses are summed in
// float64. Tolerance, written down once: |numeric − analytic| ≤ ABS_TOL + REL_TOL·|analytic|, with
// h = 1e-3 (float32 rounding of O(1) losses gives noise ≈ 1e-7/2e-3 = 5e-5; truncation ≈ h² = 1e-6).
import { expect } from 'vitest';

export const H = 1e-3;
export const ABS_TOL = 2e-3;
export const REL_TOL = 1e-2;

/** Checks `analytic` (dL/dv) against central differences of `loss` while perturbing v in place. */
export function checkGradient(
  what: string,
  v: Float32Array,
  analytic: Float32Array,
  loss: () => number,
): void {
  expect(analytic.length).toBe(v.length);
  for (let i = 0; i < v.length; i++) {
    const orig = v[i];
    v[i] = orig + H;
    const wp = v[i];
    const lp = loss();
    v[i] = orig - H;
    const wm = v[i];
    const lm = loss();
    v[i] = orig;
    const numeric = (lp - lm) / (wp - wm);
    const err = Math.abs(numeric - analytic[i]);
    if (err > ABS_TOL + REL_TOL * Math.abs(analytic[i])) {
      throw new Error(`${what}[${i}]: analytic ${analytic[i]}, numeric ${numeric}`);
    }
  }
}

export function randomArray(rng: { normal(): number }, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}
