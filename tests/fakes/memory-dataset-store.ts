// A DatasetStore for unit tests: the real staging and file logic (src/storage/dataset-store.ts)
// over the in-memory record store and file store of this folder, so no Redis is needed.
import type { DatasetStore } from '../../src/domain/ports.js';
import type { Dataset } from '../../src/domain/schemas.js';
import { datasetStoreOver } from '../../src/storage/dataset-store.js';
import { createMemoryFileStore } from './memory-file-store.js';
import { createMemoryRecordStore } from './memory-records.js';

/** `dataDir` holds only the staging folder; records and files stay in memory (`files` to inspect). */
export function createMemoryDatasetStore(dataDir: string): DatasetStore & {
  files: ReturnType<typeof createMemoryFileStore>;
} {
  const files = createMemoryFileStore();
  const store = datasetStoreOver({ records: createMemoryRecordStore<Dataset>(), dataDir, files });
  return Object.assign(store, { files });
}
