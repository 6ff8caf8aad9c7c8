// ModelStore: the artifact (network + encoder JSON) as a file of the configured FileStore, the
// metadata as a Redis record (see redis.ts). The worker writes models through its own
// compare-and-set; this store is what the API reads and deletes.
import type { ModelArtifact, ModelStore } from '../domain/ports.js';
import type { Model } from '../domain/schemas.js';
import { createArtifactStore } from './checkpoint-store.js';
import { fileKeys } from './file-keys.js';
import type { FileStore } from './file-store.js';
import { createRecordStore } from './record-store.js';
import { redisKeys, type Redis } from './redis.js';

export function createModelStore(deps: { redis: Redis; prefix: string; files: FileStore }): ModelStore {
  const keys = redisKeys(deps.prefix);
  const records = createRecordStore<Model>({
    redis: deps.redis,
    recordKey: keys.model,
    indexKey: keys.models,
  });
  const artifacts = createArtifactStore(deps.files);

  return {
    async save(tenant, model, artifact) {
      await artifacts.save(model.id, artifact);
      await records.put(tenant, model);
    },
    get: (tenant, id) => records.get(tenant, id),
    list: (tenant, { tuningJobId, ...page }) =>
      records.list(tenant, {
        ...page,
        filter: tuningJobId ? (m) => m.tuningJobId === tuningJobId : (m) => m.tuningRole !== 'trial',
      }),
    async remove(tenant, id) {
      const removed = await records.remove(tenant, id);
      if (removed) await artifacts.remove(id);
      return removed;
    },
    async loadArtifact(id) {
      const bytes = await deps.files.readBytes(fileKeys.model(id));
      if (!bytes) throw new Error(`model artifact ${id} is missing`);
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as ModelArtifact;
    },
  };
}
