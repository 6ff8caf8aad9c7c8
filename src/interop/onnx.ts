// ONNX export of a whole trained model: the encoder's preprocessing (imputation, scaling, one-hot of
// categorical inputs) followed by the network and its output activation, as one graph. Written with
// protobufjs from the subset of ONNX's schema in onnx.proto (next to this file).
//
// The graph (opsets ai.onnx 13 and ai.onnx.ml 2, IR version 7):
// - one input per feature, named as the column: numeric features float32 [N, 1] (NaN = missing),
//   categorical features string [N, 1] (the exact category text; "" or a missing marker = missing);
// - numeric: Where(IsNaN(x), impute, x), then (x − shift) / scale, the smooth clip of robust
//   scaling, and the missing indicator, as the encoder has them;
// - categorical: LabelEncoder (category → index, missing → the missing slot, anything else → out of
//   range) then OneHot, so an unseen category is all zeros, as the service encodes it; a
//   two-category feature kept as one input is LabelEncoder to 0, 1, or ½ for anything else;
// - Concat in the encoder's order, then a piecewise-linear encoding when the network has one
//   (Gather of the numeric columns, Clip((x − edge) / width, 0, 1), Concat after the inputs), then
//   MatMul + Add + activation per layer; an ensemble runs each network and takes their Mean;
// - outputs: classification `probabilities` float32 [N, classes] and `label` string [N];
//   regression `value` float32 [N, 1] in the target's units (y × std + mean).
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { isMissingCell, type EncoderJSON } from '../data/index.js';
import type { PiecewiseLinearEmbeddingSpec, SerializedEnsemble, SerializedModel } from '../engine/index.js';

const ModelProto = protobuf
  .loadSync(fileURLToPath(new URL('./onnx.proto', import.meta.url)))
  .lookupType('onnx.ModelProto');

const FLOAT = 1;
const INT64 = 7;
const STRING = 8;
const ATTR = { FLOAT: 1, INT: 2, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
const ML_DOMAIN = 'ai.onnx.ml';
const ACTIVATION_OP: Record<string, string | null> = {
  relu: 'Relu',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  leakyRelu: 'LeakyRelu',
  softmax: 'Softmax',
  linear: null,
};
// Slope of leakyRelu, as the engine's activations use it (src/engine/activations.ts).
const LEAKY_SLOPE = 0.01;
// Spellings a client may send for a missing category; each is kept only if the service reads it as missing.
const MISSING_SPELLINGS = [
  '',
  'na',
  'NA',
  'Na',
  'n/a',
  'N/A',
  'null',
  'NULL',
  'Null',
  'nan',
  'NaN',
  'NAN',
  'None',
  'none',
  '?',
  '-',
  '#N/A',
];

/** A model the ONNX writer cannot express (a name clash); the message says which. */
export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
}

interface Attribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}
interface Node {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain?: string;
  attribute?: Attribute[];
}
interface Tensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
  int64Data?: number[];
}

/** Accumulates nodes and constants with unique internal names. */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private count = 0;

  fresh(hint: string): string {
    return `bp/${hint}/${this.count++}`;
  }

  constant(hint: string, dims: number[], values: ArrayLike<number>): string {
    const name = this.fresh(hint);
    const data = Float32Array.from(values);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  int64(hint: string, dims: number[], values: number[]): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, dataType: INT64, int64Data: values });
    return name;
  }

  op(opType: string, inputs: string[], attribute: Attribute[] = [], domain = '', output?: string): string {
    const out = output ?? this.fresh(opType);
    this.nodes.push({ input: inputs, output: [out], name: out, opType, domain, attribute });
    return out;
  }
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
type NumericFeature = Extract<EncoderJSON['features'][number], { type: 'numeric' }>;

