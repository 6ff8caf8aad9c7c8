// Sequential: a stack of dense layers with forward, backward through a loss, the parameter list,
// and a versioned JSON form whose weights (base64 little-endian Float32) restore bit for bit.
import { activations } from './activations.js';
import { cloneEmbedding, createEmbedding, embeddingProblem, type Embedding } from './embedding.js';
import { getKernels, type Kernels, type PreparedMatrix } from './kernels/index.js';
import { Dense } from './layers.js';
import { fusedLosses, lossFunctions } from './losses.js';
import { initializers, type Rng } from './random.js';
import { base64ToFloat32, float32ToBase64, type Param } from './tensor.js';
import type { LossName, ModelSpec, SerializedModel } from './types.js';

/** A model file or spec that cannot be used; the message names the field. */
export class ModelFormatError extends Error {
  readonly code = 'invalid_model';
  constructor(message: string) {
    super(message);
    this.name = 'ModelFormatError';
  }
}

const FORMAT = 'backprop.sequential';
const VERSION = 1;
// predict runs in chunks so a large request does not grow the layer buffers without bound.
const PREDICT_CHUNK = 1024;

const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

export function validateSpec(spec: ModelSpec): void {
  if (!spec || typeof spec !== 'object') throw new ModelFormatError('model spec must be an object');
  if (!isPositiveInt(spec.inputSize)) throw new ModelFormatError('spec.inputSize must be a positive integer');
  if (!Array.isArray(spec.layers) || spec.layers.length === 0) {
    throw new ModelFormatError('spec.layers must be a non-empty array');
  }
  spec.layers.forEach((l, i) => {
    if (!l || !isPositiveInt(l.units))
      throw new ModelFormatError(`spec.layers[${i}].units must be a positive integer`);
    if (l.dropout !== undefined && !(l.dropout >= 0 && l.dropout < 1))
      throw new ModelFormatError(`spec.layers[${i}].dropout must be in [0, 1)`);
    if (!Object.hasOwn(activations, l.activation)) {
      throw new ModelFormatError(
        `spec.layers[${i}].activation "${String(l.activation)}" is not one of ${Object.keys(activations).join(', ')}`,
      );
    }
  });
  if (spec.embedding !== undefined) {
    const problem =
      spec.embedding && typeof spec.embedding === 'object'
        ? embeddingProblem(spec.embedding, spec.inputSize)
        : 'spec.embedding must be an object';
    if (problem) throw new ModelFormatError(problem);
  }
  if (!Object.hasOwn(initializers, spec.initializer)) {
    throw new ModelFormatError(
      `spec.initializer "${String(spec.initializer)}" is not one of ${Object.keys(initializers).join(', ')}`,
    );
  }
}

function cloneSpec(spec: ModelSpec): ModelSpec {
  const e = spec.embedding;
  return {
    inputSize: spec.inputSize,
    ...(e ? { embedding: cloneEmbedding(e) } : {}),
    layers: spec.layers.map((l) =>
      l.dropout
        ? { units: l.units, activation: l.activation, dropout: l.dropout }
        : { units: l.units, activation: l.activation },
    ),
    initializer: spec.initializer,
  };
}

/**
 * Inverted dropout (Srivastava et al. 2014, scaled at training time): out = a·mask with
 * mask = 0 with probability p, else 1/(1 − p), so the expected output equals a and prediction
 * needs no rescaling. The mask of the last forward is kept for backward: dL/da = dL/dout·mask.
 */
class Dropout {
  private mask = new Float32Array(0);
  private out = new Float32Array(0);
  private n = 0;

  constructor(readonly rate: number) {}

  forward(a: Float32Array, n: number, rng: Rng, rateFactor: number): Float32Array {
    if (this.mask.length < n) {
      this.mask = new Float32Array(n);
      this.out = new Float32Array(n);
    }
    this.n = n;
    const p = this.rate * rateFactor;
    const keep = p > 0 ? 1 / (1 - p) : 1;
    const mask = this.mask;
    const out = this.out;
    for (let i = 0; i < n; i++) {
      const m = p > 0 && rng.next() < p ? 0 : keep;
      mask[i] = m;
      out[i] = a[i] * m;
    }
    return out.subarray(0, n);
  }

  /** Turns dL/dout into dL/da in place. */
  backward(d: Float32Array): void {
    const mask = this.mask;
    for (let i = 0; i < this.n; i++) d[i] *= mask[i];
  }
}

