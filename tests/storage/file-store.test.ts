// The FileStore contract, run against both implementations, the local directory and an
// S3-compatible bucket (s3rver, started here), and against the in-memory fake of tests/fakes.
// Whatever the backend, a write is all or nothing and a missing key reads as null; the two real
// ones also stream large files through without holding them whole in memory.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createFileStore, fileStoreSettings, type FileStore } from '../../src/storage/file-store.js';
import { createMemoryFileStore } from '../fakes/memory-file-store.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';

const MiB = 1024 * 1024;

/** A deterministic stream of `total` bytes in 64 KiB chunks (byte i is i mod 251), made as it is read. */
function patternStream(total: number, failAfter?: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && sent >= failAfter) {
        this.destroy(new Error('the source broke off'));
        return;
      }
      if (sent >= total) return void this.push(null);
      const n = Math.min(64 * 1024, total - sent);
      const chunk = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) chunk[i] = (sent + i) % 251;
      sent += n;
      this.push(chunk);
    },
  });
}

async function sha256(stream: AsyncIterable<Uint8Array>): Promise<{ hex: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { hex: hash.digest('hex'), bytes };
}

/** Peak growth of the memory that holds Buffers and the JS heap while fn runs, sampled every 20 ms. */
async function peakMemoryGrowth(fn: () => Promise<void>): Promise<number> {
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  global.gc?.();
  const base = used();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, used())), 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, used()) - base;
}

const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));

