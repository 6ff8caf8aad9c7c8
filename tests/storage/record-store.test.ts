// The record store contract (ownership and pagination), run on Redis and on the in-memory fake
// of tests/fakes; then the Redis record format, the idempotency store and the readiness probe,
// against the real Redis under a unique prefix.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisHealthProbe } from '../../src/storage/health.js';
import { createIdempotencyStore } from '../../src/storage/idempotency-store.js';
import {
  createRecordStore,
  decodeCursor,
  encodeCursor,
  type RecordStore,
} from '../../src/storage/record-store.js';
import { createRedis, redisKeys, type Redis } from '../../src/storage/redis.js';
import { createMemoryRecordStore } from '../fakes/memory-records.js';
import { deleteKeys } from '../helpers/app.js';

interface Item {
  id: string;
  createdAt: string;
  kind: 'a' | 'b';
}

const PREFIX = `test-storage-${randomUUID()}`;

const contractBackends: Array<{ name: string; make: (redis: Redis) => RecordStore<Item> }> = [
  {
    name: 'Redis',
    make: (redis) => {
      const keys = redisKeys(`${PREFIX}:${randomUUID()}`);
      return createRecordStore<Item>({ redis, recordKey: keys.dataset, indexKey: keys.datasets });
    },
  },
  { name: 'memory (tests/fakes)', make: () => createMemoryRecordStore<Item>() },
];

