// Per-feature numeric embeddings as a network's first stage: each chosen input column x gets its
// own small network, out = W₂·cos(2π·w₁·x + b₁) + b₂, appended after the untouched inputs.
// This is the "PBLD" embedding of Holzmüller et al. 2024 (RealMLP, arXiv 2407.04491 §3; periodic
// features as in Gorishniy et al. 2022, arXiv 2203.05556, with a bias inside the cosine and the raw
// value kept beside it, which makes one fixed frequency scale safe without tuning).
import type { Rng } from './random.js';
import { createParam, type Param } from './tensor.js';
import type { EmbeddingSpec, PeriodicEmbeddingSpec, PiecewiseLinearEmbeddingSpec } from './types.js';

const TWO_PI = 2 * Math.PI;

/**
 * The learning-rate factor of every embedding parameter (RealMLP-TD's 0.1 for PBLD): the
 * frequencies move the features' phases, which a full-size step would scramble.
 */
export const EMBEDDING_LR_FACTOR = 0.1;

/** What a network's first stage offers the model: the Dense-like calls an embedding answers. */
export interface Embedding {
  readonly params: Param[];
  /** inputSize plus the values appended per row. */
  readonly outputSize: number;
  init(rng: Rng): void;
  /** The embedded rows (a view that the next forward overwrites). */
  forward(x: Float32Array, rows: number): Float32Array;
  /** Accumulates the parameters' gradients from dL/dout of the last forward. */
  backward(dOut: Float32Array): void;
}

/** Checks an embedding spec against the network's input size; returns a message naming what is wrong. */
export function embeddingProblem(e: EmbeddingSpec, inputSize: number): string | null {
  if (e.type !== 'periodic' && e.type !== 'piecewiseLinear')
    return `spec.embedding.type "${String((e as { type: unknown }).type)}" is not "periodic" or "piecewiseLinear"`;
  if (!Array.isArray(e.features) || e.features.length === 0)
    return 'spec.embedding.features must be a non-empty array of input indices';
  for (let i = 0; i < e.features.length; i++) {
    const f = e.features[i];
    if (!Number.isInteger(f) || f < 0 || f >= inputSize)
      return `spec.embedding.features[${i}] must be an integer in [0, ${inputSize})`;
    if (i > 0 && f <= e.features[i - 1]) return 'spec.embedding.features must be strictly ascending';
  }
  return e.type === 'periodic' ? periodicProblem(e) : binsProblem(e);
}

function periodicProblem(e: PeriodicEmbeddingSpec): string | null {
  for (const key of ['frequencies', 'size'] as const) {
    const v = e[key];
    if (!Number.isInteger(v) || v < 1 || v > 256)
      return `spec.embedding.${key} must be an integer in [1, 256]`;
  }
  if (!(e.sigma > 0 && Number.isFinite(e.sigma))) return 'spec.embedding.sigma must be a positive number';
  return null;
}

function binsProblem(e: PiecewiseLinearEmbeddingSpec): string | null {
  if (!Array.isArray(e.bins) || e.bins.length !== e.features.length)
    return 'spec.embedding.bins must hold one array of edges per embedded feature';
  for (let i = 0; i < e.bins.length; i++) {
    const b = e.bins[i];
    const ok =
      Array.isArray(b) &&
      b.length >= 2 &&
      b.length <= 257 &&
      b.every((v, j) => Number.isFinite(v) && (j === 0 || v > b[j - 1]));
    if (!ok) return `spec.embedding.bins[${i}] must be 2 to 257 finite, strictly ascending edges`;
  }
  return null;
}

/** The embedding a spec describes, over `inputSize` inputs (the spec already validated). */
export function createEmbedding(inputSize: number, spec: EmbeddingSpec): Embedding {
  return spec.type === 'periodic'
    ? new PeriodicEmbedding(inputSize, spec)
    : new PiecewiseLinearEmbedding(inputSize, spec);
}

/** A deep copy of an embedding spec. */
export function cloneEmbedding(e: EmbeddingSpec): EmbeddingSpec {
  return e.type === 'periodic'
    ? { type: e.type, features: [...e.features], frequencies: e.frequencies, size: e.size, sigma: e.sigma }
    : { type: e.type, features: [...e.features], bins: e.bins.map((b) => [...b]) };
}