export class Sequential {
  readonly layers: Dense[];
  /** The per-feature embedding in front of the first layer, when the spec has one. */
  readonly embedding: Embedding | null;
  private readonly paramList: Param[];
  private dOut = new Float32Array(0);
  private readonly dOutViews = new Map<number, Float32Array>();
  // The weights as predict last prepared them in a kernel backend; dropped whenever they may change.
  private prepared: { kernels: Kernels; weights: PreparedMatrix[] } | null = null;

  // Inverted dropout after each hidden layer that has a rate (none after the output layer).
  private readonly dropouts: (Dropout | null)[];
  // The dropouts the last forward applied (training only); backward passes through their masks.
  private dropoutActive = false;

  private constructor(readonly spec: ModelSpec) {
    this.embedding = spec.embedding ? createEmbedding(spec.inputSize, spec.embedding) : null;
    let inSize = this.embedding ? this.embedding.outputSize : spec.inputSize;
    this.layers = spec.layers.map((l, i) => {
      const d = new Dense(inSize, l.units, l.activation, `layers.${i}`);
      inSize = l.units;
      return d;
    });
    this.paramList = [...(this.embedding?.params ?? []), ...this.layers.flatMap((l) => l.params)];
    const last = spec.layers.length - 1;
    this.dropouts = spec.layers.map((l, i) => (i < last && l.dropout ? new Dropout(l.dropout) : null));
  }

  /** True when some hidden layer has a dropout rate. */
  get hasDropout(): boolean {
    return this.dropouts.some((d) => d !== null);
  }

  /**
   * A new model with weights drawn from spec.initializer with `rng`, biases zero (the embedding's
   * parameters first, as its init draws them).
   */
  static create(spec: ModelSpec, rng: Rng): Sequential {
    validateSpec(spec);
    const m = new Sequential(cloneSpec(spec));
    m.embedding?.init(rng);
    for (const l of m.layers) l.init(rng, spec.initializer);
    return m;
  }

  get inputSize(): number {
    return this.spec.inputSize;
  }
  get outputSize(): number {
    return this.spec.layers[this.spec.layers.length - 1].units;
  }

  /**
   * The (value, grad) pairs, weights and biases of each layer in order. Handing them out counts
   * as a weight change: predict's copy of the weights prepared in the kernel backend is dropped.
   */
  params(): Param[] {
    this.prepared = null;
    return this.paramList;
  }

  paramCount(): number {
    let n = 0;
    for (const p of this.paramList) n += p.value.length;
    return n;
  }

  zeroGrad(): void {
    for (const p of this.paramList) p.grad.fill(0);
  }

  /** The output for `rows` rows of x: a view into the last layer's buffer, valid until the next forward. */
  forward(x: Float32Array, rows: number): Float32Array {
    this.dropoutActive = false;
    let h = this.embedding ? this.embedding.forward(x, rows) : x;
    for (const l of this.layers) h = l.forward(h, rows);
    return h;
  }

  /**
   * A training forward: like forward, with each hidden layer's dropout applied, its mask drawn
   * from `rng` and its rate multiplied by `rateFactor` (a regularization schedule's factor).
   */
  forwardTrain(x: Float32Array, rows: number, rng: Rng, rateFactor = 1): Float32Array {
    if (!this.hasDropout) return this.forward(x, rows);
    this.dropoutActive = true;
    let h = this.embedding ? this.embedding.forward(x, rows) : x;
    for (let i = 0; i < this.layers.length; i++) {
      h = this.layers[i].forward(h, rows);
      const d = this.dropouts[i];
      if (d) h = d.forward(h, rows * this.layers[i].units, rng, rateFactor);
    }
    return h;
  }

  /** The loss of the last forward against y, without gradients. */
  loss(loss: LossName, y: Float32Array, rows: number): number {
    const last = this.layers[this.layers.length - 1];
    const fused = fusedLosses[last.activation]?.[loss];
    if (fused) return fused.value(last.z, last.a, y, rows, last.units);
    return lossFunctions[loss].value(last.a, y, rows, last.units);
  }

  /**
   * The loss of the last forward against y; backpropagates it, accumulating every parameter's
   * gradient. Softmax + crossEntropy and sigmoid + binaryCrossEntropy use the fused dL/dz.
   */
  backward(loss: LossName, y: Float32Array, rows: number): number {
    this.prepared = null; // an optimizer step follows
    const n = this.layers.length;
    const last = this.layers[n - 1];
    const fused = fusedLosses[last.activation]?.[loss];
    let value: number;
    let d: Float32Array | null;
    if (fused) {
      value = fused.gradient(last.z, last.a, y, last.dz, rows, last.units);
      d = last.backwardFromDz(n > 1 || this.embedding !== null);
    } else {
      const dOut = this.dOutFor(rows * last.units);
      value = lossFunctions[loss].gradient(last.a, y, dOut, rows, last.units);
      d = last.backward(dOut, n > 1 || this.embedding !== null);
    }
    for (let i = n - 2; i >= 0; i--) {
      const drop = this.dropoutActive ? this.dropouts[i] : null;
      if (drop) drop.backward(d as Float32Array);
      d = this.layers[i].backward(d as Float32Array, i > 0 || this.embedding !== null);
    }
    this.embedding?.backward(d as Float32Array);
    return value;
  }

