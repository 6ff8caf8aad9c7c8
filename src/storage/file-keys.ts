// The key of each kind of stored file, in one place (the FileStore's layout, also DATA_DIR's).
/** The keys of each kind of file, in one place. */
export const fileKeys = {
  dataset: (id: string) => `datasets/${id}.csv`,
  model: (id: string) => `models/${id}.json`,
  checkpoint: (jobId: string) => `checkpoints/${jobId}.ckpt`,
  /** Part `index` of a batch prediction's result CSV (zero-padded, so a listing sorts in order). */
  batchPart: (id: string, index: number) =>
    `batch-predictions/${id}/part-${String(index).padStart(6, '0')}.csv`,
};
