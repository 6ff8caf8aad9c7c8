// Models: metadata and deletion, and prediction with the model's own preprocessing. Loaded models
// (network + encoder) are kept in an LRU cache of MODEL_CACHE_SIZE entries, so repeated predictions
// skip reading and parsing the artifact.
import { Encoder, RowValueError, writeCsv, type EncoderJSON, type RowWarning } from '../data/index.js';
import {
  networkFromJSON,
  type Predictor,
  type SerializedEnsemble,
  type SerializedModel,
} from '../engine/index.js';
import { OnnxExportError, encodeOnnx } from '../interop/onnx.js';
import { InvalidRequestError, NotFoundError, UnprocessableError } from './errors.js';
import { MAX_EXPLAINED_ROWS, explainRows } from './explain.js';
import { fromExport, toExport } from './model-export.js';
import type { ModelArtifact, ModelStore } from './ports.js';
import type { Model, PredictRequest, PredictResponse } from './schemas.js';
import type { ModelService } from './services.js';

interface LoadedModel {
  network: Predictor;
  encoder: Encoder;
}

export function createModelService(deps: { store: ModelStore; cacheSize: number }): ModelService {
  const { store } = deps;
  const { load, cache } = modelCache(store, deps.cacheSize);

  async function get(tenant: string, id: string): Promise<Model> {
    const model = await store.get(tenant, id);
    if (!model) throw new NotFoundError('Model', id);
    return model;
  }

  return {
    get,
    list: (tenant, query) => store.list(tenant, query),

    async remove(tenant, id) {
      if (!(await store.remove(tenant, id))) throw new NotFoundError('Model', id);
      cache.delete(id);
    },

    async exportJson(tenant, id) {
      const model = await get(tenant, id);
      return toExport(model, await store.loadArtifact(id));
    },

    async exportOnnx(tenant, id) {
      const model = await get(tenant, id);
      return onnxOf(model, await store.loadArtifact(id));
    },

    async importModel(tenant, doc) {
      const { model, artifact } = fromExport(doc);
      await store.save(tenant, model, artifact);
      return model;
    },

    predict: async (tenant, id, request) => {
      const { predictions, warnings } = await predictRows(tenant, id, request);
      return warnings.length > 0 ? { predictions, warnings } : { predictions };
    },

    async predictCsv(tenant, id, request) {
      if (request.explain)
        throw new InvalidRequestError(
          'explain: explanations are answered as JSON only; use POST /v1/models/{id}/predict for them',
          [{ path: 'explain', message: 'not available as CSV' }],
        );
      const { model, predictions } = await predictRows(tenant, id, request);
      return predictionsCsv(model, predictions);
    },
  };

  async function predictRows(
    tenant: string,
    id: string,
    request: PredictRequest,
  ): Promise<{ model: Model; predictions: PredictResponse['predictions']; warnings: RowWarning[] }> {
    const model = await get(tenant, id);
    const { network, encoder } = await load(id);
    const rows = request.rows;
    refuseUnexplainable(request);
    const { x, warnings } = encodeRows(encoder, rows);
    const out = network.predict(x, rows.length);
    const width = network.outputSize;
    if (!out.every(Number.isFinite))
      throw new UnprocessableError('The model produced a non-finite output for these rows');
    const { predictions, top } = decodeOutputs(model, encoder, out, width, rows.length);
    if (request.explain) {
      const pick = (o: Float32Array, r: number): number =>
        model.task === 'regression'
          ? encoder.decodeValue(o[0])
          : width === 1
            ? top[r] === 1
              ? o[0]
              : 1 - o[0]
            : o[top[r]];
      explainRows(network, encoder, x, rows.length, pick).forEach((e, r) => (predictions[r].explanation = e));
    }
    return { model, predictions, warnings };
  }
}

