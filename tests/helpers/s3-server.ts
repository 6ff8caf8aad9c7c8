// An S3-compatible server for the tests, started by the tests themselves: s3rver (a dev dependency)
// on a free port, keeping its objects in a temporary folder, with one bucket made ready. The
// settings it returns are what STORAGE=s3 with S3_* would give (as FileStoreSettings and as env).
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileStoreSettings } from '../../src/storage/file-store.js';

export interface S3Server {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  bucket: string;
  /** Settings of a FileStore on this server's bucket, under a key prefix. */
  settings(prefix?: string): Extract<FileStoreSettings, { kind: 's3' }>;
  /** The same as environment variables (for child processes). */
  env(prefix?: string): Record<string, string>;
  stop(): Promise<void>;
}

// s3rver's fixed development credentials: any request signed with them is accepted.
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startS3Server(bucket = 'backprop-test'): Promise<S3Server> {
  let S3rver: typeof import('s3rver');
  try {
    S3rver = (await import('s3rver')).default;
  } catch (err) {
    throw new Error(
      `The S3 tests need the s3rver dev dependency, which could not be loaded (${String(err)}): run \`npm ci\`.`,
    );
  }
  const directory = mkdtempSync(join(tmpdir(), 'bp-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: CREDENTIALS,
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return {
    endpoint,
    bucket,
    settings: (prefix = '') => ({
      kind: 's3',
      bucket,
      prefix,
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: CREDENTIALS,
    }),
    env: (prefix = '') => ({
      STORAGE: 's3',
      S3_BUCKET: bucket,
      S3_PREFIX: prefix,
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    }),
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
