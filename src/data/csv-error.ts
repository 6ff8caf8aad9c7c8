// The one error of the CSV reader: what kind of problem, and the row (and column) where it is.

export type CsvErrorKind =
  | 'empty'
  | 'noRows'
  | 'width'
  | 'quoting'
  | 'notText'
  | 'header'
  | 'tooManyColumns'
  | 'tooManyRows'
  | 'lineTooLong'
  | 'options';

/** The oversize kinds; a caller answers these with 413 and the others with 422. */
export const CSV_SIZE_KINDS: ReadonlySet<CsvErrorKind> = new Set([
  'tooManyColumns',
  'tooManyRows',
  'lineTooLong',
]);

export class CsvError extends Error {
  override name = 'CsvError';
  constructor(
    readonly kind: CsvErrorKind,
    message: string,
    /** 1-based line number in the file; the header is line 1. */
    readonly row?: number,
    readonly column?: string,
  ) {
    super(message);
  }
}
