// loadDatasetTable: a dataset's typed columns, stored at upload and rewritten by a PATCH, are read
// only under the read format they were made with; anything else parses the CSV.
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { readCsv } from '../../src/data/index.js';
import { createDatasetService, datasetUsers } from '../../src/domain/datasets.js';
import type { DatasetService } from '../../src/domain/services.js';
import { createCsvDescriber } from '../../src/storage/csv-describer.js';
import { createDatasetStore } from '../../src/storage/dataset-store.js';
import { loadDatasetTable } from '../../src/storage/dataset-table.js';
import { fileKeys } from '../../src/storage/file-keys.js';
import { createRedisJobStore } from '../../src/storage/job-store.js';
import { createLocalFileStore } from '../../src/storage/local-file-store.js';
import { createRedis, type Redis } from '../../src/storage/redis.js';
import { createFileStore } from '../../src/storage/file-store.js';
import { startS3Server } from '../helpers/s3-server.js';
import { fixture } from '../worker/harness.js';

const config = loadConfig({ REDIS_PREFIX: `test-dstable-${randomUUID()}`, LOG_LEVEL: 'silent' });
const LIMITS = { maxColumns: 100, maxRows: 100_000, maxLineBytes: 100_000 };
let redis: Redis;
let dataDir: string;
let datasets: DatasetService;
let describer: ReturnType<typeof createCsvDescriber>;
const files = () => createLocalFileStore(dataDir);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'bp-dstable-'));
  redis = createRedis(config.REDIS_URL, 'api');
  const store = createDatasetStore({ redis, prefix: config.REDIS_PREFIX, dataDir, files: files() });
  describer = createCsvDescriber();
  datasets = createDatasetService({
    store,
    describer,
    limits: { MAX_UPLOAD_BYTES: 1e7, MAX_COLUMNS: 100, MAX_ROWS: 100_000, MAX_LINE_BYTES: 100_000 },
    users: datasetUsers({ jobs: createRedisJobStore({ redis, prefix: config.REDIS_PREFIX }) }),
  });
});
afterAll(async () => {
  await describer?.close();
  const keys = await redis.keys(`${config.REDIS_PREFIX}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis?.quit();
  await rm(dataDir, { recursive: true, force: true });
});

describe('loadDatasetTable', () => {
  it('when read with the format recorded at upload, then the table is the stored columns, equal to parsing the CSV', async () => {
    const ds = await datasets.create('t1', { name: 'loans', body: createReadStream(fixture('loans')) });
    const loaded = await loadDatasetTable(files(), ds.id, ds.format, LIMITS);
    expect(loaded?.source).toBe('columns');
    const parsed = await readCsv(createReadStream(fixture('loans')), LIMITS, ds.format);
    expect(loaded!.table.names).toEqual(parsed.names);
    expect(loaded!.table.rowCount).toBe(parsed.rowCount);
    expect(loaded!.table.warnings).toEqual(parsed.warnings);
    expect(loaded!.table.columns).toEqual(parsed.columns);
    // Nothing is left behind in staging: the columns went with the CSV.
    expect(readdirSync(join(dataDir, 'staging'))).toEqual([]);
  });

  it('when the dataset is re-read by a PATCH, then its columns are rewritten, and a job submitted before reads the CSV with its own format', async () => {
    const ds = await datasets.create('t1', { name: 'loans', body: createReadStream(fixture('loans')) });
    const before = ds.format;
    const patched = await datasets.update('t1', ds.id, { columnTypes: { age: 'categorical' } });
    const now = await loadDatasetTable(files(), ds.id, patched.format, LIMITS);
    expect(now?.source).toBe('columns');
    expect(now!.table.columns[0]).toMatchObject({ name: 'age', type: 'categorical' });
    const old = await loadDatasetTable(files(), ds.id, before, LIMITS);
    expect(old?.source).toBe('csv');
    expect(old!.table.columns[0]).toMatchObject({ name: 'age', type: 'numeric' });
    // A job's own columnTypes differ from the dataset's: the CSV, read its way.
    const own = await loadDatasetTable(
      files(),
      ds.id,
      { ...before, columnTypes: { region: 'categorical', income: 'categorical' } },
      LIMITS,
    );
    expect(own?.source).toBe('csv');
    expect(own!.table.columns[1]).toMatchObject({ name: 'income', type: 'categorical' });
  });

  it('when the columns file is missing or damaged, then the CSV is parsed; when the dataset is deleted, both files go', async () => {
    const ds = await datasets.create('t1', { name: 'iris', body: createReadStream(fixture('iris')) });
    const store = files();
    await store.write(fileKeys.datasetColumns(ds.id), new Uint8Array([1, 2, 3]));
    expect((await loadDatasetTable(store, ds.id, ds.format, LIMITS))?.source).toBe('csv');
    await store.remove(fileKeys.datasetColumns(ds.id));
    expect((await loadDatasetTable(store, ds.id, ds.format, LIMITS))?.source).toBe('csv');
    expect((await loadDatasetTable(store, ds.id, undefined, LIMITS))?.source).toBe('csv');
    const again = await datasets.create('t1', { name: 'iris', body: createReadStream(fixture('iris')) });
    await datasets.remove('t1', again.id);
    expect(existsSync(join(dataDir, fileKeys.dataset(again.id)))).toBe(false);
    expect(existsSync(join(dataDir, fileKeys.datasetColumns(again.id)))).toBe(false);
    expect(await loadDatasetTable(store, again.id, again.format, LIMITS)).toBeNull();
  });
});

describe('loadDatasetTable on an S3-compatible store', () => {
  it('when a dataset is uploaded, patched and deleted with STORAGE=s3, then its columns are stored, replaced and removed in the bucket', async () => {
    const s3 = await startS3Server();
    const s3Files = createFileStore(s3.settings(`t-${randomUUID()}/`));
    const s3Describer = createCsvDescriber();
    try {
      const store = createDatasetStore({ redis, prefix: config.REDIS_PREFIX, dataDir, files: s3Files });
      const service = createDatasetService({
        store,
        describer: s3Describer,
        limits: { MAX_UPLOAD_BYTES: 1e7, MAX_COLUMNS: 100, MAX_ROWS: 100_000, MAX_LINE_BYTES: 100_000 },
        users: datasetUsers({ jobs: createRedisJobStore({ redis, prefix: config.REDIS_PREFIX }) }),
      });
      const ds = await service.create('t1', { name: 'loans', body: createReadStream(fixture('loans')) });
      const first = await loadDatasetTable(s3Files, ds.id, ds.format, LIMITS);
      expect(first?.source).toBe('columns');
      expect(first!.table.columns).toEqual(
        (await readCsv(createReadStream(fixture('loans')), LIMITS, ds.format)).columns,
      );
      const patched = await service.update('t1', ds.id, { columnTypes: { age: 'categorical' } });
      const now = await loadDatasetTable(s3Files, ds.id, patched.format, LIMITS);
      expect(now?.source).toBe('columns');
      expect(now!.table.columns[0].type).toBe('categorical');
      await service.remove('t1', ds.id);
      expect(await s3Files.readBytes(fileKeys.datasetColumns(ds.id))).toBeNull();
      expect(await s3Files.readBytes(fileKeys.dataset(ds.id))).toBeNull();
    } finally {
      await s3Describer.close();
      await s3.stop();
    }
  });
});
