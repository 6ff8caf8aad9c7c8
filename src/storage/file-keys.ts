// The key of each kind of stored file, in one place (the FileStore's layout, also DATA_DIR's).
/** The keys of each kind of file, in one place. */
export const fileKeys = {
  dataset: (id: string) => `datasets/${id}.csv`,
  /** The dataset's typed columns as read at upload (or at its last PATCH): see data/columns-file.ts. */
  datasetColumns: (id: string) => `datasets/${id}.cols`,
  model: (id: string) => `models/${id}.json`,
  checkpoint: (jobId: string) => `checkpoints/${jobId}.ckpt`,
  /** Part `index` of a batch prediction's result CSV (zero-padded, so a listing sorts in order). */
  batchPart: (id: string, index: number) =>
    `batch-predictions/${id}/part-${String(index).padStart(6, '0')}.csv`,
};

/** Where the typed columns of a staged upload are written, beside it, until the DatasetStore stores both. */
export const stagedColumnsPath = (stagedFile: string) => `${stagedFile}.cols`;
