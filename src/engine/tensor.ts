// Float32Array matrices: the (value, grad) parameter pair, shape checks that name the op and both
// shapes, and the little-endian binary form of weights used by model files and training states.
import { getKernels } from './kernels/index.js';

/** A trainable tensor and its gradient. `decay` marks weights (L2 weight decay applies) vs biases. */
export interface Param {
  readonly name: string;
  readonly value: Float32Array;
  readonly grad: Float32Array;
  readonly decay: boolean;
}

export function createParam(name: string, size: number, decay: boolean): Param {
  return { name, value: new Float32Array(size), grad: new Float32Array(size), decay };
}

/** A row-major matrix view over a Float32Array. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

export function matrix(rows: number, cols: number, data?: Float32Array): Matrix {
  const d = data ?? new Float32Array(rows * cols);
  if (d.length !== rows * cols) {
    throw new RangeError(`matrix: data of length ${d.length} does not fit ${rows}×${cols}`);
  }
  return { rows, cols, data: d };
}

/** C = A·B through the active kernels; a shape mismatch names both shapes. */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) {
    throw new RangeError(`matmul: cannot multiply ${a.rows}×${a.cols} by ${b.rows}×${b.cols}`);
  }
  const c = matrix(a.rows, b.cols);
  getKernels().gemm(false, false, a.rows, b.cols, a.cols, a.data, b.data, c.data, false);
  return c;
}

/** Throws a RangeError naming `op` when a buffer does not hold rows × cols numbers. */
export function assertShape(op: string, what: string, arr: Float32Array, rows: number, cols: number): void {
  if (arr.length !== rows * cols) {
    throw new RangeError(
      `${op}: ${what} has ${arr.length} values, expected ${rows}×${cols} = ${rows * cols}`,
    );
  }
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of a Float32Array in little-endian order (a copy on big-endian hosts). */
export function float32ToBytes(a: Float32Array): Uint8Array {
  if (littleEndian) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat32(i * 4, a[i], true);
  return out;
}

/** A new Float32Array from little-endian bytes (length must be a multiple of 4). */
export function bytesToFloat32(b: Uint8Array): Float32Array {
  if (b.byteLength % 4 !== 0)
    throw new RangeError(`bytesToFloat32: ${b.byteLength} bytes is not a multiple of 4`);
  const out = new Float32Array(b.byteLength / 4);
  if (littleEndian) {
    new Uint8Array(out.buffer).set(b);
  } else {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

export function float32ToBase64(a: Float32Array): string {
  const bytes = float32ToBytes(a);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function base64ToFloat32(s: string): Float32Array {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !BASE64.test(s)) {
    throw new RangeError('base64ToFloat32: not a base64 string');
  }
  return bytesToFloat32(new Uint8Array(Buffer.from(s, 'base64')));
}
