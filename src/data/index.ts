// The tabular data path: CSV → typed columns → summaries, splits and the fitted encoder.
export { readCsv, CsvError, CSV_SIZE_KINDS, type CsvLimits, type CsvErrorKind } from './csv.js';
export { writeCsv, neutralizeCell } from './csv-write.js';
export {
  describeTable,
  isMissingCell,
  classList,
  type Table,
  type Column,
  type ColumnType,
  type NumericColumn,
  type CategoricalColumn,
  type ColumnSummary,
} from './schema.js';
export { kFolds, splitRows, targetStrata, type Split, type SplitOptions } from './split.js';
export {
  fitEncoder,
  encoderFromJSON,
  Encoder,
  EncoderError,
  RowValueError,
  EncoderJSONSchema,
  type EncoderJSON,
  type EncoderOptions,
  type Encoded,
  SCALINGS,
  UNKNOWN_CATEGORY_POLICIES,
  type Scaling,
  type UnknownCategoryPolicy,
  type Task,
} from './encoder.js';
