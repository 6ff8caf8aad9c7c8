// The training thread's dataset cache: a table is loaded once per dataset and read settings, its
// prepared data once per DataSettings, entries go least recently used first when the byte bound is
// reached, and data taken from the cache equals data prepared afresh.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCsv, type CsvFormat, type Table } from '../../src/data/index.js';
import { resolveSpec } from '../../src/domain/jobs.js';
import { TrainingSpecInputSchema, type TrainingSpec } from '../../src/domain/schemas.js';
import { dataSettings, prepareData } from '../../src/domain/training.js';
import { loadConfig } from '../../src/config.js';
import { createDatasetCache } from '../../src/worker/dataset-cache.js';
import { datasetOf, FIXTURES } from '../helpers/trained-model.js';

const LIMITS = { maxColumns: 100, maxRows: 100_000, maxLineBytes: 100_000 };
const READ = { csv: {}, limits: LIMITS };
let iris: Table & { format: CsvFormat };

const irisSpec = (training: Record<string, unknown> = {}, preprocessing: Record<string, unknown> = {}) =>
  resolveSpec(
    TrainingSpecInputSchema.parse({ datasetId: 'ds_iris', target: 'species', training, preprocessing }),
    datasetOf(iris, 'ds_iris', 'iris'),
    loadConfig({}),
  );

/** A loader that counts its calls and parses iris afresh each time. */
function counted() {
  const loader = {
    calls: 0,
    load: async () => {
      loader.calls += 1;
      return readCsv(createReadStream(join(FIXTURES, 'iris.csv')), LIMITS);
    },
  };
  return loader;
}

beforeAll(async () => {
  iris = await readCsv(createReadStream(join(FIXTURES, 'iris.csv')), LIMITS);
});

describe('createDatasetCache', () => {
  it('when the same dataset is read with the same settings, then it is loaded once; other settings load again', async () => {
    const cache = createDatasetCache(64 * 1024 * 1024);
    const loader = counted();
    const first = await cache.table('ds_1', READ, loader.load);
    expect(await cache.table('ds_1', READ, loader.load)).toBe(first);
    expect(loader.calls).toBe(1);
    await cache.table('ds_1', { csv: { delimiter: ',' }, limits: LIMITS }, loader.load);
    await cache.table('ds_2', READ, loader.load);
    await cache.table('ds_1', { csv: {}, limits: { ...LIMITS, maxRows: 1000 } }, loader.load);
    expect(loader.calls).toBe(4);
    expect(cache.stats().entries).toBe(4);
  });

  it('when prepared data is asked for twice with equal settings, then it is made once and equals a fresh preparation', async () => {
    const cache = createDatasetCache(64 * 1024 * 1024);
    const table = await cache.table('ds_1', READ, counted().load);
    const spec = irisSpec();
    let made = 0;
    const make = (s: TrainingSpec) => () => {
      made += 1;
      return prepareData(table, dataSettings(s));
    };
    const first = cache.data(table, dataSettings(spec), make(spec));
    const again = cache.data(table, dataSettings(irisSpec()), make(spec));
    expect(again).toBe(first);
    expect(made).toBe(1);
    // Cached data is what a new preparation gives, to the bit.
    const fresh = prepareData(table, dataSettings(spec));
    expect(first.train.x).toEqual(fresh.train.x);
    expect(first.test?.y).toEqual(fresh.test?.y);
    expect(first.encoder.toJSON()).toEqual(fresh.encoder.toJSON());

    // Another split seed or another scaling is other data.
    const seeded = irisSpec({ seed: 7 });
    const minmax = irisSpec({}, { scaling: 'minmax' });
    const bySeed = cache.data(table, dataSettings(seeded), make(seeded));
    const byScaling = cache.data(table, dataSettings(minmax), make(minmax));
    expect(made).toBe(3);
    expect(bySeed.train.kept).not.toEqual(first.train.kept);
    expect(byScaling.encoder.toJSON()).not.toEqual(first.encoder.toJSON());
  });

  it('when the bound is reached, then the least recently used entry goes, and one larger than the bound is never kept', async () => {
    const loader = counted();
    const probe = createDatasetCache(64 * 1024 * 1024);
    await probe.table('ds_a', READ, loader.load);
    const oneTable = probe.stats().bytes;
    // iris: four Float64Array columns of 150 rows and 150 short strings.
    expect(oneTable).toBeGreaterThan(4 * 150 * 8);

    const cache = createDatasetCache(Math.floor(oneTable * 2.5));
    await cache.table('ds_a', READ, loader.load);
    await cache.table('ds_b', READ, loader.load);
    await cache.table('ds_a', READ, loader.load); // a is now the most recently used
    await cache.table('ds_c', READ, loader.load); // b goes
    expect(loader.calls).toBe(4);
    await cache.table('ds_a', READ, loader.load);
    await cache.table('ds_c', READ, loader.load);
    expect(loader.calls).toBe(4);
    await cache.table('ds_b', READ, loader.load);
    expect(loader.calls).toBe(5);

    const tiny = createDatasetCache(Math.floor(oneTable / 2));
    await tiny.table('ds_a', READ, loader.load);
    await tiny.table('ds_a', READ, loader.load);
    expect(loader.calls).toBe(7);
    expect(tiny.stats()).toEqual({ entries: 0, bytes: 0 });
  });

  it('when the bound is 0, then nothing is kept', async () => {
    const cache = createDatasetCache(0);
    const loader = counted();
    const table = await cache.table('ds_1', READ, loader.load);
    await cache.table('ds_1', READ, loader.load);
    expect(loader.calls).toBe(2);
    let made = 0;
    const settings = dataSettings(irisSpec());
    for (let i = 0; i < 2; i++)
      cache.data(table, settings, () => {
        made += 1;
        return prepareData(table, settings);
      });
    expect(made).toBe(2);
    expect(cache.stats()).toEqual({ entries: 0, bytes: 0 });
  });
});