/**
 * Periodic embedding of F input columns with K frequencies and S outputs each. Input rows ×
 * inputSize; output rows × (inputSize + F·S): the input row as it is, then for feature f the S
 * values b₂[f] + W₂[f]·cos(2π·w₁[f]·x + b₁[f]). Parameters (F·K w₁, F·K b₁, F·S·K W₂, F·S b₂) all
 * train at EMBEDDING_LR_FACTOR times the learning rate; W₂ takes weight decay, the others not.
 * Only a network's first stage: backward gives no gradient for the input.
 */
export class PeriodicEmbedding implements Embedding {
  readonly frequency: Param;
  readonly phase: Param;
  readonly weight: Param;
  readonly bias: Param;
  readonly outputSize: number;
  private readonly f: number;
  private readonly k: number;
  private readonly s: number;
  // cos and sin of each row's angles (rows × F × K), kept from forward for backward.
  private cos = new Float32Array(0);
  private sin = new Float32Array(0);
  private out = new Float32Array(0);
  private input: Float32Array | null = null;
  private rows = 0;

  constructor(
    readonly inputSize: number,
    readonly spec: PeriodicEmbeddingSpec,
  ) {
    this.f = spec.features.length;
    this.k = spec.frequencies;
    this.s = spec.size;
    this.outputSize = inputSize + this.f * this.s;
    const make = (name: string, n: number, decay: boolean) =>
      createParam(`embedding.${name}`, n, decay, EMBEDDING_LR_FACTOR);
    this.frequency = make('frequency', this.f * this.k, false);
    this.phase = make('phase', this.f * this.k, false);
    this.weight = make('weight', this.f * this.s * this.k, true);
    this.bias = make('bias', this.f * this.s, false);
  }

  get params(): Param[] {
    return [this.frequency, this.phase, this.weight, this.bias];
  }

  /**
   * Initial values as RealMLP's: w₁ ~ N(0, σ²), b₁ ~ U[−π, π], W₂ and b₂ ~ U[−1/√K, 1/√K] (the
   * usual fan-in uniform of a K-input linear layer).
   */
  init(rng: Rng): void {
    const sigma = this.spec.sigma;
    for (let i = 0; i < this.frequency.value.length; i++) this.frequency.value[i] = rng.normal() * sigma;
    for (let i = 0; i < this.phase.value.length; i++) this.phase.value[i] = (rng.next() * 2 - 1) * Math.PI;
    const bound = 1 / Math.sqrt(this.k);
    for (let i = 0; i < this.weight.value.length; i++) this.weight.value[i] = (rng.next() * 2 - 1) * bound;
    for (let i = 0; i < this.bias.value.length; i++) this.bias.value[i] = (rng.next() * 2 - 1) * bound;
  }

  /** The embedded rows (a view that the next forward overwrites). */
  forward(x: Float32Array, rows: number): Float32Array {
    const { f: F, k: K, s: S, inputSize: n, outputSize: m } = this;
    if (x.length < rows * n)
      throw new RangeError(`PeriodicEmbedding.forward: input has ${x.length} values, expected ${rows}×${n}`);
    if (this.out.length < rows * m) {
      this.out = new Float32Array(rows * m);
      this.cos = new Float32Array(rows * F * K);
      this.sin = new Float32Array(rows * F * K);
    }
    const w1 = this.frequency.value;
    const b1 = this.phase.value;
    const w2 = this.weight.value;
    const b2 = this.bias.value;
    const cols = this.spec.features;
    for (let r = 0; r < rows; r++) {
      const xr = r * n;
      const or = r * m;
      for (let i = 0; i < n; i++) this.out[or + i] = x[xr + i];
      for (let f = 0; f < F; f++) {
        const v = x[xr + cols[f]];
        const ck = (r * F + f) * K;
        for (let q = 0; q < K; q++) {
          const angle = TWO_PI * w1[f * K + q] * v + b1[f * K + q];
          this.cos[ck + q] = Math.cos(angle);
          this.sin[ck + q] = Math.sin(angle);
        }
        for (let o = 0; o < S; o++) {
          const wo = (f * S + o) * K;
          let z = b2[f * S + o];
          for (let q = 0; q < K; q++) z += w2[wo + q] * this.cos[ck + q];
          this.out[or + n + f * S + o] = z;
        }
      }
    }
    this.input = x;
    this.rows = rows;
    return this.out.subarray(0, rows * m);
  }

