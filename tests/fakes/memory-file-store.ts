// An in-memory FileStore for unit tests: the same contract as the local directory and the S3
// bucket (tests/storage/file-store.test.ts runs one suite on all three), except that it holds
// each file whole in memory, so it is for small test files only.
import { readFile, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { FileStore } from '../../src/storage/file-store.js';

export function createMemoryFileStore(): FileStore & { readonly keys: () => string[] } {
  const files = new Map<string, Uint8Array>();
  return {
    keys: () => [...files.keys()].sort(),
    async write(key, body) {
      let bytes: Uint8Array;
      if (typeof body === 'string') bytes = Buffer.from(body, 'utf8');
      else if (body instanceof Uint8Array) bytes = Uint8Array.from(body);
      else {
        // Collected first and stored only once the stream has ended: a failed write changes nothing.
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
        bytes = Buffer.concat(chunks);
      }
      files.set(key, bytes);
      return bytes.length;
    },
    async importFile(key, localPath) {
      files.set(key, await readFile(localPath));
      await rm(localPath);
    },
    async readBytes(key) {
      const bytes = files.get(key);
      return bytes ? Uint8Array.from(bytes) : null;
    },
    async openRead(key) {
      const bytes = files.get(key);
      return bytes ? Readable.from([Buffer.from(bytes)]) : null;
    },
    async exists(key) {
      return files.has(key);
    },
    async remove(key) {
      files.delete(key);
    },
  };
}
