// Files under DATA_DIR. A finished file is fsynced, then renamed into place (and the rename made
// durable): a reader sees the old file or the new one, never half of one.
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileKeys } from './file-keys.js';

/**
 * The layout of DATA_DIR, in one place: local scratch (staging, a private Redis) and, with
 * STORAGE=local, the stored files at their fileKeys.
 */
export function dataPaths(dataDir: string) {
  const root = resolve(dataDir);
  return {
    root,
    staging: join(root, 'staging'),
    dataset: (id: string) => join(root, fileKeys.dataset(id)),
    datasetColumns: (id: string) => join(root, fileKeys.datasetColumns(id)),
    model: (id: string) => join(root, fileKeys.model(id)),
    checkpoint: (jobId: string) => join(root, fileKeys.checkpoint(jobId)),
    redis: join(root, 'redis'),
  };
}
export type DataPaths = ReturnType<typeof dataPaths>;

/** Moves a finished file into place atomically (same file system) and makes the rename durable. */
export async function moveIntoPlace(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const fh = await open(from, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(from, to);
  await syncDir(dirname(to));
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
