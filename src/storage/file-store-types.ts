// The FileStore interface and its settings, apart from the factory so its implementations can
// import them without a cycle.
import type { Readable } from 'node:stream';

/**
 * Files by key, e.g. `datasets/ds_1.csv` (keys use `/` and never start with it). Every write is all
 * or nothing: a reader sees the old content or the new, never part of one, and a failed write
 * leaves the old content (or nothing) in place.
 */
export interface FileStore {
  /** Writes body under key; a stream is written as it arrives, never held whole. Resolves with its size in bytes. */
  write(key: string, body: Readable | Uint8Array | string): Promise<number>;
  /** Takes a finished local file in under key; the local file is gone afterwards. */
  importFile(key: string, localPath: string): Promise<void>;
  /** The whole content (for small files: models, checkpoints), or null when there is no such key. */
  readBytes(key: string): Promise<Uint8Array | null>;
  /** The content as a stream (for datasets), or null when there is no such key. */
  openRead(key: string): Promise<Readable | null>;
  /** Whether key exists now (a metadata look-up: no content is read). */
  exists(key: string): Promise<boolean>;
  /** Removes key; a missing key is fine. */
  remove(key: string): Promise<void>;
}

/** Where files live: plain data (it crosses into worker threads). */
export type FileStoreSettings =
  | { kind: 'local'; dir: string }
  | {
      kind: 's3';
      bucket: string;
      /** Prepended to every key, e.g. `backprop/` (may be empty). */
      prefix: string;
      region: string;
      /** An S3-compatible server's URL; unset means AWS itself. */
      endpoint?: string;
      /** Bucket in the path (http://host/bucket/key), as most S3-compatible servers want. */
      forcePathStyle: boolean;
      /** Unset: the AWS SDK's default credential chain (environment, profile, instance role). */
      credentials?: { accessKeyId: string; secretAccessKey: string };
    };