/** The [N, width] block of one categorical feature. */
function oneHot(g: GraphBuilder, input: string, categories: string[], missingSlot: boolean): string {
  const width = categories.length + (missingSlot ? 1 : 0);
  const keys = [...categories];
  const values = categories.map((_, i) => i);
  for (const spelling of MISSING_SPELLINGS) {
    if (!isMissingCell(spelling) || keys.includes(spelling)) continue;
    keys.push(spelling);
    values.push(missingSlot ? categories.length : width);
  }
  const index = g.op(
    'LabelEncoder',
    [input],
    [
      { name: 'keys_strings', type: ATTR.STRINGS, strings: keys.map(utf8) },
      { name: 'values_int64s', type: ATTR.INTS, ints: values },
      // An unseen category is encoded as a missing one, as the service's encoder does.
      { name: 'default_int64', type: ATTR.INT, i: missingSlot ? categories.length : width },
    ],
    ML_DOMAIN,
  );
  const depth = g.int64('depth', [1], [width]);
  const onOff = g.constant('onoff', [2], [0, 1]);
  const hot = g.op('OneHot', [index, depth, onOff], [{ name: 'axis', type: ATTR.INT, i: -1 }]);
  return g.op('Reshape', [hot, g.int64('shape', [2], [-1, width])]);
}

/**
 * The smooth clip as the encoder computes it (smoothClip in src/data/encoder.ts): with r = s/clip,
 * s / √(1 + r²) where |r| ≤ 1, else clip·sign(r) / √(1 + 1/r²), so that float32 squares that
 * overflow give ±clip; Where picks the branch (the other may be ∞ or 0 there, never chosen).
 */
function smoothClip(g: GraphBuilder, scaled: string, clip: number): string {
  const one = g.constant('one', [], [1]);
  const ratio = g.op('Div', [scaled, g.constant('clip', [], [clip])]);
  const near = g.op('Div', [scaled, g.op('Sqrt', [g.op('Add', [g.op('Mul', [ratio, ratio]), one])])]);
  const inverse = g.op('Reciprocal', [ratio]);
  const farDenominator = g.op('Sqrt', [g.op('Add', [g.op('Mul', [inverse, inverse]), one])]);
  const far = g.op('Div', [
    g.op('Mul', [g.op('Sign', [ratio]), g.constant('clip', [], [clip])]),
    farDenominator,
  ]);
  return g.op('Where', [g.op('Greater', [g.op('Abs', [ratio]), one]), far, near]);
}

/**
 * The block of one numeric feature: imputed, scaled, smoothly clipped when the encoder clips
 * (s / √(1 + (s/clip)²)), then its missing indicator (1 when missing) when the encoder has one.
 */
function numeric(g: GraphBuilder, input: string, f: NumericFeature): string {
  const isNaN = g.op('IsNaN', [input]);
  const filled = g.op('Where', [isNaN, g.constant('impute', [], [f.impute]), input]);
  const shifted = g.op('Sub', [filled, g.constant('shift', [], [f.shift])]);
  let scaled = g.op('Div', [shifted, g.constant('scale', [], [f.scale])]);
  if (f.clip) scaled = smoothClip(g, scaled, f.clip);
  if (!f.missingIndicator) return scaled;
  const indicator = g.op('Cast', [isNaN], [{ name: 'to', type: ATTR.INT, i: FLOAT }]);
  return g.op('Concat', [scaled, indicator], [{ name: 'axis', type: ATTR.INT, i: 1 }]);
}

/** A two-category feature as one input: 0 and 1 for its categories, ½ for anything else. */
function binaryCategory(g: GraphBuilder, input: string, categories: string[]): string {
  return g.op(
    'LabelEncoder',
    [input],
    [
      { name: 'keys_strings', type: ATTR.STRINGS, strings: categories.map(utf8) },
      { name: 'values_floats', type: ATTR.FLOATS, floats: categories.map((_, i) => i) },
      { name: 'default_float', type: ATTR.FLOAT, f: 0.5 },
    ],
    ML_DOMAIN,
  );
}

/**
 * A boolean feature's one input: 1 for the column's true spelling or true/yes/t/y/1, 0 for the false
 * ones (lower, upper and capitalized case), anything else the training share of true, as the
 * service's encoder reads it (src/data/encoder.ts readBoolean).
 */
