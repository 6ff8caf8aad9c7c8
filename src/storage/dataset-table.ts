// The table a training job reads: the typed columns stored at upload, so the text is not parsed
// twice, when they were read with the job's own format; otherwise (a dataset stored before typed
// columns existed, a PATCH since the job was submitted, a job's own columnTypes) the CSV again.
import { decodeColumns, readCsv, type CsvLimits, type CsvOptions, type Table } from '../data/index.js';
import { fileKeys } from './file-keys.js';
import type { FileStore } from './file-store-types.js';

/** The read format a job carries (TrainingSpec.csv), as far as equality is concerned. */
type ReadFormat = CsvOptions & { missingValues?: string[] | null };

/** A dataset's table and where it came from. */
export interface LoadedTable {
  table: Table;
  /** `columns`: the stored typed columns; `csv`: the CSV, parsed now. */
  source: 'columns' | 'csv';
}

/** One canonical JSON text of a read format: keys sorted at every level, absent fields as their defaults. */
function formatKey(f: ReadFormat): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return JSON.stringify(
    canonical({
      delimiter: f.delimiter,
      decimal: f.decimal,
      charset: f.charset,
      missingValues: f.missingValues ?? null,
      columnTypes: f.columnTypes ?? {},
    }),
  );
}

/**
 * The table of dataset `datasetId` read with `format` (the job's TrainingSpec.csv; undefined for
 * jobs from before formats were recorded, which read the CSV with the defaults): from its typed
 * columns when they were stored with the same format, else parsed from the CSV. Null when the
 * dataset's CSV is gone. Rejects with the data module's CsvError when the CSV is not a usable table.
 */
export async function loadDatasetTable(
  files: FileStore,
  datasetId: string,
  format: ReadFormat | undefined,
  limits: CsvLimits,
): Promise<LoadedTable | null> {
  if (format) {
    const bytes = await files.readBytes(fileKeys.datasetColumns(datasetId));
    if (bytes) {
      try {
        const { table, stamp } = decodeColumns(bytes);
        if (formatKey(stamp as ReadFormat) === formatKey(format)) return { table, source: 'columns' };
      } catch {
        // A damaged or older columns file: the CSV is the truth.
      }
    }
  }
  const file = await files.openRead(fileKeys.dataset(datasetId));
  if (!file) return null;
  return { table: await readCsv(file, limits, format ?? {}), source: 'csv' };
}
