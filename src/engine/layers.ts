// The dense layer: forward keeps its input, pre-activation and output for backward; backward
// returns dL/dX and accumulates dL/dW, dL/db. Buffers are sized once for the largest batch seen
// and reused; a smaller batch gets cached subarray views, so steady training allocates nothing.
import { activations } from './activations.js';
import { getKernels, type Kernels, type PreparedMatrix } from './kernels/index.js';
import { initializers, type Rng } from './random.js';
import { createParam, type Param } from './tensor.js';
import type { ActivationName, InitializerName } from './types.js';

interface Views {
  z: Float32Array;
  a: Float32Array;
  // Gradient views are made on the first backward at this size: a model used only for
  // inference never allocates gradient buffers, and the first layer never needs dx.
  dz: Float32Array | null;
  dx: Float32Array | null;
}

// A model sees a handful of batch sizes (full batch, last batch, evaluation chunks); past this
// many the view cache is dropped so odd predict sizes cannot grow it without bound.
const MAX_CACHED_VIEWS = 8;

export class Dense {
  /** inputSize × units, row-major: z = x·W + b. */
  readonly weight: Param;
  readonly bias: Param;
  private capacity = 0;
  private zBuf = new Float32Array(0);
  private aBuf = new Float32Array(0);
  private dzBuf = new Float32Array(0);
  private dxBuf = new Float32Array(0);
  private readonly views = new Map<number, Views>();
  private cur: Views | null = null;
  private input: Float32Array | null = null;
  private rows = 0;

  constructor(
    readonly inputSize: number,
    readonly units: number,
    readonly activation: ActivationName,
    name = 'dense',
  ) {
    if (!Object.hasOwn(activations, activation))
      throw new RangeError(`Dense: unknown activation "${activation}"`);
    this.weight = createParam(`${name}.weight`, inputSize * units, true);
    this.bias = createParam(`${name}.bias`, units, false);
  }

  get params(): Param[] {
    return [this.weight, this.bias];
  }

  /** Fills the weights from an initializer; biases start at zero. */
  init(rng: Rng, initializer: InitializerName): void {
    const init = initializers[initializer];
    if (!init) throw new RangeError(`Dense: unknown initializer "${initializer}"`);
    init(rng, this.inputSize, this.units, this.weight.value);
    this.bias.value.fill(0);
  }

  /** The pre-activation, output and dL/dz of the last forward (rows × units views). */
  get z(): Float32Array {
    return this.current().z;
  }
  get a(): Float32Array {
    return this.current().a;
  }
  get dz(): Float32Array {
    return this.dzOf(this.current());
  }

  /** a = f(x·W + b) for `rows` rows of x; returns a view that the next forward overwrites. */
  forward(x: Float32Array, rows: number): Float32Array {
    if (x.length < rows * this.inputSize) {
      throw new RangeError(
        `Dense.forward: input has ${x.length} values, expected ${rows}×${this.inputSize} = ${rows * this.inputSize}`,
      );
    }
    const v = this.viewsFor(rows);
    const k = getKernels();
    k.gemm(false, false, rows, this.units, this.inputSize, x, this.weight.value, v.z, false);
    // The activation adds the bias in its own pass over z.
    k.activations[this.activation].forward(v.z, v.a, rows, this.units, this.bias.value);
    this.input = x;
    this.rows = rows;
    this.cur = v;
    return v.a;
  }

  /**
   * Like forward, with the weights already prepared in `kernels` (see Kernels.prepare): for
   * repeated inference, where copying the weights into the backend on every call would dominate.
   */
  forwardPrepared(x: Float32Array, rows: number, kernels: Kernels, weight: PreparedMatrix): Float32Array {
    const v = this.viewsFor(rows);
    if (kernels.denseForward?.(rows, x, weight, this.bias.value, this.activation, v.a)) {
      // The backend kept no pre-activation: no backward or loss may start from this forward.
      this.input = null;
      this.cur = null;
      return v.a;
    }
    kernels.gemmPrepared(false, rows, x, weight, v.z, false);
    kernels.activations[this.activation].forward(v.z, v.a, rows, this.units, this.bias.value);
    this.input = x;
    this.rows = rows;
    this.cur = v;
    return v.a;
  }

  /** Given dL/da of the last forward, accumulates dW, db and returns dL/dx (null when not needed). */
  backward(da: Float32Array, needInputGrad = true): Float32Array | null {
    const v = this.current();
    // The activation's pass also accumulates db += Σ_rows dZ.
    getKernels().activations[this.activation].backward(
      v.z,
      v.a,
      da,
      this.dzOf(v),
      this.rows,
      this.units,
      this.bias.grad,
    );
    return this.weightGrads(v, needInputGrad);
  }

  /** Like backward, with dL/dz already written into `this.dz` (the fused output gradients). */
  backwardFromDz(needInputGrad = true): Float32Array | null {
    const v = this.current();
    getKernels().sumRows(this.rows, this.units, this.dzOf(v), this.bias.grad, true);
    return this.weightGrads(v, needInputGrad);
  }

  // dW += Xᵀ·dZ and dX = dZ·Wᵀ, once dZ (and db) are in place.
  private weightGrads(v: Views, needInputGrad: boolean): Float32Array | null {
    const x = this.input as Float32Array;
    const k = getKernels();
    const rows = this.rows;
    const dz = this.dzOf(v);
    k.gemm(true, false, this.inputSize, this.units, rows, x, dz, this.weight.grad, true);
    if (!needInputGrad) return null;
    const dx = this.dxOf(v);
    k.gemm(false, true, rows, this.inputSize, this.units, dz, this.weight.value, dx, false);
    return dx;
  }

  // Views of the current forward's rows. The buffers grow to the largest batch that ran backward
  // (not the largest forward, e.g. an evaluation chunk); a view keeps the buffer it was cut from.
  private dzOf(v: Views): Float32Array {
    if (v.dz) return v.dz;
    if (this.dzBuf.length < this.rows * this.units) this.dzBuf = new Float32Array(this.rows * this.units);
    v.dz = this.dzBuf.subarray(0, this.rows * this.units);
    return v.dz;
  }

  private dxOf(v: Views): Float32Array {
    if (v.dx) return v.dx;
    if (this.dxBuf.length < this.rows * this.inputSize)
      this.dxBuf = new Float32Array(this.rows * this.inputSize);
    v.dx = this.dxBuf.subarray(0, this.rows * this.inputSize);
    return v.dx;
  }

  private current(): Views {
    if (!this.cur) throw new Error('Dense: backward before forward');
    return this.cur;
  }

  private viewsFor(rows: number): Views {
    const cached = this.views.get(rows);
    if (cached) return cached;
    if (rows > this.capacity) {
      this.capacity = rows;
      this.zBuf = new Float32Array(rows * this.units);
      this.aBuf = new Float32Array(rows * this.units);
      this.views.clear();
    }
    if (this.views.size >= MAX_CACHED_VIEWS) this.views.clear();
    const n = rows * this.units;
    const v: Views = {
      z: this.zBuf.subarray(0, n),
      a: this.aBuf.subarray(0, n),
      dz: null,
      dx: null,
    };
    this.views.set(rows, v);
    return v;
  }
}
