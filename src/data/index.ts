// The tabular data path: CSV → typed columns → summaries, splits and the fitted encoder.
export {
  readCsv,
  readCsvTail,
  CsvError,
  CSV_SIZE_KINDS,
  type CsvLimits,
  type CsvErrorKind,
  type CsvOptions,
  type CsvFormat,
  type ReadHint,
} from './csv.js';
export { mergeTables } from './csv-merge.js';
export { charsetName, DELIMITERS, type Delimiter } from './dialect.js';
export {
  DEFAULT_MISSING_VALUES,
  isMissingCell,
  parseBooleanCell,
  parseDateCell,
  parseNumberCell,
  type DecimalMark,
} from './cells.js';
export { writeCsv, writeCsvRows, neutralizeCell } from './csv-write.js';
export { readCsvRecords, type CsvRecord } from './csv-records.js';
export { encodeColumns, decodeColumns } from './columns-file.js';
export {
  describeTable,
  tableWarnings,
  classList,
  COLUMN_TYPES,
  EXCLUDING_WARNINGS,
  MAX_INTEGER_CODES,
  MAX_COUNTED_VALUES,
  RARE_CLASS_ROWS,
  type Table,
  type Column,
  type ColumnType,
  type ColumnWarning,
  type WarningCode,
  type NumericColumn,
  type CategoricalColumn,
  type BooleanColumn,
  type DatetimeColumn,
  type ColumnSummary,
} from './schema.js';
export { kFolds, splitRows, targetStrata, type Split, type SplitOptions } from './split.js';
export {
  fitEncoder,
  Encoder,
  EncoderError,
  RowValueError,
  EncoderJSONSchema,
  type EncoderJSON,
  type EncoderOptions,
  type Encoded,
  SCALINGS,
  UNKNOWN_CATEGORY_POLICIES,
  type RowWarning,
  type Scaling,
  type UnknownCategoryPolicy,
  type Task,
} from './encoder.js';
