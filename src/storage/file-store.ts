// Stored files (dataset CSVs, model artifacts, checkpoints) by key, behind one small interface with
// two implementations: a local directory (the default) and an S3-compatible bucket, so the API and
// the workers need no shared volume. Which one, and where, comes from the config (STORAGE, S3_*);
// the settings are plain data, so a training thread builds its own store from the same settings.
import type { Config } from '../config.js';
import type { FileStore, FileStoreSettings } from './file-store-types.js';
import { createLocalFileStore } from './local-file-store.js';

export type { FileStore, FileStoreSettings };

/** The file store the config asks for (STORAGE=local under DATA_DIR, or STORAGE=s3 with S3_*). */
export function fileStoreSettings(config: Config): FileStoreSettings {
  if (config.STORAGE === 'local') return { kind: 'local', dir: config.DATA_DIR };
  const credentials =
    config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
      ? { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY }
      : undefined;
  return {
    kind: 's3',
    bucket: config.S3_BUCKET ?? '',
    prefix: config.S3_PREFIX,
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    credentials,
  };
}

/**
 * A FileStore for these settings. The S3 one starts loading the AWS SDK now, in the background:
 * a local deployment never pays for importing it, and an S3 one has it loaded long before the
 * first file (a worker must not stall its event loop on that import mid-job, holding a lock).
 */
export function createFileStore(settings: FileStoreSettings): FileStore {
  if (settings.kind === 'local') return createLocalFileStore(settings.dir);
  const loaded = import('./s3-file-store.js').then((m) => m.createS3FileStore(settings));
  loaded.catch(() => undefined); // reported by the first call that needs it
  return {
    write: async (key, body) => (await loaded).write(key, body),
    importFile: async (key, localPath) => (await loaded).importFile(key, localPath),
    readBytes: async (key) => (await loaded).readBytes(key),
    openRead: async (key) => (await loaded).openRead(key),
    exists: async (key) => (await loaded).exists(key),
    remove: async (key) => (await loaded).remove(key),
  };
}