function booleanInput(
  g: GraphBuilder,
  input: string,
  labels: { false: string; true: string },
  impute: number,
): string {
  const spellings = new Map<string, number>();
  const add = (word: string, v: number) => {
    for (const w of [word, word.toLowerCase(), word.toUpperCase(), word[0].toUpperCase() + word.slice(1)])
      if (w !== '' && !spellings.has(w)) spellings.set(w, v);
  };
  add(labels.true, 1);
  add(labels.false, 0);
  for (const w of ['true', 'yes', 't', 'y', '1']) add(w, 1);
  for (const w of ['false', 'no', 'f', 'n', '0']) add(w, 0);
  return g.op(
    'LabelEncoder',
    [input],
    [
      { name: 'keys_strings', type: ATTR.STRINGS, strings: [...spellings.keys()].map(utf8) },
      { name: 'values_floats', type: ATTR.FLOATS, floats: [...spellings.values()] },
      { name: 'default_float', type: ATTR.FLOAT, f: impute },
    ],
    ML_DOMAIN,
  );
}

/** x, then each embedded column's bin values clamp((x − b_{t−1}) / (b_t − b_{t−1}), 0, 1), as the engine's. */
function piecewiseLinear(g: GraphBuilder, x: string, e: PiecewiseLinearEmbeddingSpec): string {
  const cols: number[] = [];
  const lo: number[] = [];
  const width: number[] = [];
  e.features.forEach((c, f) => {
    const b = e.bins[f];
    for (let t = 1; t < b.length; t++) {
      cols.push(c);
      lo.push(b[t - 1]);
      width.push(b[t] - b[t - 1]);
    }
  });
  const axis1 = [{ name: 'axis', type: ATTR.INT, i: 1 }];
  const picked = g.op('Gather', [x, g.int64('ple/columns', [cols.length], cols)], axis1);
  const shifted = g.op('Sub', [picked, g.constant('ple/lower', [cols.length], lo)]);
  const scaled = g.op('Div', [shifted, g.constant('ple/width', [cols.length], width)]);
  const bins = g.op('Clip', [scaled, g.constant('ple/zero', [], [0]), g.constant('ple/one', [], [1])]);
  return g.op('Concat', [x, bins], axis1);
}

