// The pre-flight service behind `?dryRun=true`: resolves a training spec or a search request
// exactly as a submit would (same 4xx), then reports on it (preflight.ts, tuning-preflight.ts).
import { datasetForSpec, resolveSpec, type JobLimits } from './jobs.js';
import type { DatasetStore, TenantId } from './ports.js';
import { preflight, type Preflight } from './preflight.js';
import type { TrainingSpecParsed } from './schemas.js';
import { tuningPreflight, type TuningPreflight } from './tuning-preflight.js';
import type { TuningRequest } from './tuning.js';

export interface PreflightService {
  /** Resolves and checks the spec exactly as a submit would (same 4xx), then reports on it. */
  training(tenant: TenantId, input: TrainingSpecParsed): Promise<Preflight>;
  /** Checks a search request exactly as a submit would (same 4xx), then reports on it (tuning-preflight.ts). */
  tuning(tenant: TenantId, request: TuningRequest): Promise<TuningPreflight>;
}

export function createPreflightService(deps: {
  datasets: Pick<DatasetStore, 'get'>;
  limits: JobLimits;
}): PreflightService {
  return {
    async training(tenant, input) {
      const dataset = await datasetForSpec(deps.datasets, tenant, input.datasetId);
      return preflight(dataset, resolveSpec(input, dataset, deps.limits));
    },
    tuning: (tenant, request) => tuningPreflight(request, deps.datasets, tenant, deps.limits),
  };
}
