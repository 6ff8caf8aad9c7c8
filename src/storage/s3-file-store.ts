// The FileStore on an S3-compatible bucket (AWS S3, MinIO, Ceph, R2...) through the AWS SDK v3. A
// single PUT or a completed multipart upload replaces an object atomically, which gives the same
// "old or new, never half" guarantee as the local store's rename. Streams are uploaded in parts of
// PART_BYTES with at most UPLOAD_QUEUE parts in memory, and downloads are streamed as they arrive.
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { FileStore, FileStoreSettings } from './file-store-types.js';

/** Multipart part size: S3's minimum is 5 MiB; 8 MiB keeps a 100 MB dataset to 13 parts. */
const PART_BYTES = 8 * 1024 * 1024;
/** Parts uploaded at once, so a stream holds at most this many parts in memory. */
const UPLOAD_QUEUE = 2;

const isMissing = (err: unknown) =>
  err instanceof NoSuchKey ||
  err instanceof NotFound ||
  (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404);

/** fn's result, or `missing` when S3 answers that there is no such key. */
async function unlessMissing<T, M>(fn: () => Promise<T>, missing: M): Promise<T | M> {
  try {
    return await fn();
  } catch (err) {
    if (isMissing(err)) return missing;
    throw err;
  }
}

/** A FileStore on the bucket and key prefix of these settings. */
export function createS3FileStore(settings: Extract<FileStoreSettings, { kind: 's3' }>): FileStore {
  const client = new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials: settings.credentials,
  });
  const Bucket = settings.bucket;
  const keyOf = (key: string) => `${settings.prefix}${key}`;

  async function write(key: string, body: Readable | Uint8Array | string): Promise<number> {
    let size = 0;
    let sourceError: unknown = null;
    let payload: Readable | Uint8Array | string = body;
    if (body instanceof Readable) {
      const counter = new Transform({
        transform(chunk: Buffer, _enc, callback) {
          size += chunk.length;
          callback(null, chunk);
        },
      });
      // A source that fails mid-way fails the upload, which is then aborted: nothing is stored.
      body.once('error', (err) => {
        sourceError = err;
        counter.destroy(err);
      });
      payload = body.pipe(counter);
    } else {
      size = Buffer.byteLength(body);
    }
    const upload = new Upload({
      client,
      params: { Bucket, Key: keyOf(key), Body: payload },
      partSize: PART_BYTES,
      queueSize: UPLOAD_QUEUE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      // The source's own error says more than whatever the aborted upload answered.
      throw sourceError ?? err;
    }
    return size;
  }

  return {
    write,

    async importFile(key, localPath) {
      await write(key, createReadStream(localPath));
      await rm(localPath, { force: true });
    },

    readBytes: (key) =>
      unlessMissing(async () => {
        const res = await client.send(new GetObjectCommand({ Bucket, Key: keyOf(key) }));
        return res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
      }, null),

    openRead: (key) =>
      unlessMissing(async () => {
        const res = await client.send(new GetObjectCommand({ Bucket, Key: keyOf(key) }));
        return res.Body instanceof Readable ? res.Body : Readable.from([]);
      }, null),

    exists: (key) =>
      unlessMissing(async () => {
        await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(key) }));
        return true;
      }, false),

    async remove(key) {
      // DeleteObject of a missing key succeeds: S3 deletes are idempotent.
      await client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(key) }));
    },
  };
}
