// DatasetStore: an upload is staged on the local disk (DATA_DIR/staging, so it can be parsed before
// it is accepted), then stored as a file of the configured FileStore; the metadata is a Redis
// record (see redis.ts).
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TooLargeError } from '../domain/errors.js';
import type { DatasetStore } from '../domain/ports.js';
import type { Dataset } from '../domain/schemas.js';
import { fileKeys, stagedColumnsPath } from './file-keys.js';
import type { FileStore } from './file-store.js';
import { dataPaths } from './files.js';
import { createRecordStore, type RecordStore } from './record-store.js';
import { redisKeys, type Redis } from './redis.js';

/**
 * The one count of an upload's bytes against its limit: a pass-through that fails with 413
 * (TooLargeError) as soon as more than maxBytes went through; `bytes()` is the count so far.
 */
function byteLimit(maxBytes: number): { counter: Transform; bytes: () => number } {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      bytes += chunk.length;
      if (bytes > maxBytes) callback(TooLargeError.upload(maxBytes));
      else callback(null, chunk);
    },
  });
  return { counter, bytes: () => bytes };
}

/**
 * Writes a stream to a fresh file in the staging folder, counting its bytes; past maxBytes it
 * rejects with 413 (TooLargeError). Nothing is left behind on failure.
 */
async function writeStaged(
  stagingDir: string,
  body: Readable,
  maxBytes = Infinity,
): Promise<{ path: string; sizeBytes: number }> {
  const path = join(stagingDir, `${randomUUID()}.csv`);
  const limit = byteLimit(maxBytes);
  try {
    await pipeline(body, limit.counter, createWriteStream(path));
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return { path, sizeBytes: limit.bytes() };
}

/** Reads a stream to its end, keeping nothing, under the same count as writeStaged. */
async function drainCounted(body: Readable, maxBytes: number): Promise<number> {
  const limit = byteLimit(maxBytes);
  const sink = new Writable({ write: (_chunk, _enc, callback) => callback() });
  await pipeline(body, limit.counter, sink);
  return limit.bytes();
}

/** The DatasetStore of a deployment: metadata records in Redis under `prefix`. */
export function createDatasetStore(deps: {
  redis: Redis;
  prefix: string;
  dataDir: string;
  files: FileStore;
}): DatasetStore {
  const keys = redisKeys(deps.prefix);
  const records = createRecordStore<Dataset>({
    redis: deps.redis,
    recordKey: keys.dataset,
    indexKey: keys.datasets,
  });
  return datasetStoreOver({ records, dataDir: deps.dataDir, files: deps.files });
}

/**
 * A DatasetStore over any record store for the metadata: staging under `dataDir`/staging, files in
 * `files`. A record never points at a missing file: the file is stored first and removed last.
 */
export function datasetStoreOver(deps: {
  records: RecordStore<Dataset>;
  dataDir: string;
  files: FileStore;
}): DatasetStore {
  const { records } = deps;
  const paths = dataPaths(deps.dataDir);
  mkdirSync(paths.staging, { recursive: true });

  return {
    stage: (body, maxBytes) => writeStaged(paths.staging, body, maxBytes),

    drain: drainCounted,

    async stageStored(id) {
      const file = await deps.files.openRead(fileKeys.dataset(id));
      return file ? (await writeStaged(paths.staging, file)).path : null;
    },

    async discard(path) {
      await rm(path, { force: true });
      await rm(stagedColumnsPath(path), { force: true });
    },

    async save(tenant, dataset, stagedFile) {
      // Files first, then the record: a record never points at a missing file. The typed columns
      // may be absent (a job then parses the CSV), the CSV never.
      await deps.files.importFile(fileKeys.dataset(dataset.id), stagedFile);
      try {
        await importColumns(dataset.id, stagedFile);
        await records.put(tenant, dataset);
      } catch (err) {
        await deps.files.remove(fileKeys.dataset(dataset.id));
        await deps.files.remove(fileKeys.datasetColumns(dataset.id));
        throw err;
      }
    },

    async update(tenant, dataset, reread) {
      // A job compares the columns' stamp with its own read format, so columns written before a
      // failed record update are never read under the wrong format.
      if (reread) await importColumns(dataset.id, reread);
      await records.put(tenant, dataset);
    },

    get: (tenant, id) => records.get(tenant, id),
    list: (tenant, query) => records.list(tenant, query),

    async remove(tenant, id) {
      // Record first: once it is gone nobody can reach the file, so a crash leaves only an orphan file.
      const removed = await records.remove(tenant, id);
      if (removed) {
        await deps.files.remove(fileKeys.datasetColumns(id));
        await deps.files.remove(fileKeys.dataset(id));
      }
      return removed;
    },
  };

  /** Stores the typed columns kept beside a staged file, when the describer kept any. */
  async function importColumns(id: string, stagedFile: string): Promise<void> {
    const columns = stagedColumnsPath(stagedFile);
    if (existsSync(columns)) await deps.files.importFile(fileKeys.datasetColumns(id), columns);
  }
}
