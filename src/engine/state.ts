// The binary form of a TrainingState, for checkpoints: weights and optimizer buffers as raw
// little-endian Float32, everything else as a small JSON header.
// Layout: "BPTS" | u32 version | u32 header bytes | u32 CRC-32 of the rest | header (padded to 4) | blobs.
import { base64ToFloat32, bytesToFloat32, float32ToBase64, float32ToBytes } from './tensor.js';
import type { MemberState, SerializedModel, TrainingState } from './types.js';

/** A buffer that is not a training state this version can read; the message says why. */
export class StateFormatError extends Error {
  readonly code = 'invalid_state';
  constructor(message: string) {
    super(`cannot decode training state: ${message}`);
    this.name = 'StateFormatError';
  }
}

const MAGIC = [0x42, 0x50, 0x54, 0x53]; // "BPTS"
const VERSION = 1;
const PREAMBLE = 16;

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as in zlib.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Uint8Array, start: number): number {
  let c = 0xffffffff;
  for (let i = start; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface BinaryModel extends Omit<SerializedModel, 'params'> {
  params: Float32Array[];
}

const toBinaryModel = (m: SerializedModel): BinaryModel => ({ ...m, params: m.params.map(base64ToFloat32) });
const fromBinaryModel = (m: BinaryModel): SerializedModel => ({
  ...m,
  params: m.params.map(float32ToBase64),
});

// A member's weights (current and best) between the base64 and the binary form.
function mapMember<T extends MemberState>(m: T, f: (x: never) => unknown): T {
  const g = f as (x: unknown) => never;
  return {
    ...m,
    model: g(m.model),
    earlyStopping: {
      ...m.earlyStopping,
      bestWeights: m.earlyStopping.bestWeights ? g(m.earlyStopping.bestWeights) : null,
    },
  };
}

function mapState(s: TrainingState, f: (x: never) => unknown): TrainingState {
  const out = mapMember(s, f);
  if (s.members) out.members = s.members.map((m) => mapMember(m, f));
  return out;
}

export function encodeTrainingState(s: TrainingState): Uint8Array {
  const blobs: Float32Array[] = [];
  const body = mapState(s, toBinaryModel);
  const json = JSON.stringify(body, (_key, value: unknown) => {
    if (value instanceof Float32Array) {
      blobs.push(value);
      return { $f32: blobs.length - 1, n: value.length };
    }
    if (typeof value === 'number' && !Number.isFinite(value)) return { $num: String(value) };
    return value;
  });
  const header = new TextEncoder().encode(json);
  const headerPadded = (header.length + 3) & ~3;
  let total = PREAMBLE + headerPadded;
  for (const b of blobs) total += b.byteLength;
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, header.length, true);
  out.set(header, PREAMBLE);
  let o = PREAMBLE + headerPadded;
  for (const b of blobs) {
    out.set(float32ToBytes(b), o);
    o += b.byteLength;
  }
  view.setUint32(12, crc32(out, PREAMBLE), true);
  return out;
}

export function decodeTrainingState(b: Uint8Array): TrainingState {
  if (!(b instanceof Uint8Array)) throw new StateFormatError('expected a Uint8Array');
  if (b.length < PREAMBLE || MAGIC.some((m, i) => b[i] !== m)) {
    throw new StateFormatError('not a Backprop training state (bad magic bytes)');
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = view.getUint32(4, true);
  if (version !== VERSION)
    throw new StateFormatError(`version ${version} is not supported (expected ${VERSION})`);
  const headerLen = view.getUint32(8, true);
  const headerPadded = (headerLen + 3) & ~3;
  if (PREAMBLE + headerPadded > b.length) throw new StateFormatError('truncated header');
  if (crc32(b, PREAMBLE) !== view.getUint32(12, true))
    throw new StateFormatError('checksum mismatch (corrupt or truncated)');
  let offset = PREAMBLE + headerPadded;
  const blobs: Float32Array[] = [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(PREAMBLE, PREAMBLE + headerLen)),
      (_k, v: unknown) => {
        if (v && typeof v === 'object' && '$num' in v) return Number((v as { $num: string }).$num);
        if (v && typeof v === 'object' && '$f32' in v) {
          const { $f32: i, n } = v as { $f32: number; n: number };
          if (i !== blobs.length || !Number.isInteger(n) || n < 0)
            throw new StateFormatError('bad binary reference');
          const bytes = n * 4;
          if (offset + bytes > b.length) throw new StateFormatError('truncated binary data');
          const arr = bytesToFloat32(b.subarray(offset, offset + bytes));
          offset += bytes;
          blobs.push(arr);
          return arr;
        }
        return v;
      },
    );
  } catch (e) {
    if (e instanceof StateFormatError) throw e;
    throw new StateFormatError(`header is not valid JSON (${(e as Error).message})`);
  }
  if (offset !== b.length) throw new StateFormatError('trailing bytes after the binary data');
  const s = parsed as TrainingState & {
    model: BinaryModel;
    earlyStopping: { bestWeights: BinaryModel | null };
  };
  if (
    !s ||
    typeof s !== 'object' ||
    s.version !== 1 ||
    !s.model ||
    !Array.isArray(s.model.params) ||
    !s.earlyStopping
  ) {
    throw new StateFormatError('the header does not describe a training state');
  }
  return mapState(s, fromBinaryModel);
}
