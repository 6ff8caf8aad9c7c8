// The one seeded generator of the project (xoshiro128** seeded through splitmix32) and the weight
// initializers. Nothing else in src/ draws random numbers, so a seed fixes every run.
import type { InitializerName } from './types.js';

export interface Rng {
  /** A uniform number in [0, 1) with 32 random bits. */
  next(): number;
  /** A standard normal sample (Box–Muller, no cached spare so the state stays four words). */
  normal(): number;
  /** A uniform integer in [0, n). */
  int(n: number): number;
  /** Fisher–Yates shuffle in place. */
  shuffle(arr: Int32Array): void;
  /** The four 32-bit state words; rngFromState(state()) continues the same sequence. */
  state(): number[];
}

const TWO_32 = 4294967296;

// splitmix32 (Vigna): spreads a seed over well-mixed words, as the xoshiro authors recommend.
function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    t ^= t >>> 15;
    return t >>> 0;
  };
}

function fromWords(s0: number, s1: number, s2: number, s3: number): Rng {
  // xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c).
  const nextU32 = (): number => {
    const r = Math.imul(s1, 5);
    const result = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    return result;
  };
  const next = (): number => nextU32() / TWO_32;
  return {
    next,
    normal() {
      const u1 = 1 - next(); // (0, 1]: log is finite
      const u2 = next();
      return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    },
    int(n: number) {
      return Math.floor(next() * n);
    },
    shuffle(arr: Int32Array) {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const tmp = arr[i];
        arr[i] = arr[j];
        arr[j] = tmp;
      }
    },
    state() {
      return [s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0];
    },
  };
}

export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`createRng: seed must be a finite number, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(Math.abs(seed) / TWO_32) >>> 0;
  const mix = splitmix32(lo ^ Math.imul(hi, 0x85ebca6b));
  let w = [mix(), mix(), mix(), mix()];
  // xoshiro must not start from the all-zero state.
  if ((w[0] | w[1] | w[2] | w[3]) === 0) w = [1, 0, 0, 0];
  return fromWords(w[0] | 0, w[1] | 0, w[2] | 0, w[3] | 0);
}

export function rngFromState(s: number[]): Rng {
  if (
    !Array.isArray(s) ||
    s.length !== 4 ||
    !s.every((v) => Number.isInteger(v) && v >= 0 && v < TWO_32) ||
    s.every((v) => v === 0)
  ) {
    throw new RangeError('rngFromState: expected four 32-bit unsigned integers, not all zero');
  }
  return fromWords(s[0] | 0, s[1] | 0, s[2] | 0, s[3] | 0);
}

export type Initializer = (rng: Rng, fanIn: number, fanOut: number, out: Float32Array) => void;

function fillUniform(rng: Rng, limit: number, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.next() - 1) * limit;
}
function fillNormal(rng: Rng, std: number, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
}

/** Weight initializers (biases always start at zero). */
export const initializers: Record<InitializerName, Initializer> = {
  // He et al. 2015: uniform limit sqrt(6 / fanIn), normal std sqrt(2 / fanIn).
  he: (rng, fanIn, _fanOut, out) => fillUniform(rng, Math.sqrt(6 / fanIn), out),
  heNormal: (rng, fanIn, _fanOut, out) => fillNormal(rng, Math.sqrt(2 / fanIn), out),
  // Glorot & Bengio 2010: uniform limit sqrt(6 / (fanIn + fanOut)), normal std sqrt(2 / (fanIn + fanOut)).
  xavier: (rng, fanIn, fanOut, out) => fillUniform(rng, Math.sqrt(6 / (fanIn + fanOut)), out),
  xavierNormal: (rng, fanIn, fanOut, out) => fillNormal(rng, Math.sqrt(2 / (fanIn + fanOut)), out),
  uniform: (rng, _fanIn, _fanOut, out) => fillUniform(rng, 0.05, out),
  normal: (rng, _fanIn, _fanOut, out) => fillNormal(rng, 0.05, out),
};