  /**
   * Accumulates the parameters' gradients from dL/dout of the last forward (rows × outputSize):
   * dW₂ += d·cos, db₂ += d, and through the angle θ = 2π·w₁·x + b₁ with dθ = −sin θ·Σₒ d·W₂:
   * dw₁ += dθ·2π·x, db₁ += dθ.
   */
  backward(dOut: Float32Array): void {
    if (!this.input) throw new Error('PeriodicEmbedding: backward before forward');
    const { f: F, k: K, s: S, inputSize: n, outputSize: m } = this;
    const x = this.input;
    const cols = this.spec.features;
    const w2 = this.weight.value;
    const gw1 = this.frequency.grad;
    const gb1 = this.phase.grad;
    const gw2 = this.weight.grad;
    const gb2 = this.bias.grad;
    for (let r = 0; r < this.rows; r++) {
      for (let f = 0; f < F; f++) {
        const v = x[r * n + cols[f]];
        const ck = (r * F + f) * K;
        const dr = r * m + n + f * S;
        for (let q = 0; q < K; q++) {
          let dc = 0;
          for (let o = 0; o < S; o++) {
            const d = dOut[dr + o];
            dc += d * w2[(f * S + o) * K + q];
            gw2[(f * S + o) * K + q] += d * this.cos[ck + q];
          }
          const dTheta = -this.sin[ck + q] * dc;
          gw1[f * K + q] += dTheta * TWO_PI * v;
          gb1[f * K + q] += dTheta;
        }
        for (let o = 0; o < S; o++) gb2[f * S + o] += dOut[dr + o];
      }
    }
  }
}

/**
 * Piecewise-linear encoding of the listed columns (see PiecewiseLinearEmbeddingSpec): output rows ×
 * (inputSize + Σ T_f), the input row as it is, then each feature's T_f bin values. Fixed edges, so
 * no parameters and nothing to learn; backward has nothing to do.
 */
export class PiecewiseLinearEmbedding implements Embedding {
  readonly params: Param[] = [];
  readonly outputSize: number;
  private out = new Float32Array(0);

  constructor(
    readonly inputSize: number,
    readonly spec: PiecewiseLinearEmbeddingSpec,
  ) {
    this.outputSize = inputSize + spec.bins.reduce((n, b) => n + b.length - 1, 0);
  }

  init(): void {}

  forward(x: Float32Array, rows: number): Float32Array {
    const n = this.inputSize;
    const m = this.outputSize;
    if (x.length < rows * n)
      throw new RangeError(
        `PiecewiseLinearEmbedding.forward: input has ${x.length} values, expected ${rows}×${n}`,
      );
    if (this.out.length < rows * m) this.out = new Float32Array(rows * m);
    const { features, bins } = this.spec;
    for (let r = 0; r < rows; r++) {
      let o = r * m;
      for (let i = 0; i < n; i++) this.out[o++] = x[r * n + i];
      for (let f = 0; f < features.length; f++) {
        const v = x[r * n + features[f]];
        const b = bins[f];
        for (let t = 1; t < b.length; t++) {
          const e = (v - b[t - 1]) / (b[t] - b[t - 1]);
          this.out[o++] = e <= 0 ? 0 : e >= 1 ? 1 : e;
        }
      }
    }
    return this.out.subarray(0, rows * m);
  }

  backward(): void {}
}

/**
 * Bin edges for a piecewise-linear encoding: per listed column of the rows × inputSize matrix x,
 * the distinct values among its quantiles at levels 0, 1/count, …, 1 (numpy's linear
 * interpolation, the lower-sorted rank (n − 1)·q). A column with fewer than two distinct edges
 * (a constant one) gets [min, min + 1], so its encoding is 0. Quantiles as in Gorishniy et al.
 * 2022 §3.2 ("PLE-Q"); computed on the training rows only.
 */
export function piecewiseLinearBins(
  x: Float32Array,
  rows: number,
  inputSize: number,
  features: number[],
  count: number,
): number[][] {
  return features.map((col) => {
    const v = new Float64Array(rows);
    for (let r = 0; r < rows; r++) v[r] = x[r * inputSize + col];
    v.sort();
    const edges: number[] = [];
    for (let q = 0; q <= count; q++) {
      const pos = ((rows - 1) * q) / count;
      const lo = Math.floor(pos);
      const hi = Math.min(lo + 1, rows - 1);
      // Rounded to float32 so the edges compare exactly with the inputs they were computed from.
      const e = Math.fround(v[lo] + (v[hi] - v[lo]) * (pos - lo));
      if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
    }
    return edges.length >= 2 ? edges : [edges[0] ?? 0, (edges[0] ?? 0) + 1];
  });
}