/** The network's layers on `x`; returns the output of the last activation. */
function network(g: GraphBuilder, x: string, net: SerializedModel): string {
  const e = net.spec.embedding;
  if (e && e.type !== 'piecewiseLinear')
    throw new OnnxExportError(
      `ONNX export does not cover ${e.type} numeric embeddings (model.embedding) yet; use format=json`,
    );
  let h = e ? piecewiseLinear(g, x, e) : x;
  let inSize = net.spec.inputSize + (e ? e.bins.reduce((n, b) => n + b.length - 1, 0) : 0);
  net.spec.layers.forEach((layer, i) => {
    const w = Buffer.from(net.params[2 * i], 'base64');
    const b = Buffer.from(net.params[2 * i + 1], 'base64');
    const wName = g.fresh(`layer${i}/weight`);
    const bName = g.fresh(`layer${i}/bias`);
    g.initializers.push({
      name: wName,
      dims: [inSize, layer.units],
      dataType: FLOAT,
      rawData: new Uint8Array(w),
    });
    g.initializers.push({ name: bName, dims: [layer.units], dataType: FLOAT, rawData: new Uint8Array(b) });
    h = g.op('Add', [g.op('MatMul', [h, wName]), bName]);
    const op = ACTIVATION_OP[layer.activation];
    if (op === 'LeakyRelu') h = g.op(op, [h], [{ name: 'alpha', type: ATTR.FLOAT, f: LEAKY_SLOPE }]);
    else if (op === 'Softmax') h = g.op(op, [h], [{ name: 'axis', type: ATTR.INT, i: -1 }]);
    else if (op) h = g.op(op, [h]);
    inSize = layer.units;
  });
  return h;
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** Adds the output nodes; returns the graph outputs' value infos. */
function outputs(g: GraphBuilder, h: string, enc: EncoderJSON) {
  if (enc.task === 'regression') {
    const scaled = g.op('Mul', [h, g.constant('targetStd', [], [enc.targetStd])]);
    g.op('Add', [scaled, g.constant('targetMean', [], [enc.targetMean])], [], '', 'value');
    return [valueInfo('value', FLOAT, ['N', 1])];
  }
  const classes = enc.classes ?? [];
  if (enc.binaryOutput) {
    const q = g.op('Sub', [g.constant('one', [], [1]), h]);
    g.op('Concat', [q, h], [{ name: 'axis', type: ATTR.INT, i: 1 }], '', 'probabilities');
  } else {
    g.op('Identity', [h], [], '', 'probabilities');
  }
  const best = g.op(
    'ArgMax',
    ['probabilities'],
    [
      { name: 'axis', type: ATTR.INT, i: 1 },
      { name: 'keepdims', type: ATTR.INT, i: 0 },
    ],
  );
  g.op(
    'LabelEncoder',
    [best],
    [
      { name: 'keys_int64s', type: ATTR.INTS, ints: classes.map((_, i) => i) },
      { name: 'values_strings', type: ATTR.STRINGS, strings: classes.map(utf8) },
    ],
    ML_DOMAIN,
    'label',
  );
  return [valueInfo('probabilities', FLOAT, ['N', classes.length]), valueInfo('label', STRING, ['N'])];
}

/**
 * The ONNX model (serialized ModelProto bytes) of an encoder and its network. Throws
 * OnnxExportError when a feature's name is one of the output names, or the network or a feature
 * is of a kind the export does not cover (periodic embeddings, datetime features). An ensemble's
 * networks all run on the encoded input and the graph outputs their mean, as Ensemble.predict.
 */
export function encodeOnnx(
  enc: EncoderJSON,
  net: SerializedModel | SerializedEnsemble,
  meta: Record<string, string> = {},
): Uint8Array {
  const reserved = enc.task === 'regression' ? ['value'] : ['probabilities', 'label'];
  const clash = enc.features.find((f) => reserved.includes(f.name) || f.name.startsWith('bp/'));
  if (clash)
    throw new OnnxExportError(`the feature "${clash.name}" has the name of an ONNX output or internal value`);
  const unsupported = enc.features.find((f) => f.type === 'datetime');
  if (unsupported)
    throw new OnnxExportError(
      `ONNX export does not cover ${unsupported.type} features yet ("${unsupported.name}"); use format=json`,
    );
  const g = new GraphBuilder();
  const blocks = enc.features.map((f) => {
    if (f.type === 'numeric') return numeric(g, f.name, f);
    if (f.type === 'boolean') return booleanInput(g, f.name, f.labels, f.impute);
    if (f.type !== 'categorical') throw new OnnxExportError(`unsupported feature type ${f.type}`);
    return f.oneInput
      ? binaryCategory(g, f.name, f.categories)
      : oneHot(g, f.name, f.categories, f.missingSlot);
  });
  const x =
    blocks.length === 1 ? blocks[0] : g.op('Concat', blocks, [{ name: 'axis', type: ATTR.INT, i: 1 }]);
  const nets = net.format === 'backprop.ensemble' ? net.members : [net];
  const outs = nets.map((n) => network(g, x, n));
  const out = outputs(g, outs.length === 1 ? outs[0] : g.op('Mean', outs), enc);
  const model = {
    irVersion: 7,
    opsetImport: [
      { domain: '', version: 13 },
      { domain: ML_DOMAIN, version: 2 },
    ],
    producerName: 'backprop',
    producerVersion: '1',
    graph: {
      name: 'backprop_model',
      node: g.nodes,
      initializer: g.initializers,
      input: enc.features.map((f) =>
        f.type === 'numeric' ? valueInfo(f.name, FLOAT, ['N', 1]) : valueInfo(f.name, STRING, ['N', 1]),
      ),
      output: out,
    },
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`ONNX model does not fit the schema: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
