// The FileStore on a local directory (DATA_DIR): key `datasets/ds_1.csv` is the file
// DATA_DIR/datasets/ds_1.csv. Writes go to a temporary name in the same folder, are fsynced, then
// renamed (see files.ts), so a reader sees the old file or the new one, never half of one.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileStore } from './file-store-types.js';
import { moveIntoPlace } from './files.js';

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** A FileStore whose keys are paths under dir. */
export function createLocalFileStore(dir: string): FileStore {
  const root = resolve(dir);
  const pathOf = (key: string) => {
    const path = resolve(root, key);
    // Keys come from our own id schemes; this keeps a bad one from ever leaving the directory.
    if (!path.startsWith(root + sep)) throw new Error(`file key ${JSON.stringify(key)} leaves the store`);
    return path;
  };

  return {
    async write(key, body) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = join(dirname(path), `.${randomUUID()}.tmp`);
      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, callback) {
          size += chunk.length;
          callback(null, chunk);
        },
      });
      const source = body instanceof Readable ? body : Readable.from([Buffer.from(body)]);
      try {
        await pipeline(source, counter, createWriteStream(tmp));
        await moveIntoPlace(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      return size;
    },

    importFile: (key, localPath) => moveIntoPlace(localPath, pathOf(key)),

    async readBytes(key) {
      try {
        return await readFile(pathOf(key));
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    },

    async openRead(key) {
      // Opened here so a missing file is null now rather than an error event later.
      try {
        return (await open(pathOf(key), 'r')).createReadStream();
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    },

    async exists(key) {
      try {
        await stat(pathOf(key));
        return true;
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
    },

    remove: (key) => rm(pathOf(key), { force: true }),
  };
}
