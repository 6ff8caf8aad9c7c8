// A generic store for the record format of redis.ts: each resource is a JSON string
// `{"tenant", "data"}` at its own key, and each tenant has a sorted set of ids scored by creation
// time in ms. Lists are newest first; the cursor is base64url of `[score, id]` of the last item.
import { InvalidRequestError } from '../domain/errors.js';
import type { Page } from '../domain/schemas.js';
import type { Redis } from './redis.js';

export interface StoredRecord<T> {
  tenant: string;
  data: T;
}

export interface RecordStoreOptions {
  redis: Redis;
  recordKey: (id: string) => string;
  indexKey: (tenant: string) => string;
}

export interface RecordListQuery<T> {
  limit: number;
  cursor?: string;
  /** Keeps only the records that match; pagination stays correct across filtered-out items. */
  filter?: (item: T) => boolean;
}

export interface RecordStore<T extends { id: string; createdAt: string }> {
  /** Writes the record and adds it to the tenant's index in one transaction. */
  put(tenant: string, item: T): Promise<void>;
  /** The record, or null when absent or owned by another tenant. */
  get(tenant: string, id: string): Promise<T | null>;
  /** The record with its owner, whoever that is (workers and the idempotency layer use it). */
  getRecord(id: string): Promise<StoredRecord<T> | null>;
  list(tenant: string, query: RecordListQuery<T>): Promise<Page<T>>;
  /** Deletes the record and its index entry; false when absent or owned by another tenant. */
  remove(tenant: string, id: string): Promise<boolean>;
}

export function encodeCursor(score: number, id: string): string {
  return Buffer.from(JSON.stringify([score, id]), 'utf8').toString('base64url');
}

/** Reads a cursor made by encodeCursor; anything else is a 400 naming `cursor`. */
export function decodeCursor(cursor: string): { score: number; id: string } {
  const bad = () =>
    new InvalidRequestError('cursor is malformed', [{ path: 'cursor', message: 'Malformed cursor' }]);
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'number' ||
    !Number.isFinite(parsed[0]) ||
    typeof parsed[1] !== 'string' ||
    parsed[1].length === 0 ||
    parsed[1].length > 100
  ) {
    throw bad();
  }
  return { score: parsed[0], id: parsed[1] };
}

export function createRecordStore<T extends { id: string; createdAt: string }>(
  options: RecordStoreOptions,
): RecordStore<T> {
  const { redis, recordKey, indexKey } = options;

  const parse = (raw: string | null): StoredRecord<T> | null =>
    raw === null ? null : (JSON.parse(raw) as StoredRecord<T>);

  async function getRecord(id: string): Promise<StoredRecord<T> | null> {
    return parse(await redis.get(recordKey(id)));
  }

  return {
    async put(tenant, item) {
      const score = Date.parse(item.createdAt);
      await redis
        .multi()
        .set(recordKey(item.id), JSON.stringify({ tenant, data: item } satisfies StoredRecord<T>))
        .zadd(indexKey(tenant), score, item.id)
        .exec()
        .then(throwOnExecError);
    },

    async get(tenant, id) {
      const record = await getRecord(id);
      return record && record.tenant === tenant ? record.data : null;
    },

    getRecord,

    async list(tenant, query) {
      const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
      const key = indexKey(tenant);
      const out: T[] = [];
      const scores: number[] = [];
      let hasMore = false;
      const max = after ? String(after.score) : '+inf';
      let offset = 0;
      const batch = Math.max(query.limit + 1, 32);
      // Walk the index newest first in batches until a page and one more item are found.
      while (!hasMore) {
        const flat = await redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', offset, batch);
        if (flat.length === 0) break;
        const entries: Array<{ id: string; score: number }> = [];
        for (let i = 0; i < flat.length; i += 2) entries.push({ id: flat[i], score: Number(flat[i + 1]) });
        offset += entries.length;
        // Same-millisecond items sort by id descending; skip those at or above the cursor's id.
        const fresh = entries.filter((e) => !after || e.score < after.score || e.id < after.id);
        if (fresh.length > 0) {
          const raws = await redis.mget(fresh.map((e) => recordKey(e.id)));
          for (let i = 0; i < fresh.length; i++) {
            const record = parse(raws[i]);
            if (!record || record.tenant !== tenant) continue;
            if (query.filter && !query.filter(record.data)) continue;
            if (out.length === query.limit) {
              hasMore = true;
              break;
            }
            out.push(record.data);
            scores.push(fresh[i].score);
          }
        }
        if (entries.length < batch) break;
      }
      const last = out.length - 1;
      return { data: out, nextCursor: hasMore ? encodeCursor(scores[last], out[last].id) : null };
    },

    async remove(tenant, id) {
      const record = await getRecord(id);
      if (!record || record.tenant !== tenant) return false;
      await redis.multi().del(recordKey(id)).zrem(indexKey(tenant), id).exec().then(throwOnExecError);
      return true;
    },
  };
}

/** A leased record as a compare-and-set sees it: owner, record, lease and revision read together. */
export interface Revisioned<T, L> {
  tenant: string;
  job: T;
  lease: L | null;
  rev: string;
}

/**
 * The compare-and-set loop of the leased stores: reads, lets `mutate` decide the next record (null:
 * no change), and writes it only if the revision did not move (`write` answers false when it
 * moved; then it starts over). Throws after `maxRetries` lost races.
 */
export async function updateWithRetries<T, L>(
  what: string,
  read: () => Promise<Revisioned<T, L> | null>,
  mutate: (current: { tenant: string; job: T; lease: L | null }) => { job: T; lease?: L | null } | null,
  write: (current: Revisioned<T, L>, next: { job: T; lease: L | null }) => Promise<boolean>,
  maxRetries = 50,
): Promise<{ written: boolean; stored: { tenant: string; job: T; lease: L | null } | null }> {
  for (let i = 0; i < maxRetries; i++) {
    const current = await read();
    if (!current) return { written: false, stored: null };
    const next = mutate({ tenant: current.tenant, job: current.job, lease: current.lease });
    if (next === null) return { written: false, stored: current };
    const lease = next.lease === undefined ? current.lease : next.lease;
    if (await write(current, { job: next.job, lease })) {
      return { written: true, stored: { tenant: current.tenant, job: next.job, lease } };
    }
  }
  throw new Error(`${what}: too many concurrent updates`);
}

/** Every member of a set, read with SSCAN in pages so a large set never blocks Redis in one command. */
export async function setMembers(redis: Redis, key: string): Promise<string[]> {
  const ids = new Set<string>();
  let cursor = '0';
  do {
    const [next, page] = await redis.sscan(key, cursor, 'COUNT', 500);
    cursor = next;
    for (const id of page) ids.add(id);
  } while (cursor !== '0');
  return [...ids];
}

function throwOnExecError(results: Array<[Error | null, unknown]> | null): void {
  if (!results) throw new Error('Redis transaction aborted');
  for (const [err] of results) if (err) throw err;
}
