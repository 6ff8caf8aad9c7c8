// The ONNX export run in ONNX Runtime (onnxruntime-node 1.17, CPU) against the service's own
// prediction path on 1,000 raw rows each: the outputs agree within 1e-5.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { InferenceSession } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Encoder, fitEncoder, readCsv, type EncoderJSON } from '../../src/data/index.js';
import type { TrainingSpecInput } from '../../src/domain/schemas.js';
import { Sequential, createRng, type SerializedModel } from '../../src/engine/index.js';
import { encodeOnnx } from '../../src/interop/onnx.js';
import { FIXTURES, onnxFeeds, trainFixture } from '../helpers/trained-model.js';

const ROWS = 1000;

/** Trains on a fixture (few epochs: agreement, not accuracy, is under test) and runs both paths. */
async function compare(file: string, spec: Omit<TrainingSpecInput, 'datasetId'>) {
  const { outcome } = await trainFixture(file, spec, loadConfig({}));
  const encoder = outcome.artifact.encoder as EncoderJSON;
  const network = outcome.artifact.network as SerializedModel;
  const text = await readFile(join(FIXTURES, file), 'utf8');
  const records = (parse(text, { columns: true }) as Record<string, string>[]).slice(0, ROWS);
  const enc = Encoder.fromJSON(encoder);
  const service = Sequential.fromJSON(network).predict(enc.transformRecords(records), records.length);
  const session = await InferenceSession.create(encodeOnnx(encoder, network));
  const result = await session.run(onnxFeeds(encoder.features, records));
  return { encoder, enc, service, result, rows: records.length };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('ONNX export in ONNX Runtime', () => {
  it('when a classifier with categorical and missing cells is exported, then probabilities and labels match the service on 1,000 rows', async () => {
    const { encoder, service, result, rows } = await compare('loans.csv', {
      target: 'decision',
      training: { epochs: 5 },
    });
    expect(rows).toBe(ROWS);
    expect(maxAbsDiff(result.probabilities.data as Float32Array, service)).toBeLessThan(1e-5);
    const classes = encoder.classes!;
    const k = classes.length;
    const labels = result.label.data as string[];
    for (let r = 0; r < rows; r++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (service[r * k + j] > service[r * k + best]) best = j;
      expect(labels[r]).toBe(classes[best]);
    }
  });

  it('when a two-class model has one sigmoid output, then the probabilities are [1 − p, p] as the service gives', async () => {
    const { service, result } = await compare('loans.csv', {
      target: 'has_mortgage',
      model: { binaryOutput: 'sigmoid' },
      training: { epochs: 3 },
    });
    const probs = result.probabilities.data as Float32Array;
    expect(
      maxAbsDiff(
        Float32Array.from(service, (_, r) => probs[2 * r + 1]),
        service,
      ),
    ).toBeLessThan(1e-5);
    expect(
      maxAbsDiff(
        Float32Array.from(service, (_, r) => probs[2 * r]),
        Float32Array.from(service, (p) => 1 - p),
      ),
    ).toBeLessThan(1e-5);
  });

  it('when the encoder scales robustly, has missing indicators and two-category inputs, then ONNX encodes the same', async () => {
    const text = await readFile(join(FIXTURES, 'loans.csv'), 'utf8');
    // has_mortgage (yes/no) declared categorical: a two-category categorical, not a boolean column.
    const table = await readCsv(
      text,
      { maxColumns: 100, maxRows: 10_000, maxLineBytes: 1 << 20 },
      { columnTypes: { has_mortgage: 'categorical' } },
    );
    const features = table.names.filter((n) => n !== 'decision');
    // Fitted on the rows where has_mortgage is present, so its two categories become one input.
    const mortgage = table.columns[table.names.indexOf('has_mortgage')].values as (string | null)[];
    const rows = Int32Array.from(mortgage.flatMap((v, i) => (v === null ? [] : [i])));
    const opts = {
      features,
      target: 'decision',
      task: 'classification' as const,
      scaling: 'robust' as const,
    };
    const enc = fitEncoder(table, { ...opts, missingIndicators: true, binaryAsOneInput: true }, rows);
    const json = enc.toJSON();
    expect(json.features.some((f) => f.type === 'numeric' && f.missingIndicator && f.clip)).toBe(true);
    expect(json.features.some((f) => f.type === 'categorical' && f.oneInput)).toBe(true);
    // Weights drawn, not trained: agreement of the two paths is what is under test.
    const net = Sequential.create(
      {
        inputSize: enc.inputSize,
        layers: [
          { units: 16, activation: 'tanh' },
          { units: 8, activation: 'leakyRelu' },
          { units: enc.outputSize, activation: 'softmax' },
        ],
        initializer: 'xavier',
      },
      createRng(7),
    );
    const records = (parse(text, { columns: true }) as Record<string, string>[]).slice(0, ROWS);
    // Categories never seen and missing markers, in a few rows.
    records[0] = { ...records[0], employment: 'astronaut', has_mortgage: 'maybe' };
    records[1] = { ...records[1], employment: 'NA', has_mortgage: '', age: '' };
    // Ages far past the clip, whose ratio squared overflows float32: both paths give about ±3.
    records[2] = { ...records[2], age: '1e30' };
    records[3] = { ...records[3], age: '-1e30' };
    const service = net.predict(enc.transformRecords(records), records.length);
    const session = await InferenceSession.create(encodeOnnx(json, net.toJSON()));
    const result = await session.run(onnxFeeds(enc.features, records));
    expect(maxAbsDiff(result.probabilities.data as Float32Array, service)).toBeLessThan(1e-5);
  });

  it('when a regression is exported, then values in the target units match the service on 1,000 rows', async () => {
    const { enc, service, result, rows } = await compare('friedman1.csv', {
      target: 'y',
      training: { epochs: 5 },
    });
    expect(rows).toBe(ROWS);
    const values = Float32Array.from(service, (v) => enc.decodeValue(v));
    expect(maxAbsDiff(result.value.data as Float32Array, values)).toBeLessThan(1e-5);
  });
});
