// The portable model file: `GET /v1/models/{id}/export?format=json` writes it and
// `POST /v1/models/import` reads it back on any deployment. Versioned and self-contained: the model
// description, the fitted encoder (imputation, scaling, one-hot, class list, target scaling) and
// the network with its weights as base64 of little-endian float32, so an import predicts exactly
// as the original did, bit for bit.
import { z } from 'zod';
import { Encoder, EncoderError } from '../data/index.js';
import { ModelFormatError, networkFromJSON, type Ensemble, type Sequential } from '../engine/index.js';
import { UnprocessableError } from './errors.js';
import { newId } from './ids.js';
import type { ModelArtifact } from './ports.js';
import { ModelSchema, type Model } from './schemas.js';

export const MODEL_EXPORT_FORMAT = 'backprop.model';

/** The model description as exported: the record without the deployment-local fields. */
const ExportedModelSchema = ModelSchema.omit({
  id: true,
  createdAt: true,
  importedFrom: true,
  tuningJobId: true,
  tuningRole: true,
}).extend({
  id: z.string().describe('The id the model had where it was exported'),
  createdAt: z.string().describe('When it was trained'),
});

const SequentialExportSchema = z
  .object({
    format: z.literal('backprop.sequential'),
    version: z.literal(1),
    spec: z.record(z.string(), z.unknown()),
    params: z.array(z.string()).describe('Weights and biases of each layer, base64 little-endian float32'),
  })
  .describe('One network: embedding, layer sizes and activations, then its parameters');

export const ModelExportSchema = z
  .object({
    format: z.literal(MODEL_EXPORT_FORMAT),
    version: z.literal(1),
    exportedAt: z.string().describe('ISO 8601 time of the export'),
    model: ExportedModelSchema,
    encoder: z
      .record(z.string(), z.unknown())
      .describe('The fitted preprocessing, version 1 (src/data/encoder.ts EncoderJSONSchema)'),
    network: z
      .union([
        SequentialExportSchema,
        z
          .object({
            format: z.literal('backprop.ensemble'),
            version: z.literal(1),
            members: z.array(SequentialExportSchema).min(1),
          })
          .describe('Several networks (cross-validation folds or seeds) whose outputs are averaged'),
      ])
      .describe('The network, or the ensemble of networks, with its parameters'),
  })
  .meta({ id: 'ModelExport', description: 'A model in the portable JSON format, version 1' });
export type ModelExport = z.infer<typeof ModelExportSchema>;

/** The export document of a model and its artifact. */
export function toExport(model: Model, artifact: ModelArtifact, now = new Date()): ModelExport {
  const { importedFrom: _importedFrom, tuningJobId: _search, tuningRole: _role, ...rest } = model;
  return {
    format: MODEL_EXPORT_FORMAT,
    version: 1,
    exportedAt: now.toISOString(),
    model: rest,
    encoder: artifact.encoder as ModelExport['encoder'],
    network: artifact.network as ModelExport['network'],
  };
}

/**
 * A new model record and artifact from an export document. The encoder and the network are checked
 * to load and to fit each other; task, classes and features come from the encoder. Throws
 * UnprocessableError naming what does not fit.
 */
export function fromExport(doc: ModelExport, now = new Date()): { model: Model; artifact: ModelArtifact } {
  let encoder: Encoder;
  let network: Sequential | Ensemble;
  try {
    encoder = Encoder.fromJSON(doc.encoder);
    network = networkFromJSON(doc.network as unknown as Parameters<typeof networkFromJSON>[0]);
  } catch (err) {
    if (err instanceof EncoderError || err instanceof ModelFormatError)
      throw new UnprocessableError(`The export cannot be loaded: ${err.message}`);
    throw err;
  }
  if (encoder.inputSize !== network.inputSize || encoder.outputSize !== network.outputSize) {
    throw new UnprocessableError(
      `The export's encoder gives ${encoder.inputSize} inputs and ${encoder.outputSize} outputs ` +
        `(${encoder.features.length} features, ${encoder.classes ? `${encoder.classes.length} classes` : 'one value'}), ` +
        `its network takes ${network.inputSize} and gives ${network.outputSize}`,
      [{ path: 'network', message: 'does not fit the encoder' }],
    );
  }
  for (const { path, net } of membersOf(network)) {
    const problem = outputProblem(net, encoder) ?? nonFiniteParameter(net);
    if (problem)
      throw new UnprocessableError(
        `The export cannot be loaded: ${path}.${problem.path} ${problem.message}`,
        [{ path: `${path}.${problem.path}`, message: problem.message }],
      );
  }
  const model: Model = {
    ...doc.model,
    id: newId('mdl'),
    task: encoder.task,
    target: encoder.target,
    classes: encoder.classes,
    features: encoder.features,
    parameterCount: network.paramCount(),
    createdAt: now.toISOString(),
    importedFrom: { modelId: doc.model.id, exportedAt: doc.exportedAt, trainedAt: doc.model.createdAt },
  };
  return { model, artifact: { encoder: encoder.toJSON(), network: doc.network } };
}

/** Each network of a loaded export with its place in the document. */
function membersOf(network: Sequential | Ensemble): { path: string; net: Sequential }[] {
  return 'members' in network
    ? network.members.map((net, i) => ({ path: `network.members[${i}]`, net }))
    : [{ path: 'network', net: network }];
}

/**
 * The first weight or bias that is NaN or infinite: every prediction through it would be
 * non-finite, so such a network is refused at import rather than at each prediction.
 */
function nonFiniteParameter(net: Sequential): { path: string; message: string } | null {
  const params = net.params();
  for (let i = 0; i < params.length; i++) {
    const { name, value } = params[i];
    for (let k = 0; k < value.length; k++) {
      if (!Number.isFinite(value[k]))
        return {
          path: `params[${i}]`,
          message: `(${name}) holds ${value[k]} at index ${k}; parameters must be finite`,
        };
    }
  }
  return null;
}

/**
 * The output layer's activation must be the one training gives the encoder's task (losses.ts
 * outputActivationFor): softmax over the classes, one sigmoid unit for a binary output, linear for
 * regression; any other would answer probabilities that do not sum to 1 or values out of range.
 */
function outputProblem(net: Sequential, encoder: Encoder): { path: string; message: string } | null {
  const expected =
    encoder.task === 'regression' ? 'linear' : encoder.outputSize === 1 ? 'sigmoid' : 'softmax';
  const last = net.spec.layers.length - 1;
  const actual = net.spec.layers[last].activation;
  if (actual === expected) return null;
  return {
    path: `spec.layers[${last}].activation`,
    message: `is "${actual}"; the output layer of ${encoder.task === 'regression' ? 'a regression' : 'this classification'} model is "${expected}"`,
  };
}
