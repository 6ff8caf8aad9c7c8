// Float32Array tensors: the (value, grad) parameter pair and the little-endian binary form of
// weights used by model files and training states. Matrix products live behind ./kernels.
/**
 * A trainable tensor and its gradient. `decay` marks weights (L2 weight decay applies) vs biases;
 * `lrFactor` multiplies the learning rate of this tensor's updates (1 for the dense layers).
 */
export interface Param {
  readonly name: string;
  readonly value: Float32Array;
  readonly grad: Float32Array;
  readonly decay: boolean;
  readonly lrFactor: number;
}

export function createParam(name: string, size: number, decay: boolean, lrFactor = 1): Param {
  return { name, value: new Float32Array(size), grad: new Float32Array(size), decay, lrFactor };
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
