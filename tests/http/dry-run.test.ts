// POST /v1/training-jobs?dryRun=true: the same checks as a submit, a report instead of a job, and
// nothing queued or stored.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classList, readCsv } from '../../src/data/index.js';
import { createTestApp, deleteKeys, type TestApp } from '../helpers/app.js';

const fixture = (name: string) => join(import.meta.dirname, '..', 'fixtures', `${name}.csv`);
const LIMITS = { maxColumns: 100, maxRows: 100_000, maxLineBytes: 1 << 16 };

async function keysOf(t: TestApp): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await t.redis.scan(cursor, 'MATCH', `${t.config.REDIS_PREFIX}:*`, 'COUNT', 500);
    cursor = next;
    out.push(...keys.filter((k) => !k.includes(':rl:')));
  } while (cursor !== '0');
  return out.sort();
}

describe('training job dry run', () => {
  let t: TestApp;
  let iris: string;
  let loans: string;
  let idColumn: string;
  beforeAll(async () => {
    t = await createTestApp();
    const upload = async (name: string) =>
      (
        await request(t.app.server)
          .post(`/v1/datasets?name=${name}`)
          .set('content-type', 'text/csv')
          .send(await readFile(fixture(name), 'utf8'))
      ).body.id as string;
    iris = await upload('iris');
    loans = await upload('loans');
    idColumn = await upload('cases/id-column');
  });
  afterAll(async () => t?.close());

  it('when a spec is dry-run, then 200 with the resolved spec, sizes and estimates, and no key appears in Redis', async () => {
    const before = await keysOf(t);
    const res = await request(t.app.server)
      .post('/v1/training-jobs?dryRun=true')
      .send({
        datasetId: iris,
        target: 'species',
        recipe: 'fast',
        model: { layers: [{ units: 16 }, { units: 8 }] },
      });
    expect(res.status).toBe(200);
    expect(res.body.dryRun).toBe(true);
    expect(res.body.spec).toMatchObject({ task: 'classification', training: { loss: 'crossEntropy' } });
    // 4 numeric features → 16 → 8 → 3 classes: (4+1)·16 + (16+1)·8 + (8+1)·3 = 80 + 136 + 27.
    expect(res.body.inputWidth).toBe(4);
    expect(res.body.outputWidth).toBe(3);
    expect(res.body.parameterCount).toBe(243);
    // 150 rows, 15 % validation and 15 % test: round(22.5) = 23 each, 104 for training.
    expect(res.body.rows).toEqual({ train: 104, validation: 23, test: 23 });
    const { estimate } = res.body;
    expect(estimate.probe.rows).toBeGreaterThanOrEqual(32);
    expect(estimate.probe.seconds).toBeGreaterThan(0);
    expect(estimate.secondsPerEpoch).toBeGreaterThan(0);
    expect(estimate.maxTrainingSeconds).toBeCloseTo(estimate.secondsPerEpoch * 500, 6);
    // At least the weights with their optimizer state: 4 copies of 243 float32s.
    expect(estimate.peakMemoryBytes).toBeGreaterThan(4 * 243 * 4);
    expect(res.body.warnings).toEqual([]);
    expect(await keysOf(t)).toEqual(before);
    expect((await request(t.app.server).get('/v1/training-jobs')).body.data).toEqual([]);

    // The default recipe's 5 folds: no validation split, and no warning about it.
    const folds = await request(t.app.server)
      .post('/v1/training-jobs?dryRun=true')
      .send({ datasetId: iris, target: 'species', model: { layers: [{ units: 16 }, { units: 8 }] } });
    expect(folds.status).toBe(200);
    expect(folds.body.spec.training.crossValidation).toEqual({ folds: 5 });
    expect(folds.body.rows).toEqual({ train: 127, validation: 0, test: 23 });
    expect(folds.body.warnings).toEqual([]);
  });

  it('when the spec is impossible, then the dry run answers the same 422 as a submit would', async () => {
    for (const body of [
      { datasetId: iris, target: 'colour' },
      { datasetId: 'ds_none', target: 'species' },
      { datasetId: iris, target: 'species', model: { layers: [{ units: 9000 }] } },
    ]) {
      const dry = await request(t.app.server).post('/v1/training-jobs?dryRun=true').send(body);
      const real = await request(t.app.server).post('/v1/training-jobs').send(body);
      expect(dry.status).toBe(422);
      expect(dry.body.errors).toEqual(real.body.errors);
    }
    const bad = await request(t.app.server).post('/v1/training-jobs?dryRun=maybe').send({});
    expect(bad.status).toBe(400);
  });

  it('when the spec has risky settings, then the warnings name them', async () => {
    const res = await request(t.app.server)
      .post('/v1/training-jobs?dryRun=1')
      .send({
        datasetId: loans,
        target: 'decision',
        training: { validationSplit: 0, testSplit: 0, maxRuntimeSeconds: 1, epochs: 10000 },
        model: { layers: [{ units: 1024 }, { units: 1024 }] },
      });
    expect(res.status).toBe(200);
    const text = res.body.warnings.join('\n');
    expect(text).toMatch(/no validation rows/);
    expect(text).toMatch(/no test rows/);
    expect(text).toMatch(/beyond maxRuntimeSeconds \(1 s\)/);
    expect(res.body.rows).toEqual({ train: 3000, validation: 0, test: 0 });
  });

  it('when dryRun=false, then the submit queues a job as usual', async () => {
    const res = await request(t.app.server)
      .post('/v1/training-jobs?dryRun=false')
      .send({ datasetId: iris, target: 'species' });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('queued');
    await deleteKeys(t.redis, `${t.config.REDIS_PREFIX}:q:*`);
  });

  it('when columnTypes forces the target or a feature to a type none of its values reads as, then the dry run and the submit answer 422 naming it', async () => {
    const cases = [
      { body: { target: 'species', columnTypes: { species: 'numeric' } }, col: 'species', as: /a number/ },
      { body: { target: 'species', columnTypes: { species: 'boolean' } }, col: 'species', as: /a boolean/ },
      // A numeric feature read as an ISO date: no cell is one.
      {
        body: { target: 'species', columnTypes: { sepal_width: 'datetime' } },
        col: 'sepal_width',
        as: /an ISO date/,
      },
    ];
    const jobsBefore = (await request(t.app.server).get('/v1/training-jobs')).body.data;
    for (const { body, col, as } of cases) {
      const dry = await request(t.app.server)
        .post('/v1/training-jobs?dryRun=true')
        .send({ datasetId: iris, ...body });
      const real = await request(t.app.server)
        .post('/v1/training-jobs')
        .send({ datasetId: iris, ...body });
      expect(dry.status).toBe(422);
      expect(real.status).toBe(422);
      expect(dry.body.errors).toEqual(real.body.errors);
      expect(dry.body.errors).toEqual([{ path: `columnTypes.${col}`, message: expect.stringMatching(as) }]);
      expect(dry.body.detail).toContain(`"${col}"`);
      expect(dry.body.detail).toMatch(as);
    }
    expect((await request(t.app.server).get('/v1/training-jobs')).body.data).toEqual(jobsBefore);
    // A type some values read as is still taken: every species name is a category.
    const fits = await request(t.app.server)
      .post('/v1/training-jobs?dryRun=true')
      .send({ datasetId: iris, target: 'species', columnTypes: { petal_width: 'categorical' } });
    expect(fits.status).toBe(200);
  });

  it('when a numeric target is forced to classification, then outputWidth counts the classes training sees and the rare ones are flagged', async () => {
    const res = await request(t.app.server)
      .post('/v1/training-jobs?dryRun=true')
      .send({ datasetId: iris, target: 'sepal_length', task: 'classification' });
    expect(res.status).toBe(200);
    // Training takes the target's distinct values as its classes (classList): 35 in iris.csv,
    // 11 of them on fewer than 3 rows (counted with Python's collections.Counter over the file).
    const table = await readCsv(await readFile(fixture('iris'), 'utf8'), LIMITS);
    expect(classList(table, 'sepal_length')).toHaveLength(35);
    expect(res.body.outputWidth).toBe(35);
    // The default recipe: 5 fold networks, each on the 6 encoded inputs plus 8 bins of each of the 3
    // numeric ones (30 inputs), then 32, 16 and 35 units.
    expect(res.body.spec.model.embedding).toEqual({ type: 'piecewiseLinear', bins: 8 });
    let fanIn = res.body.inputWidth + 3 * 8;
    let params = 0;
    for (const units of [...res.body.spec.model.layers.map((l: { units: number }) => l.units), 35]) {
      params += (fanIn + 1) * units;
      fanIn = units;
    }
    expect(res.body.parameterCount).toBe(5 * params);
    // (31·32) + (33·16) + (17·35) = 992 + 528 + 595 = 2115 per network. A model trained from this
    // request reports 10543 = 10575 − 32: iris's repeated measurements leave one fold's network a
    // bin short on one input (training keeps distinct quantile edges only), 32 first-layer weights.
    expect(res.body.parameterCount).toBe(10575);
    // Embedding members alternate: networks 1, 3, 5 of the five carry the encoding (2115 each), the
    // other two read the 6 plain inputs: (7·32) + (33·16) + (17·35) = 224 + 528 + 595 = 1347 each;
    // 3 · 2115 + 2 · 1347 = 9039.
    const mixed = await request(t.app.server)
      .post('/v1/training-jobs?dryRun=true')
      .send({
        datasetId: iris,
        target: 'sepal_length',
        task: 'classification',
        model: { embedding: { type: 'piecewiseLinear', members: 'alternate' } },
      });
    expect(mixed.status).toBe(200);
    expect(mixed.body.spec.model.embedding).toEqual({
      type: 'piecewiseLinear',
      bins: 8,
      members: 'alternate',
    });
    expect(mixed.body.parameterCount).toBe(9039);
    expect(res.body.warnings).toContain(
      '11 of the 35 classes of "sepal_length" have fewer than 3 rows and cannot appear in every split',
    );
  });

  it('when an ID-like column is listed in features, then the dry run warns about it', async () => {
    const res = await request(t.app.server)
      .post('/v1/training-jobs?dryRun=true')
      .send({ datasetId: idColumn, target: 'label', features: ['id', 'f1', 'f2'] });
    expect(res.status).toBe(200);
    const about = res.body.warnings.filter((w: string) => w.startsWith('feature '));
    expect(about).toHaveLength(1);
    expect(about[0]).toMatch(/^feature "id" looks like an ID or row number/);
    // Left to the defaults, the column is not a feature and nothing is said about it.
    const defaults = await request(t.app.server)
      .post('/v1/training-jobs?dryRun=true')
      .send({ datasetId: idColumn, target: 'label' });
    expect(defaults.body.spec.features).toEqual(['f1', 'f2']);
    expect(defaults.body.warnings.filter((w: string) => w.startsWith('feature '))).toEqual([]);
  });

  it('when columnTypes forces the target to a type some of its values do not read as, then the dry run warns that those rows are left out', async () => {
    // 40 rows: y holds a number in the odd rows and a word in the even ones, so it is categorical.
    const lines = Array.from({ length: 40 }, (_, i) => `${i},${i % 2 ? String(i * 1.5) : `w${i}`}`);
    const upload = await request(t.app.server)
      .post('/v1/datasets?name=mixed')
      .set('content-type', 'text/csv')
      .send(`x,y\n${lines.join('\n')}\n`);
    expect(upload.body.columns[1].type).toBe('categorical');
    const res = await request(t.app.server)
      .post('/v1/training-jobs?dryRun=true')
      .send({ datasetId: upload.body.id, target: 'y', features: ['x'], columnTypes: { y: 'numeric' } });
    expect(res.status).toBe(200);
    expect(res.body.spec.task).toBe('regression');
    expect(res.body.warnings).toContain(
      '20 rows of the target "y" do not read as numeric (columnTypes) and are left out',
    );
  });
});
