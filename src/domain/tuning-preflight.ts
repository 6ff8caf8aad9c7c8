// Pre-flight of a hyperparameter search (`POST /v1/tuning-jobs?dryRun=true`): the same checks as a
// submit (same 4xx), then what the search would run — its rungs, the trial parameters its seed
// draws, the pre-flight of its largest trial run, and upper bounds on the trial runs, epochs and
// training seconds, the refit of the best trial included — with nothing queued or stored.
import { z } from 'zod';
import { datasetForSpec, type JobLimits } from './jobs.js';
import type { DatasetStore, TenantId } from './ports.js';
import { PreflightSchema, preflight } from './preflight.js';
import {
  TrialParamsSchema,
  TuningRequestSchema,
  rungEpochs,
  searchTrials,
  validateTuningRequest,
  type TuningRequest,
} from './tuning.js';

export const TuningPreflightSchema = z
  .object({
    dryRun: z.literal(true),
    request: TuningRequestSchema.describe('The request with its defaults filled in'),
    rungEpochs: z.array(z.number().int()).describe('Epochs of each rung, smallest first'),
    trials: z
      .array(TrialParamsSchema)
      .describe(
        "The parameters of every trial, in the order they start: the default job's first when the search space holds them, then the seeded draws",
      ),
    largestTrial: PreflightSchema.describe(
      'Pre-flight of the largest network the search space allows, trained for the top rung',
    ),
    refit: PreflightSchema.nullable().describe(
      'Pre-flight of the refit of that largest trial: the default recipe’s folds and embedding, top-rung epochs; null with refit false',
    ),
    bounds: z
      .object({
        trialRuns: z
          .number()
          .int()
          .describe('Trial runs at most: every trial at rung 0, the top 1/η of each rung above'),
        epochs: z.number().int().describe('Epochs over all those runs at most'),
        trainingSeconds: z
          .number()
          .describe(
            'Seconds of training at most, at the largest trial’s speed, plus its refit’s; workers share the trials',
          ),
      })
      .describe('Upper bounds: early stopping and smaller trials make the real search cheaper'),
    warnings: z.array(z.string()),
  })
  .meta({ id: 'TuningPreflight' });
export type TuningPreflight = z.infer<typeof TuningPreflightSchema>;

/**
 * Upper bounds of a search of `maxTrials` trials over the given rungs with reduction factor η:
 * rung k is run by at most ⌈maxTrials / η^k⌉ trials (ASHA promotes the top 1/η of a rung), each
 * for rungs[k] epochs.
 */
export function searchBounds(
  maxTrials: number,
  rungs: number[],
  eta: number,
): { trialRuns: number; epochs: number } {
  let trialRuns = 0;
  let epochs = 0;
  rungs.forEach((rungEpochsK, k) => {
    const runs = Math.ceil(maxTrials / eta ** k);
    trialRuns += runs;
    epochs += runs * rungEpochsK;
  });
  return { trialRuns, epochs };
}

/** The full pre-flight report of a search request on a dataset; nothing is stored or queued. */
export async function tuningPreflight(
  request: TuningRequest,
  datasets: Pick<DatasetStore, 'get'>,
  tenant: TenantId,
  limits: JobLimits,
): Promise<TuningPreflight> {
  const dataset = await datasetForSpec(datasets, tenant, request.datasetId);
  const specs = validateTuningRequest(request, dataset, limits);
  const largestTrial = await preflight(dataset, specs.largest);
  const refit = specs.refit ? await preflight(dataset, specs.refit) : null;
  const rungs = rungEpochs(request.maxEpochs, request.reductionFactor, request.maxTrials);
  const { trialRuns, epochs } = searchBounds(request.maxTrials, rungs, request.reductionFactor);
  const trainingSeconds =
    epochs * largestTrial.estimate.secondsPerEpoch + (refit?.estimate.maxTrainingSeconds ?? 0);
  const warnings = [...largestTrial.warnings.filter((w) => !w.startsWith('all '))];
  const budget = request.maxRuntimeSeconds ?? limits.MAX_RUNTIME_SECONDS;
  if (trainingSeconds > budget) {
    warnings.push(
      `at the largest trial's speed the search could train for ${Math.round(trainingSeconds)} s, beyond its ${budget} s budget: it ends at the budget with the trials finished by then (more workers share the load)`,
    );
  }
  return {
    dryRun: true,
    request,
    rungEpochs: rungs,
    trials: searchTrials(request, dataset, limits).params,
    largestTrial,
    refit,
    bounds: { trialRuns, epochs, trainingSeconds },
    warnings,
  };
}
