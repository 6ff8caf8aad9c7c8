import { describe, expect, it } from 'vitest';
import {
  createRng,
  decodeTrainingState,
  encodeTrainingState,
  fit,
  Sequential,
  StateFormatError,
  type TrainingState,
} from '../../src/engine/index.js';
import { blobs } from './datasets.js';

async function sampleState(): Promise<TrainingState> {
  const model = Sequential.create(
    {
      inputSize: 6,
      layers: [
        { units: 10, activation: 'relu' },
        { units: 4, activation: 'softmax' },
      ],
      initializer: 'xavier',
    },
    createRng(1),
  );
  let state: TrainingState | null = null;
  await fit(model, blobs(64, 1), {
    epochs: 2,
    batchSize: 16,
    optimizer: { type: 'adam', learningRate: 0.01 },
    loss: 'crossEntropy',
    seed: 3,
    validation: blobs(20, 2),
    earlyStopping: { patience: 5 },
    onEpoch: (_r, snapshot) => {
      state = snapshot();
    },
  });
  return state!;
}

describe('training state codec', () => {
  it('when encoded and decoded, then every field comes back equal, weights bit for bit', async () => {
    const s = await sampleState();
    const back = decodeTrainingState(encodeTrainingState(s));
    expect(back).toEqual(s);
    expect(back.model.params).toEqual(s.model.params);
    expect(back.earlyStopping.bestWeights).not.toBeNull();
  });

  it('when encoded, then weights and optimizer buffers are binary (about 4 bytes per number)', async () => {
    const s = await sampleState();
    const n = 6 * 10 + 10 + 10 * 4 + 4; // 114 parameters
    // weights, best weights and adam's m and v: 4 × 114 floats of 4 bytes, plus a small JSON header
    const size = encodeTrainingState(s).length;
    expect(size).toBeGreaterThanOrEqual(4 * n * 4);
    expect(size).toBeLessThan(4 * n * 4 + 1500);
  });

  it('when the best loss is still Infinity, then it survives the round trip', async () => {
    const s = await sampleState();
    const fresh = { ...s, earlyStopping: { ...s.earlyStopping, bestLoss: Infinity, bestWeights: null } };
    expect(decodeTrainingState(encodeTrainingState(fresh)).earlyStopping.bestLoss).toBe(Infinity);
  });

  it('when the buffer is corrupt, truncated, foreign or of another version, then decoding throws a clear error', async () => {
    const enc = encodeTrainingState(await sampleState());
    const flipped = enc.slice();
    flipped[enc.length - 3] ^= 0xff;
    expect(() => decodeTrainingState(flipped)).toThrow(StateFormatError);
    expect(() => decodeTrainingState(flipped)).toThrow(/checksum/);
    expect(() => decodeTrainingState(enc.subarray(0, enc.length - 8))).toThrow(/checksum|truncated/);
    expect(() => decodeTrainingState(new TextEncoder().encode('{"version":1}'))).toThrow(
      /not a Backprop training state/,
    );
    expect(() => decodeTrainingState(new Uint8Array(3))).toThrow(/not a Backprop training state/);
    const v2 = enc.slice();
    new DataView(v2.buffer).setUint32(4, 2, true);
    expect(() => decodeTrainingState(v2)).toThrow(/version 2 is not supported/);
  });
});