/** The LRU cache of loaded models (a failed load is evicted); `cache` to drop a removed model. */
function modelCache(store: ModelStore, size: number) {
  // Map keeps insertion order: re-inserting on a hit makes the first key the least recently used.
  const cache = new Map<string, Promise<LoadedModel>>();
  function load(id: string): Promise<LoadedModel> {
    const hit = cache.get(id);
    if (hit) {
      cache.delete(id);
      cache.set(id, hit);
      return hit;
    }
    const loading = store.loadArtifact(id).then((artifact) => ({
      network: networkFromJSON(artifact.network as Parameters<typeof networkFromJSON>[0]),
      encoder: Encoder.fromJSON(artifact.encoder),
    }));
    cache.set(id, loading);
    loading.catch(() => cache.delete(id));
    while (cache.size > size) cache.delete(cache.keys().next().value as string);
    return loading;
  }
  return { load, cache };
}

/** The model as ONNX, its id, task, target and classes in the metadata; 422 when it has no ONNX form. */
function onnxOf(model: Model, artifact: ModelArtifact): Uint8Array {
  try {
    return encodeOnnx(
      artifact.encoder as EncoderJSON,
      artifact.network as SerializedModel | SerializedEnsemble,
      {
        'backprop.model_id': model.id,
        'backprop.task': model.task,
        'backprop.target': model.target,
        ...(model.classes ? { 'backprop.classes': JSON.stringify(model.classes) } : {}),
      },
    );
  } catch (err) {
    if (err instanceof OnnxExportError) throw new UnprocessableError(err.message);
    throw err;
  }
}

/** 400 when more rows ask for explanations than one request may explain (MAX_EXPLAINED_ROWS). */
function refuseUnexplainable(request: PredictRequest): void {
  if (!request.explain || request.rows.length <= MAX_EXPLAINED_ROWS) return;
  throw new InvalidRequestError(
    `explain: at most ${MAX_EXPLAINED_ROWS} rows can be explained in one request, got ${request.rows.length}`,
    [{ path: 'explain', message: `at most ${MAX_EXPLAINED_ROWS} rows` }],
  );
}

/** Request rows as the network's input; a bad cell is a 400 naming `rows[i].column`. */
function encodeRows(encoder: LoadedModel['encoder'], rows: PredictRequest['rows']) {
  try {
    return encoder.encodeRecords(rows);
  } catch (err) {
    if (err instanceof RowValueError) {
      const path = err.column ? `rows[${err.row}].${err.column}` : `rows[${err.row}]`;
      throw new InvalidRequestError(`${path}: ${err.message}`, [{ path, message: err.message }]);
    }
    throw err;
  }
}

/** The network's outputs as predictions (a value, or a label with every class's probability) and each row's top class. */
function decodeOutputs(
  model: Model,
  encoder: LoadedModel['encoder'],
  out: Float32Array,
  width: number,
  n: number,
) {
  const predictions: PredictResponse['predictions'] = [];
  const top: number[] = [];
  for (let r = 0; r < n; r++) {
    if (model.task === 'regression') {
      predictions.push({ value: encoder.decodeValue(out[r * width]) });
      continue;
    }
    const classes = model.classes ?? encoder.classes ?? [];
    // One sigmoid unit gives p(classes[1]); the other class gets 1 - p.
    const probs = width === 1 ? [1 - out[r], out[r]] : Array.from(out.subarray(r * width, (r + 1) * width));
    let best = 0;
    for (let k = 1; k < probs.length; k++) if (probs[k] > probs[best]) best = k;
    const probabilities: Record<string, number> = {};
    // defineProperty: a class named "__proto__" is a key like any other.
    probs.forEach((p, k) =>
      Object.defineProperty(probabilities, classes[k] ?? String(k), {
        value: p,
        enumerable: true,
        writable: true,
        configurable: true,
      }),
    );
    predictions.push({ label: classes[best] ?? String(best), probabilities });
    top.push(best);
  }
  return { predictions, top };
}

/**
 * Predictions as CSV text: a `value` column for regression; `label` and `probability:<class>`
 * for each class for classification.
 */
function predictionsCsv(model: Model, predictions: PredictResponse['predictions']): string {
  if (model.task === 'regression') {
    return writeCsv(
      ['value'],
      predictions.map((p) => ['value' in p ? p.value : null]),
    );
  }
  const classes = model.classes ?? [];
  return writeCsv(
    ['label', ...classes.map((c) => `probability:${c}`)],
    predictions.map((p) =>
      'label' in p ? [p.label, ...classes.map((c) => p.probabilities[c] ?? null)] : [null],
    ),
  );
}