let s3: S3Server;
const scratch = mkdtempSync(join(tmpdir(), 'bp-file-store-'));
beforeAll(async () => {
  s3 = await startS3Server();
}, 30_000);
afterAll(async () => {
  await s3?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const persistent: Array<{ name: string; make: (root: string) => FileStore }> = [
  { name: 'local directory', make: (root) => createFileStore({ kind: 'local', dir: join(scratch, root) }) },
  { name: 'S3 bucket (s3rver)', make: (root) => createFileStore(s3.settings(`${root}/`)) },
];
const backends = [...persistent, { name: 'memory fake (tests/fakes)', make: () => createMemoryFileStore() }];

describe.each(backends)('FileStore on a $name', ({ make }) => {
  let root = 0;
  const fresh = () => make(`store-${++root}`);

  it('when bytes or text are written, then they read back the same, and the size is returned', async () => {
    const files = fresh();
    expect(await files.write('models/m1.json', '{"a":1}')).toBe(7);
    expect(text(await files.readBytes('models/m1.json'))).toBe('{"a":1}');
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    expect(await files.write('checkpoints/j1.ckpt', bytes)).toBe(6);
    expect([...((await files.readBytes('checkpoints/j1.ckpt')) ?? [])]).toEqual([...bytes]);
    const stream = await files.openRead('models/m1.json');
    expect(stream).not.toBeNull();
    expect((await sha256(stream!)).bytes).toBe(7);
  });

  it('when a key is written again, then readers get the new content', async () => {
    const files = fresh();
    await files.write('datasets/d.csv', 'a,b\n1,2\n');
    await files.write('datasets/d.csv', 'a,b\n3,4\n');
    expect(text(await files.readBytes('datasets/d.csv'))).toBe('a,b\n3,4\n');
  });

  it('when a key does not exist, then reads give null and removing it is fine', async () => {
    const files = fresh();
    expect(await files.readBytes('models/none.json')).toBeNull();
    expect(await files.openRead('datasets/none.csv')).toBeNull();
    expect(await files.exists('datasets/none.csv')).toBe(false);
    await expect(files.remove('models/none.json')).resolves.toBeUndefined();
  });

  it('when a key is removed, then it reads as null and other keys stay', async () => {
    const files = fresh();
    await files.write('checkpoints/a.ckpt', 'A');
    await files.write('checkpoints/b.ckpt', 'B');
    expect(await files.exists('checkpoints/a.ckpt')).toBe(true);
    await files.remove('checkpoints/a.ckpt');
    expect(await files.readBytes('checkpoints/a.ckpt')).toBeNull();
    expect(await files.exists('checkpoints/a.ckpt')).toBe(false);
    expect(text(await files.readBytes('checkpoints/b.ckpt'))).toBe('B');
    expect(await files.exists('checkpoints/b.ckpt')).toBe(true);
  });

  it('when two stores have different roots (folder or key prefix), then neither sees the other’s files', async () => {
    const [one, two] = [fresh(), fresh()];
    await one.write('models/same.json', 'one');
    expect(await two.readBytes('models/same.json')).toBeNull();
  });

  it('when a streamed write fails half-way, then it rejects and the previous content is still whole', async () => {
    const files = fresh();
    await files.write('datasets/big.csv', 'the old content');
    // More than one S3 multipart part (8 MiB) arrives before the source fails.
    await expect(files.write('datasets/big.csv', patternStream(40 * MiB, 12 * MiB))).rejects.toThrow(
      /broke off/,
    );
    expect(text(await files.readBytes('datasets/big.csv'))).toBe('the old content');
  });

  it('when a local file is imported, then its content is stored under the key and the local file is gone', async () => {
    const files = fresh();
    const local = join(scratch, `staged-${root}.csv`);
    writeFileSync(local, 'x,y\n1,2\n');
    await files.importFile('datasets/imported.csv', local);
    expect(existsSync(local)).toBe(false);
    expect(text(await files.readBytes('datasets/imported.csv'))).toBe('x,y\n1,2\n');
  });
});

describe.each(persistent)('FileStore on a $name, with large files', ({ make }) => {
  let root = 0;
  const fresh = () => make(`large-${++root}`);

  it('when a 100 MiB file is written from a stream and read back as one, then it is intact and never held whole in memory', async () => {
    const files = fresh();
    const size = 100 * MiB;
    const expected = await sha256(patternStream(size));
    let written = 0;
    let read = { hex: '', bytes: 0 };
    const growth = await peakMemoryGrowth(async () => {
      written = await files.write('datasets/large.csv', patternStream(size));
      read = await sha256((await files.openRead('datasets/large.csv'))!);
    });
    expect(written).toBe(size);
    expect(read).toEqual(expected);
    // Held whole even once, the file alone would be 100 MiB. Streaming holds a few 8 MiB parts at a
    // time; the rest of the growth is garbage not yet collected and, for S3, the in-process server's
    // own buffers (measured 64 MiB for S3 here, including s3rver, under load).
    expect(growth).toBeLessThan(100 * MiB);
  }, 120_000);
});

describe('fileStoreSettings (STORAGE and S3_* from the environment)', () => {
  it('when nothing is set, then files are local under DATA_DIR', () => {
    expect(fileStoreSettings(loadConfig({ DATA_DIR: '/srv/bp' }))).toEqual({ kind: 'local', dir: '/srv/bp' });
  });

  it('when STORAGE=s3, then the bucket, prefix, region, endpoint, path style and credentials come from S3_*', () => {
    const config = loadConfig({
      STORAGE: 's3',
      S3_BUCKET: 'models',
      S3_PREFIX: 'bp/',
      S3_REGION: 'eu-west-3',
      S3_ENDPOINT: 'http://minio:9000',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'AKIA',
      S3_SECRET_ACCESS_KEY: 'secret',
    });
    expect(fileStoreSettings(config)).toEqual({
      kind: 's3',
      bucket: 'models',
      prefix: 'bp/',
      region: 'eu-west-3',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 'secret' },
    });
  });

  it('when S3 settings are incomplete, then the config is refused naming the variable', () => {
    expect(() => loadConfig({ STORAGE: 's3' })).toThrow(/S3_BUCKET: S3_BUCKET is required when STORAGE=s3/);
    expect(() => loadConfig({ STORAGE: 's3', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k' })).toThrow(
      /S3_SECRET_ACCESS_KEY/,
    );
    expect(() => loadConfig({ S3_ENDPOINT: 'not a url' })).toThrow(/S3_ENDPOINT/);
  });
});
