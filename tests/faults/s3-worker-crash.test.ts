// STORAGE=s3: the API and each worker keep datasets, models and checkpoints in one S3-compatible
// bucket (s3rver, started here) and share no folder. A worker SIGKILLed mid-training leaves its
// checkpoint in the bucket; another worker, on another DATA_DIR, resumes from it and the model
// ends up in the bucket, where the API reads it to predict.
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { epochs1toN, longRegression, runnerOf, startStack, terminal, type Stack } from './stack.js';

let s3: S3Server;
let stack: Stack;
let client: S3Client;
const PREFIX = 'crash-test/';
const workerDirs: string[] = [];

/** The keys under the test's prefix, without it. */
async function keys(under: string): Promise<string[]> {
  const res = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${PREFIX}${under}` }));
  return (res.Contents ?? []).map((o) => o.Key!.slice(PREFIX.length));
}

/** A worker with a DATA_DIR of its own: nothing on disk is shared with the API or other workers. */
async function isolatedWorker(name: string) {
  const dir = mkdtempSync(join(tmpdir(), `bp-s3-${name}-`));
  workerDirs.push(dir);
  return stack.startWorker(name, { env: { DATA_DIR: dir } });
}

beforeAll(async () => {
  s3 = await startS3Server();
  // This file is about files, not Redis durability: fsync once a second, as docker-compose.yml does,
  // keeps a busy disk from slowing every Redis command past the API's 800 ms bound.
  stack = await startStack({ ...s3.env(PREFIX), CHECKPOINT_INTERVAL_MS: '0' }, { appendfsync: 'everysec' });
  client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3.settings().credentials,
  });
}, 60_000);
afterAll(async () => {
  client?.destroy();
  await stack?.close();
  await s3?.stop();
  for (const dir of workerDirs) rmSync(dir, { recursive: true, force: true });
});

const EPOCHS = 150;

describe('a worker killed mid-training, with the S3 backend', () => {
  it('when the worker running a job is SIGKILLed, then a worker on another machine resumes it from the checkpoint in the bucket', async () => {
    const friedman = await stack.uploadFixture('friedman1');
    // The CSV and the typed columns read at upload.
    expect(await keys('datasets/')).toEqual([`datasets/${friedman}.cols`, `datasets/${friedman}.csv`]);
    // The API kept nothing of the dataset on its own disk.
    expect(existsSync(join(stack.dataDir, 'datasets'))).toBe(false);

    const pair = [await isolatedWorker('worker-a'), await isolatedWorker('worker-b')];
    const job = await stack.submitRetrying(longRegression(friedman, EPOCHS));
    const { runner: first } = await runnerOf(pair, job.id, 1);
    await stack.waitFor(job.id, (j) => j.progress.epoch >= 5);
    expect(await keys('checkpoints/')).toEqual([`checkpoints/${job.id}.ckpt`]);
    first.signal('SIGKILL');
    await first.exited();

    const done = await stack.waitFor(job.id, terminal, 90_000);
    expect({ status: done.status, error: done.error, attempts: done.attempts.length }).toEqual({
      status: 'succeeded',
      error: null,
      attempts: 2,
    });
    expect(done.history.map((e) => e.epoch)).toEqual(epochs1toN(EPOCHS));
    expect(done.attempts.map((a) => a.outcome)).toEqual(['workerCrashed', null]);
    expect(done.attempts[1].resumedFromEpoch).toBeGreaterThanOrEqual(5);

    // The model is an object in the bucket; the checkpoint is gone; no worker wrote a stored file to disk.
    expect(await keys('models/')).toEqual([`models/${done.modelId}.json`]);
    expect(await keys('checkpoints/')).toEqual([]);
    for (const dir of workerDirs) {
      expect(readdirSync(dir).filter((f) => ['datasets', 'models', 'checkpoints'].includes(f))).toEqual([]);
    }
    const artifact = await client.send(
      new GetObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}models/${done.modelId}.json` }),
    );
    expect(JSON.parse(await artifact.Body!.transformToString())).toHaveProperty('network');

    // The API loads that model from the bucket to predict.
    const predicted = await stack.request('POST', `/v1/models/${done.modelId}/predict`, {
      rows: [{ x1: 0.5, x2: 0.5, x3: 0.5, x4: 0.5, x5: 0.5, x6: 0.5, x7: 0.5, x8: 0.5, x9: 0.5, x10: 0.5 }],
    });
    expect(predicted.status).toBe(200);
    expect(typeof predicted.body.predictions[0].value).toBe('number');
  }, 180_000);
});
