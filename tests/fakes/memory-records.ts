// An in-memory RecordStore (the tenant-owned, newest-first records the Redis stores are built on),
// with the same cursors and the same contract (tests/storage/record-store.test.ts runs one suite
// on both). The memory fakes of the stores in this folder keep their records here.
import type { Page } from '../../src/domain/schemas.js';
import {
  decodeCursor,
  encodeCursor,
  type RecordListQuery,
  type RecordStore,
  type StoredRecord,
} from '../../src/storage/record-store.js';

export interface MemoryRecordStore<T extends { id: string; createdAt: string }> extends RecordStore<T> {
  /** Every record, whoever owns it. */
  all(): StoredRecord<T>[];
}

export function createMemoryRecordStore<T extends { id: string; createdAt: string }>(): MemoryRecordStore<T> {
  const records = new Map<string, StoredRecord<T>>();
  const copy = (r: StoredRecord<T>): StoredRecord<T> => structuredClone(r);
  return {
    all: () => [...records.values()].map(copy),
    async put(tenant, item) {
      records.set(item.id, copy({ tenant, data: item }));
    },
    async get(tenant, id) {
      const r = records.get(id);
      return r && r.tenant === tenant ? copy(r).data : null;
    },
    async getRecord(id) {
      const r = records.get(id);
      return r ? copy(r) : null;
    },
    async list(tenant, query: RecordListQuery<T>): Promise<Page<T>> {
      const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
      // Newest first; items of the same millisecond by id, descending (as a Redis sorted set reversed).
      const rows = [...records.values()]
        .filter((r) => r.tenant === tenant)
        .map((r) => ({ score: Date.parse(r.data.createdAt), data: r.data }))
        .sort((a, b) => b.score - a.score || (a.data.id < b.data.id ? 1 : -1))
        .filter((r) => !after || r.score < after.score || (r.score === after.score && r.data.id < after.id))
        .filter((r) => !query.filter || query.filter(r.data));
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        data: page.map((r) => structuredClone(r.data)),
        nextCursor: rows.length > query.limit && last ? encodeCursor(last.score, last.data.id) : null,
      };
    },
    async remove(tenant, id) {
      if (records.get(id)?.tenant !== tenant) return false;
      records.delete(id);
      return true;
    },
  };
}
