// The benchmark data and recipes (W-tab, W-mnist, inference), mirrored from the peers' harness
// (its lib/common.mjs) so that our engine trains on the same bytes with the same recipe.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

// ReLU hidden layers, softmax cross-entropy, Glorot-uniform weights, zero biases,
// Adam(lr, 0.9, 0.999, 1e-8), no shuffling.
export const RECIPES = {
  wtab: { layers: [32, 128, 128, 4], batch: 64, epochs: 5, lr: 1e-3 },
  wmnist: { layers: [784, 256, 128, 10], batch: 128, epochs: 1, lr: 1e-3 },
} as const;
export type TrainWorkload = keyof typeof RECIPES;

// Inference: untrained 784-256-128-10; median of rowCalls one-row predicts after rowWarmup, and of
// batchCalls predicts of batchRows rows after batchWarmup. Inputs uniform in [-1, 1) from seed 99.
export const INFER = {
  layers: [784, 256, 128, 10],
  seed: 99,
  rowWarmup: 300,
  rowCalls: 2000,
  batchRows: 1024,
  batchWarmup: 3,
  batchCalls: 15,
} as const;

export interface DataSet {
  name: string;
  n: number;
  d: number;
  k: number;
  X: Float32Array;
  Y: Int32Array;
  /** Bytes of X and Y as stored on disk. */
  bytes: number;
}

// mulberry32, uniform in [0, 1): the generator the harness uses for the inference inputs.
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function inferInputs(): { row: Float32Array; batch: Float32Array } {
  const rand = mulberry32(INFER.seed);
  const d = INFER.layers[0];
  const row = Float32Array.from({ length: d }, () => rand() * 2 - 1);
  const batch = Float32Array.from({ length: INFER.batchRows * d }, () => rand() * 2 - 1);
  return { row, batch };
}

export function hasData(dataDir: string): boolean {
  return ['wtab', 'wmnist'].every((name) => existsSync(join(dataDir, `${name}.json`)));
}

// Reads the file straight into the typed array, so the data set is in memory once, not twice.
function readInto(file: string, target: Uint8Array): void {
  const fd = openSync(file, 'r');
  try {
    let done = 0;
    while (done < target.length) {
      const got = readSync(fd, target, done, target.length - done, done);
      if (got === 0) throw new Error(`${file}: ends after ${done} bytes, expected ${target.length}`);
      done += got;
    }
  } finally {
    closeSync(fd);
  }
}

/** <name>.json, <name>.x.bin (Float32 LE, n×d) and <name>.y.bin (Int32 LE, n) from dataDir. */
export function loadSet(dataDir: string, name: string): DataSet {
  const header = JSON.parse(readFileSync(join(dataDir, `${name}.json`), 'utf8')) as {
    n: number;
    d: number;
    k: number;
    x: string;
    y: string;
  };
  const X = new Float32Array(header.n * header.d);
  const Y = new Int32Array(header.n);
  readInto(join(dataDir, header.x), new Uint8Array(X.buffer));
  readInto(join(dataDir, header.y), new Uint8Array(Y.buffer));
  return { name, n: header.n, d: header.d, k: header.k, X, Y, bytes: X.byteLength + Y.byteLength };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Forward FLOPs per row: 2·in·out per dense layer. */
export function forwardFlopsPerRow(layers: readonly number[]): number {
  let f = 0;
  for (let i = 1; i < layers.length; i++) f += 2 * layers[i - 1] * layers[i];
  return f;
}
