// Batch prediction records in Redis, in the record format of redis.ts plus the lease
// (`{"tenant", "data", "lease"}`), indexed per tenant. Every change is a compare-and-set on a
// revision counter (record-cas-3.lua), as for training jobs, so the API's cancel and any number of
// workers never overwrite each other and an attempt whose lease moved on cannot write at all.
// The result's parts are files of the FileStore under `batch-predictions/<id>/`.
import type { Readable } from 'node:stream';
import type { BatchFiles, BatchPrediction, BatchPredictionStore } from '../domain/batch-predictions.js';
import { isTerminal, type JobLease } from '../domain/lifecycle.js';
import { recordCommands } from './commands/index.js';
import { fileKeys } from './file-keys.js';
import type { FileStore } from './file-store.js';
import { createRecordStore, setMembers, updateWithRetries } from './record-store.js';
import type { Redis } from './redis.js';

interface Envelope {
  tenant: string;
  data: BatchPrediction;
  lease?: JobLease | null;
}

export function createBatchStore(deps: { redis: Redis; prefix: string }): BatchPredictionStore {
  const { redis, prefix } = deps;
  const key = (id: string) => `${prefix}:batch:${id}`;
  const revKey = (id: string) => `${key(id)}:rev`;
  const indexKey = (tenant: string) => `${prefix}:tenant:${tenant}:batches`;
  const activeKey = `${prefix}:batches:active`;
  const records = createRecordStore<BatchPrediction>({ redis, recordKey: key, indexKey });
  const commands = recordCommands(redis);

  async function read(id: string) {
    const out = await redis.multi().get(key(id)).get(revKey(id)).exec();
    if (!out) throw new Error(`batch prediction ${id}: read transaction aborted`);
    for (const [err] of out) if (err) throw err;
    const raw = out[0][1] as string | null;
    if (raw == null) return null;
    const env = JSON.parse(raw) as Envelope;
    return {
      tenant: env.tenant,
      job: env.data,
      lease: env.lease ?? null,
      rev: (out[1][1] as string | null) ?? '0',
    };
  }

  return {
    async create(tenant, record) {
      const env: Envelope = { tenant, data: record, lease: null };
      const out = await redis
        .multi()
        .set(key(record.id), JSON.stringify(env))
        .set(revKey(record.id), '0')
        .zadd(indexKey(tenant), Date.parse(record.createdAt), record.id)
        .sadd(activeKey, record.id)
        .exec();
      for (const [err] of out ?? [[new Error('Redis transaction aborted')]]) if (err) throw err;
    },

    get: (tenant, id) => records.get(tenant, id),

    async read(id) {
      const stored = await read(id);
      return stored && { tenant: stored.tenant, job: stored.job, lease: stored.lease };
    },

    async list(tenant, query) {
      return records.list(tenant, {
        limit: query.limit,
        cursor: query.cursor,
        filter: query.status ? (r) => r.status === query.status : undefined,
      });
    },

    update: (id, mutate) =>
      updateWithRetries(
        `batch prediction ${id}`,
        () => read(id),
        mutate,
        async (current, next) => {
          const env: Envelope = { tenant: current.tenant, data: next.job, lease: next.lease };
          const wasActive = !isTerminal(current.job);
          const nowActive = !isTerminal(next.job);
          const active = wasActive === nowActive ? '' : nowActive ? '1' : '0';
          const written = await commands.recordCas(
            [key(id), revKey(id), activeKey],
            [current.rev, JSON.stringify(env), id, active],
          );
          return written === 1;
        },
      ),

    async remove(tenant, id) {
      await redis.multi().del(key(id), revKey(id)).zrem(indexKey(tenant), id).srem(activeKey, id).exec();
    },

    activeIds: () => setMembers(redis, activeKey),
  };
}

/** The dataset files batch predictions read, and their result parts, in the FileStore. */
export function createBatchFiles(files: FileStore): BatchFiles {
  return {
    openDataset: (datasetId): Promise<Readable | null> => files.openRead(fileKeys.dataset(datasetId)),
    async writePart(id, index, text) {
      await files.write(fileKeys.batchPart(id, index), text);
    },
    openPart: (id, index) => files.openRead(fileKeys.batchPart(id, index)),
    async removeParts(id, count) {
      for (let i = 0; i < count; i++) await files.remove(fileKeys.batchPart(id, i));
    },
  };
}