describe.each(contractBackends)('RecordStore contract on $name', ({ make }) => {
  let redis: Redis;
  let store: RecordStore<Item>;
  beforeAll(async () => {
    redis = createRedis('redis://127.0.0.1:6379', 'api');
    await new Promise((r) => redis.once('ready', r));
    store = make(redis);
  });
  afterAll(async () => {
    await deleteKeys(redis, `${PREFIX}:*`);
    await redis.quit();
  });

  it('when a record is put, then only its tenant reads or removes it', async () => {
    const item: Item = { id: 'ds_own', createdAt: '2026-01-02T03:04:05.006Z', kind: 'a' };
    await store.put('t1', item);
    expect(await store.get('t1', 'ds_own')).toEqual(item);
    expect(await store.getRecord('ds_own')).toEqual({ tenant: 't1', data: item });
    expect(await store.get('t2', 'ds_own')).toBeNull();
    expect(await store.remove('t2', 'ds_own')).toBe(false);
    expect(await store.remove('t1', 'ds_own')).toBe(true);
    expect(await store.get('t1', 'ds_own')).toBeNull();
    expect((await store.list('t1', { limit: 10 })).data).toEqual([]);
  });

  it('when a cursor is not one of ours, then list refuses it as a 400 naming cursor', async () => {
    await expect(store.list('t1', { limit: 1, cursor: '!!' })).rejects.toMatchObject({ status: 400 });
  });

  it('when many records share a millisecond, then pages still list each exactly once, newest first', async () => {
    const tenant = 'same-ms';
    const items: Item[] = [];
    for (let i = 0; i < 25; i++) {
      // Five items per millisecond.
      const item: Item = {
        id: `ds_${String(i).padStart(3, '0')}`,
        createdAt: new Date(1_700_000_000_000 + Math.floor(i / 5)).toISOString(),
        kind: i % 3 === 0 ? 'a' : 'b',
      };
      items.push(item);
      await store.put(tenant, item);
    }
    const expected = [...items]
      .sort((x, y) => Date.parse(y.createdAt) - Date.parse(x.createdAt) || (x.id < y.id ? 1 : -1))
      .map((x) => x.id);
    for (const limit of [1, 3, 7, 25, 100]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store.list(tenant, { limit, cursor });
        expect(page.data.length).toBeLessThanOrEqual(limit);
        seen.push(...page.data.map((x) => x.id));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      expect(seen).toEqual(expected);
    }
    // A filter keeps pagination whole across filtered-out items.
    const onlyA: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list(tenant, { limit: 2, cursor, filter: (x) => x.kind === 'a' });
      onlyA.push(...page.data.map((x) => x.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(onlyA).toEqual(expected.filter((id) => items.find((x) => x.id === id)!.kind === 'a'));
  });
});

describe('Redis record format', () => {
  let redis: Redis;
  let store: RecordStore<Item>;
  const keys = redisKeys(PREFIX);

  beforeAll(async () => {
    redis = createRedis('redis://127.0.0.1:6379', 'api');
    await new Promise((r) => redis.once('ready', r));
    store = createRecordStore<Item>({ redis, recordKey: keys.dataset, indexKey: keys.datasets });
  });
  afterAll(async () => {
    await deleteKeys(redis, `${PREFIX}:*`);
    await redis.quit();
  });

  it('when a record is put, then it is stored as {tenant, data} and indexed by its creation time', async () => {
    const item: Item = { id: 'ds_one', createdAt: '2026-01-02T03:04:05.006Z', kind: 'a' };
    await store.put('t1', item);
    expect(JSON.parse((await redis.get(keys.dataset('ds_one')))!)).toEqual({ tenant: 't1', data: item });
    expect(Number(await redis.zscore(keys.datasets('t1'), 'ds_one'))).toBe(Date.parse(item.createdAt));
    expect(await store.get('t1', 'ds_one')).toEqual(item);
    expect(await store.get('t2', 'ds_one')).toBeNull();
    expect(await store.remove('t2', 'ds_one')).toBe(false);
    expect(await store.remove('t1', 'ds_one')).toBe(true);
    expect(await store.get('t1', 'ds_one')).toBeNull();
    expect(await redis.zscore(keys.datasets('t1'), 'ds_one')).toBeNull();
  });

  it('when an index entry has no record (a crash between writes), then lists skip it', async () => {
    const tenant = 'stale';
    await store.put(tenant, { id: 'ds_kept', createdAt: new Date(1000).toISOString(), kind: 'a' });
    await redis.zadd(keys.datasets(tenant), 2000, 'ds_ghost');
    const page = await store.list(tenant, { limit: 10 });
    expect(page).toEqual({
      data: [{ id: 'ds_kept', createdAt: new Date(1000).toISOString(), kind: 'a' }],
      nextCursor: null,
    });
  });

  it('when a cursor is not one of ours, then it is refused as a 400 naming cursor', () => {
    expect(decodeCursor(encodeCursor(12.5, 'ds_x'))).toEqual({ score: 12.5, id: 'ds_x' });
    for (const bad of [
      '!!',
      'e30',
      Buffer.from('["x","y"]').toString('base64url'),
      Buffer.from('[1]').toString('base64url'),
    ]) {
      expect(() => decodeCursor(bad)).toThrow(
        expect.objectContaining({ status: 400, errors: [expect.objectContaining({ path: 'cursor' })] }),
      );
    }
  });
});

describe('idempotency store', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = createRedis('redis://127.0.0.1:6379', 'api');
    await new Promise((r) => redis.once('ready', r));
  });
  afterAll(async () => {
    await deleteKeys(redis, `${PREFIX}:*`);
    await redis.quit();
  });

  it('when a key is claimed, then others see it pending until completed, then the response with a 24 h expiry', async () => {
    const store = createIdempotencyStore({ redis, prefix: PREFIX, pendingTtlMs: 10_000 });
    expect(await store.claim('t', 'jobs', 'k1')).toEqual({ state: 'claimed' });
    expect(await store.claim('t', 'jobs', 'k1')).toEqual({ state: 'pending' });
    expect(await store.claim('other', 'jobs', 'k1')).toEqual({ state: 'claimed' });
    await store.complete('t', 'jobs', 'k1', { fingerprint: 'f', status: 202, body: { id: 'job_1' } });
    expect(await store.claim('t', 'jobs', 'k1')).toEqual({
      state: 'done',
      response: { fingerprint: 'f', status: 202, body: { id: 'job_1' } },
    });
    const ttl = await redis.ttl(redisKeys(PREFIX).idempotency('t', 'jobs', 'k1'));
    expect(ttl).toBeGreaterThan(24 * 3600 - 5);
    expect(ttl).toBeLessThanOrEqual(24 * 3600);
  });

  it('when a claim is released or its holder dies, then the key can be claimed again', async () => {
    const store = createIdempotencyStore({ redis, prefix: PREFIX, pendingTtlMs: 100 });
    expect(await store.claim('t', 'ds', 'k2')).toEqual({ state: 'claimed' });
    await store.release('t', 'ds', 'k2');
    expect(await store.claim('t', 'ds', 'k2')).toEqual({ state: 'claimed' });
    await new Promise((r) => setTimeout(r, 150));
    expect(await store.claim('t', 'ds', 'k2')).toEqual({ state: 'claimed' });
  });
});

describe('readiness probe', () => {
  it('when Redis answers with noeviction, then ready; when nothing listens, then not ready within a second', async () => {
    const up = createRedis('redis://127.0.0.1:6379', 'api');
    await new Promise((r) => up.once('ready', r));
    const policy = (await up.config('GET', 'maxmemory-policy')) as string[];
    const ready = await createRedisHealthProbe(up).ready();
    expect(ready.ok).toBe(policy[1] === 'noeviction');
    await up.quit();

    const down = createRedis('redis://127.0.0.1:1', 'api');
    down.on('error', () => {});
    const started = Date.now();
    const r = await createRedisHealthProbe(down).ready();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/Redis/);
    down.disconnect();
  });
});