  private dOutFor(size: number): Float32Array {
    let v = this.dOutViews.get(size);
    if (v) return v;
    if (size > this.dOut.length) {
      this.dOut = new Float32Array(size);
      this.dOutViews.clear();
    }
    if (this.dOutViews.size >= 8) this.dOutViews.clear();
    v = this.dOut.subarray(0, size);
    this.dOutViews.set(size, v);
    return v;
  }

  /** A new rows × outputSize array of outputs (softmax and sigmoid give probabilities). */
  predict(x: Float32Array, rows: number): Float32Array {
    if (!Number.isInteger(rows) || rows < 0)
      throw new RangeError(`predict: rows must be a non-negative integer, got ${rows}`);
    if (x.length !== rows * this.inputSize) {
      throw new RangeError(
        `predict: x has ${x.length} values, expected ${rows}×${this.inputSize} = ${rows * this.inputSize}`,
      );
    }
    const out = new Float32Array(rows * this.outputSize);
    const kernels = getKernels();
    const prepared = this.preparedWeights(kernels);
    for (let r = 0; r < rows; r += PREDICT_CHUNK) {
      const n = Math.min(PREDICT_CHUNK, rows - r);
      let h = x.subarray(r * this.inputSize, (r + n) * this.inputSize);
      if (this.embedding) h = this.embedding.forward(h, n);
      for (let i = 0; i < this.layers.length; i++) {
        h = prepared
          ? this.layers[i].forwardPrepared(h, n, kernels, prepared[i])
          : this.layers[i].forward(h, n);
      }
      out.set(h.subarray(0, n * this.outputSize), r * this.outputSize);
    }
    return out;
  }

  private preparedWeights(kernels: Kernels): PreparedMatrix[] | null {
    if (typeof kernels.prepare !== 'function') return null;
    if (this.prepared?.kernels !== kernels) {
      const weights = this.layers.map((l) => kernels.prepare(false, l.inputSize, l.units, l.weight.value));
      this.prepared = { kernels, weights };
    }
    return this.prepared.weights;
  }

  /** Copies of the parameter values, in params() order. */
  getWeights(): Float32Array[] {
    return this.paramList.map((p) => p.value.slice());
  }

  setWeights(ws: Float32Array[]): void {
    if (ws.length !== this.paramList.length) {
      throw new ModelFormatError(`expected ${this.paramList.length} weight arrays, got ${ws.length}`);
    }
    ws.forEach((w, i) => {
      if (w.length !== this.paramList[i].value.length) {
        throw new ModelFormatError(
          `${this.paramList[i].name} has ${w.length} values, expected ${this.paramList[i].value.length}`,
        );
      }
    });
    ws.forEach((w, i) => this.paramList[i].value.set(w));
    this.prepared = null;
  }

  toJSON(): SerializedModel {
    return {
      format: FORMAT,
      version: VERSION,
      spec: cloneSpec(this.spec),
      params: this.paramList.map((p) => float32ToBase64(p.value)),
    };
  }

  static fromJSON(j: SerializedModel): Sequential {
    if (!j || typeof j !== 'object') throw new ModelFormatError('model must be an object');
    if (j.format !== FORMAT)
      throw new ModelFormatError(`model format "${String(j.format)}" is not "${FORMAT}"`);
    if (j.version !== VERSION)
      throw new ModelFormatError(`model version ${String(j.version)} is not supported (expected ${VERSION})`);
    validateSpec(j.spec);
    const m = new Sequential(cloneSpec(j.spec));
    if (!Array.isArray(j.params) || j.params.length !== m.paramList.length) {
      throw new ModelFormatError(
        `model has ${Array.isArray(j.params) ? j.params.length : 'no'} parameter arrays, expected ${m.paramList.length}`,
      );
    }
    const ws = j.params.map((s, i) => {
      try {
        return base64ToFloat32(s);
      } catch {
        throw new ModelFormatError(`params[${i}] (${m.paramList[i].name}) is not base64 Float32 data`);
      }
    });
    m.setWeights(ws);
    return m;
  }
}
