// Scoring one chunk of a batch prediction (pure): raw CSV rows → the result's rows, with the kept
// columns, the prediction (as POST /v1/models/{id}/predict gives it) and an `error` cell. A row
// that cannot be scored gets its reason in `error` and empty prediction cells; the chunk goes on.
import { Encoder, RowValueError, type CsvRecord } from '../data/index.js';
import { networkFromJSON, type Predictor } from '../engine/index.js';
import type { ModelArtifact } from './ports.js';
import type { Model } from './schemas.js';

/** A cell of the result: text, a number, or empty (null). */
export type ResultCell = string | number | null;

export interface ScoredChunk {
  rows: ResultCell[][];
  /** Rows whose `error` cell is set. */
  failed: number;
}

export interface ChunkScorer {
  /** Scores the records in order; one result row per record. */
  score(records: CsvRecord[]): ScoredChunk;
}

/** Loads the model's network and encoder (an ensemble included) from its artifact. */
export function loadPredictor(artifact: ModelArtifact): { network: Predictor; encoder: Encoder } {
  return {
    network: networkFromJSON(artifact.network as Parameters<typeof networkFromJSON>[0]),
    encoder: Encoder.fromJSON(artifact.encoder),
  };
}

/** The prediction cells of output row r: [value], or [label, p(class 1), …]; null when not finite. */
function predictionCells(
  out: Float32Array,
  r: number,
  width: number,
  encoder: Encoder,
  task: Model['task'],
  classes: string[],
): ResultCell[] | null {
  const o = out.subarray(r * width, (r + 1) * width);
  if (!o.every(Number.isFinite)) return null;
  if (task === 'regression') return [encoder.decodeValue(o[0])];
  // One sigmoid unit gives p(classes[1]); the other class gets 1 − p.
  const probs = width === 1 ? [1 - o[0], o[0]] : Array.from(o);
  let best = 0;
  for (let k = 1; k < probs.length; k++) if (probs[k] > probs[best]) best = k;
  return [classes[best] ?? String(best), ...probs];
}

/**
 * A scorer for rows of a file whose header is `header`. Only the model's features are read from a
 * row (features absent from the header are missing and imputed, as in single predictions); kept
 * columns are copied as written. The error of a row names the problem without the row number
 * (the result row is the input row).
 */
export function createChunkScorer(opts: {
  network: Predictor;
  encoder: Encoder;
  model: Pick<Model, 'task' | 'classes'>;
  header: string[];
  keepColumns: string[];
}): ChunkScorer {
  const { network, encoder, model, header } = opts;
  const featureAt = encoder.features
    .map((f) => ({ name: f.name, at: header.indexOf(f.name) }))
    .filter((f) => f.at >= 0);
  const keepAt = opts.keepColumns.map((c) => header.indexOf(c));
  const classes = model.classes ?? encoder.classes ?? [];
  const outWidth = model.task === 'regression' ? 1 : 1 + classes.length;
  const width = network.outputSize;

  const toObject = (cells: string[]): Record<string, unknown> => {
    const row = Object.create(null) as Record<string, unknown>;
    for (const f of featureAt) row[f.name] = cells[f.at];
    return row;
  };

  /** Encodes the rows; a row the encoder refuses gets an error instead (all rows encoded apart then). */
  function encode(objects: Record<string, unknown>[], errors: (string | null)[]): Float32Array {
    try {
      return encoder.encodeRecords(objects).x;
    } catch (err) {
      if (!(err instanceof RowValueError)) throw err;
    }
    const x = new Float32Array(objects.length * encoder.inputSize);
    objects.forEach((o, i) => {
      try {
        x.set(encoder.encodeRecords([o]).x, i * encoder.inputSize);
      } catch (err) {
        if (!(err instanceof RowValueError)) throw err;
        errors[i] = err.message.replace(/^row \d+(, )?/, '') || err.message;
      }
    });
    return x;
  }

  return {
    score(records) {
      const errors: (string | null)[] = records.map((rec) =>
        rec.cells.length === header.length
          ? null
          : `line ${rec.line} has ${rec.cells.length} fields, the header has ${header.length}`,
      );
      const valid = records.flatMap((rec, i) => (errors[i] === null ? [i] : []));
      const objects = valid.map((i) => toObject(records[i].cells));
      const subErrors: (string | null)[] = valid.map(() => null);
      const x = encode(objects, subErrors);
      const out = valid.length > 0 ? network.predict(x, valid.length) : new Float32Array(0);
      const predicted: (ResultCell[] | null)[] = records.map(() => null);
      valid.forEach((i, k) => {
        if (subErrors[k] !== null) errors[i] = subErrors[k];
        else {
          predicted[i] = predictionCells(out, k, width, encoder, model.task, classes);
          if (!predicted[i]) errors[i] = 'the model produced a non-finite output for this row';
        }
      });
      let failed = 0;
      const rows = records.map((rec, i) => {
        const kept = keepAt.map((at) => rec.cells[at] ?? null);
        const pred = predicted[i] ?? new Array<ResultCell>(outWidth).fill(null);
        if (errors[i] !== null) failed++;
        return [...kept, ...pred, errors[i]];
      });
      return { rows, failed };
    },
  };
}
