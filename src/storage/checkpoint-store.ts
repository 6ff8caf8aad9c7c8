// Checkpoints and model artifacts of the worker, as files of the configured FileStore (fileKeys).
import type { ArtifactStore, CheckpointStore, ModelArtifact } from '../domain/ports.js';
import { fileKeys } from './file-keys.js';
import type { FileStore } from './file-store.js';

/** Checkpoints under `checkpoints/<jobId>.ckpt`. */
export function createCheckpointStore(files: FileStore): CheckpointStore {
  return {
    load: (jobId) => files.readBytes(fileKeys.checkpoint(jobId)),
    save: async (jobId, state) => {
      await files.write(fileKeys.checkpoint(jobId), state);
    },
    remove: (jobId) => files.remove(fileKeys.checkpoint(jobId)),
  };
}

/** Model artifacts (network and encoder, as JSON) under `models/<modelId>.json`. */
export function createArtifactStore(files: FileStore): ArtifactStore {
  return {
    save: async (modelId, artifact: ModelArtifact) => {
      await files.write(fileKeys.model(modelId), JSON.stringify(artifact));
    },
    remove: (modelId) => files.remove(fileKeys.model(modelId)),
  };
}
