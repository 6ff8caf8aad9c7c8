// An ensemble of networks of the same input and output: predictions are the mean of the members'
// outputs (class probabilities, or values), as a k-fold or seed ensemble predicts. Versioned JSON
// like a single network; networkFromJSON reads either form.
import { ModelFormatError, Sequential } from './model.js';
import type { SerializedModel } from './types.js';

const FORMAT = 'backprop.ensemble';
const VERSION = 1;

/** The JSON form of an Ensemble: its members' SerializedModels. */
export interface SerializedEnsemble {
  format: 'backprop.ensemble';
  version: 1;
  members: SerializedModel[];
}

/** What predicts: a single network or an ensemble. */
export interface Predictor {
  readonly inputSize: number;
  readonly outputSize: number;
  /** A new rows × outputSize array of outputs. */
  predict(x: Float32Array, rows: number): Float32Array;
}

export class Ensemble implements Predictor {
  constructor(readonly members: Sequential[]) {
    if (members.length === 0) throw new ModelFormatError('an ensemble needs at least one network');
    const { inputSize, outputSize } = members[0];
    if (members.some((m) => m.inputSize !== inputSize || m.outputSize !== outputSize))
      throw new ModelFormatError('the networks of an ensemble must have the same inputs and outputs');
  }

  get inputSize(): number {
    return this.members[0].inputSize;
  }
  get outputSize(): number {
    return this.members[0].outputSize;
  }

  /** The mean of the members' outputs, summed in member order. */
  predict(x: Float32Array, rows: number): Float32Array {
    const out = this.members[0].predict(x, rows);
    for (let m = 1; m < this.members.length; m++) {
      const o = this.members[m].predict(x, rows);
      for (let i = 0; i < out.length; i++) out[i] += o[i];
    }
    const inv = 1 / this.members.length;
    for (let i = 0; i < out.length; i++) out[i] *= inv;
    return out;
  }

  paramCount(): number {
    return this.members.reduce((n, m) => n + m.paramCount(), 0);
  }

  toJSON(): SerializedEnsemble {
    return { format: FORMAT, version: VERSION, members: this.members.map((m) => m.toJSON()) };
  }
}

/** A network or an ensemble from its JSON form; throws ModelFormatError naming what is wrong. */
export function networkFromJSON(j: SerializedModel | SerializedEnsemble): Sequential | Ensemble {
  if (j && typeof j === 'object' && j.format === FORMAT) {
    if (j.version !== VERSION)
      throw new ModelFormatError(
        `ensemble version ${String(j.version)} is not supported (expected ${VERSION})`,
      );
    if (!Array.isArray(j.members)) throw new ModelFormatError('ensemble.members must be an array');
    return new Ensemble(j.members.map((m) => Sequential.fromJSON(m)));
  }
  return Sequential.fromJSON(j as SerializedModel);
}
