// ModelStore: the artifact (network + encoder JSON) under DATA_DIR/models, the metadata as a Redis
// record (see redis.ts). The worker writes models through its own compare-and-set; this store is
// what the API reads and deletes.
import { readFile, rm } from 'node:fs/promises';
import type { ModelArtifact, ModelStore } from '../domain/ports.js';
import type { Model } from '../domain/schemas.js';
import { dataPaths, writeFileAtomic } from './files.js';
import { createRecordStore } from './record-store.js';
import { redisKeys, type Redis } from './redis.js';

export function createModelStore(deps: { redis: Redis; prefix: string; dataDir: string }): ModelStore {
  const paths = dataPaths(deps.dataDir);
  const keys = redisKeys(deps.prefix);
  const records = createRecordStore<Model>({
    redis: deps.redis,
    recordKey: keys.model,
    indexKey: keys.models,
  });

  return {
    async save(tenant, model, artifact) {
      await writeFileAtomic(paths.model(model.id), JSON.stringify(artifact));
      await records.put(tenant, model);
    },
    get: (tenant, id) => records.get(tenant, id),
    list: (tenant, query) => records.list(tenant, query),
    async remove(tenant, id) {
      const removed = await records.remove(tenant, id);
      if (removed) await rm(paths.model(id), { force: true });
      return removed;
    },
    async loadArtifact(id) {
      return JSON.parse(await readFile(paths.model(id), 'utf8')) as ModelArtifact;
    },
  };
}
