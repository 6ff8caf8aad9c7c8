// What a training thread keeps between jobs: parsed tables by dataset and read settings, and their
// split-and-encoded forms by the spec's DataSettings, least recently used first out, bounded in
// bytes. A stored dataset's file never changes (an id names one upload), so an entry only has to
// go when memory runs short; a deleted dataset is caught by the caller's existence check.
import { LRUCache } from 'lru-cache';
import type { CsvLimits, CsvOptions, Encoded, Table } from '../data/index.js';
import type { DataSettings, PreparedData } from '../domain/training.js';

type Entry = { kind: 'table'; table: Table } | { kind: 'data'; data: PreparedData };

export interface DatasetCache {
  /** The table cached under these read settings, else load() and keep its result. */
  table(
    datasetId: string,
    read: { csv: CsvOptions; limits: CsvLimits },
    load: () => Promise<Table>,
  ): Promise<Table>;
  /** The prepared data of `table` under `settings`, else make() and keep its result. */
  data(table: Table, settings: DataSettings, make: () => PreparedData): PreparedData;
  /** Entries and their estimated bytes, for tests and logs. */
  stats(): { entries: number; bytes: number };
}

/** A cache of at most maxBytes (estimated); maxBytes 0 keeps nothing. Entries larger than the bound are never kept. */
export function createDatasetCache(maxBytes: number): DatasetCache {
  const cache =
    maxBytes > 0
      ? new LRUCache<string, Entry>({ maxSize: maxBytes, sizeCalculation: (e) => Math.max(1, entryBytes(e)) })
      : null;
  // A table object → its key, so prepared data is keyed by the table it came from.
  const tableKeys = new WeakMap<Table, string>();

  return {
    async table(datasetId, read, load) {
      const key = `table ${JSON.stringify([datasetId, read.csv, read.limits])}`;
      const hit = cache?.get(key);
      if (hit?.kind === 'table') return hit.table;
      const table = await load();
      tableKeys.set(table, key);
      cache?.set(key, { kind: 'table', table });
      return table;
    },

    data(table, settings, make) {
      const tableKey = tableKeys.get(table);
      if (!cache || !tableKey) return make();
      const key = `data ${tableKey} ${JSON.stringify(settings)}`;
      const hit = cache.get(key);
      if (hit?.kind === 'data') return hit.data;
      const data = make();
      cache.set(key, { kind: 'data', data });
      return data;
    },

    stats: () => ({ entries: cache?.size ?? 0, bytes: cache?.calculatedSize ?? 0 }),
  };
}

/** Typed arrays count their bytes; a categorical cell about its string's UTF-16 size plus a pointer. */
function entryBytes(e: Entry): number {
  if (e.kind === 'table') {
    let bytes = 0;
    for (const c of e.table.columns) {
      if (c.type === 'categorical')
        for (const v of c.values) bytes += 8 + (v === null ? 0 : 16 + 2 * v.length);
      else bytes += c.values.byteLength;
    }
    return bytes;
  }
  const { train, validation, test, plans } = e.data;
  // Without cross-validation the one plan holds the train and validation sets themselves.
  const sets = new Set<Encoded>();
  for (const s of [train, validation, test, ...plans.flatMap((p) => [p.train, p.validation])])
    if (s) sets.add(s);
  let bytes = 0;
  for (const s of sets) bytes += encodedBytes(s);
  return bytes;
}

const encodedBytes = (s: Encoded) =>
  s.x.byteLength + s.y.byteLength + s.kept.byteLength + (s.labels?.byteLength ?? 0);
