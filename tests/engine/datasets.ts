// Small synthetic data sets for the engine tests, drawn from the engine's seeded generator.
import { createRng, type Batchable } from '../../src/engine/index.js';

export function oneHot(labels: number[], classes: number): Float32Array {
  const y = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => (y[i * classes + l] = 1));
  return y;
}

export function xor(): Batchable {
  return { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), y: oneHot([0, 1, 1, 0], 2), rows: 4 };
}

/** Two interleaved half circles (scikit-learn's make_moons) with Gaussian noise, one-hot labels. */
export function moons(rows: number, noise: number, seed: number): Batchable {
  const rng = createRng(seed);
  const x = new Float32Array(rows * 2);
  const labels: number[] = [];
  for (let i = 0; i < rows; i++) {
    const c = i % 2;
    const t = Math.PI * rng.next();
    x[2 * i] = (c === 0 ? Math.cos(t) : 1 - Math.cos(t)) + noise * rng.normal();
    x[2 * i + 1] = (c === 0 ? Math.sin(t) : 0.5 - Math.sin(t)) + noise * rng.normal();
    labels.push(c);
  }
  return { x, y: oneHot(labels, 2), rows };
}

/** y = sin(2·x1) + x2² / 2 + 0.05·noise, x uniform in [−1.5, 1.5]². */
export function smoothRegression(rows: number, seed: number): Batchable {
  const rng = createRng(seed);
  const x = new Float32Array(rows * 2);
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const a = 3 * rng.next() - 1.5;
    const b = 3 * rng.next() - 1.5;
    x[2 * i] = a;
    x[2 * i + 1] = b;
    y[i] = Math.sin(2 * a) + (b * b) / 2 + 0.05 * rng.normal();
  }
  return { x, y, rows };
}

/** Four Gaussian blobs in 6 dimensions, one-hot over 4 classes. */
export function blobs(rows: number, seed: number): Batchable {
  const rng = createRng(seed);
  const d = 6;
  const x = new Float32Array(rows * d);
  const labels: number[] = [];
  for (let i = 0; i < rows; i++) {
    const c = rng.int(4);
    for (let j = 0; j < d; j++) x[i * d + j] = (j % 4 === c ? 1.5 : 0) + rng.normal();
    labels.push(c);
  }
  return { x, y: oneHot(labels, 4), rows };
}
