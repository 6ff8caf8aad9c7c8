// zod contracts shared by HTTP, the queue and the worker. One schema validates a request, fills in
// its defaults, and documents it in the OpenAPI document.
import { z } from 'zod';
import { COLUMN_TYPES, UNKNOWN_CATEGORY_POLICIES, type Scaling } from '../data/index.js';
import {
  INITIALIZERS,
  LOSSES,
  OPTIMIZER_DEFAULTS,
  OPTIMIZER_TYPES,
  type ActivationName,
} from '../engine/index.js';
import { DEFAULT_LEARNING_RATE, TRAINING_DEFAULTS } from './training-defaults.js';

// ---------- common ----------

/**
 * An object keyed by names from the file (columns, categories, classes), each value checked by
 * `value`. Validated and documented as `z.record(key, value)`, but the output is the input object
 * itself, so every own key survives, `__proto__` included: zod's record drops that key (on the plain
 * object it builds, it would set the prototype), and a column, category or class may be named so.
 * Values are validated, not transformed. Requests reach it from a `nullPrototypeJson` route
 * (src/http/body-parsers.ts); stored records and answers hold such keys as own properties.
 * Errors: one issue per bad key or value, its path the key.
 */
export function columnMap<V extends z.ZodType>(value: V, key: z.ZodString = z.string()) {
  const record = z.record(key, value);
  const { $schema: _unused, ...documented } = z.toJSONSchema(record, { io: 'input' });
  return z
    .unknown()
    .superRefine((input, ctx) => {
      if (input === null || typeof input !== 'object' || Array.isArray(input)) {
        ctx.addIssue({ code: 'custom', message: 'expected an object keyed by column names' });
        return;
      }
      // Every own key, `__proto__` too (record.safeParse would skip it unchecked).
      for (const [name, cell] of Object.entries(input)) {
        const issues = [
          ...(key.safeParse(name).error?.issues ?? []),
          ...(value.safeParse(cell).error?.issues ?? []),
        ];
        for (const issue of issues) ctx.addIssue({ ...issue, path: [name, ...issue.path] } as never);
      }
    })
    .meta(documented) as unknown as z.ZodType<Record<string, z.output<V>>, Record<string, z.input<V>>>;
}

export const IsoDateSchema = z.string().describe('ISO 8601 time in UTC');

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });
export type Problem = z.infer<typeof ProblemSchema>;

export const ListQuerySchema = z
  .object({
    limit: z.coerce.number().min(1).max(100).int().default(20).describe('Page size, 1 to 100'),
    cursor: z.string().min(1).max(200).optional().describe('Opaque cursor from a previous page'),
  })
  .strict();
export type ListQuery = z.infer<typeof ListQuerySchema>;

export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), nextCursor: z.string().nullable() });
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export const IdParamsSchema = z.object({ id: z.string().min(1).max(100) }).strict();

// ---------- datasets ----------

const reason = z
  .string()
  .optional()
  .describe('Why the column has this type, where it is not obvious (forced, codes, stray tokens)');

export const ColumnSummarySchema = z
  .union([
    z.object({
      name: z.string(),
      type: z.literal('numeric'),
      missing: z.number().int(),
      min: z.number().nullable(),
      max: z.number().nullable(),
      mean: z.number().nullable(),
      std: z.number().nullable(),
      valueCounts: z
        .record(z.string(), z.number().int())
        .optional()
        .describe(
          'Count of each value, when the column holds at most 10 distinct integers (codes or labels?)',
        ),
      distinctValues: z
        .number()
        .int()
        .optional()
        .describe('Distinct values (the classes of a classification on this column), when at most 1000'),
      rareValues: z
        .number()
        .int()
        .optional()
        .describe('How many of the distinct values are on fewer than 3 rows (too rare for every split)'),
      reason,
    }),
    z.object({
      name: z.string(),
      type: z.literal('categorical'),
      missing: z.number().int(),
      categories: columnMap(z.number().int()),
      reason,
    }),
    z.object({
      name: z.string(),
      type: z.literal('boolean'),
      missing: z.number().int(),
      labels: z
        .object({ false: z.string(), true: z.string() })
        .describe('How the file spells each value (its most frequent spelling)'),
      counts: z.object({ false: z.number().int(), true: z.number().int() }),
      reason,
    }),
    z.object({
      name: z.string(),
      type: z.literal('datetime'),
      missing: z.number().int(),
      min: IsoDateSchema.nullable(),
      max: IsoDateSchema.nullable(),
      hasTime: z.boolean().describe('Some cell has a time of day (the hour is then a calendar feature)'),
      reason,
    }),
  ])
  .meta({ id: 'ColumnSummary' });
export type ColumnSummary = z.infer<typeof ColumnSummarySchema>;

export const ColumnTypeSchema = z.enum(COLUMN_TYPES);
export type ColumnType = z.infer<typeof ColumnTypeSchema>;

export const WarningCodeSchema = z
  .enum([
    'renamedHeader',
    'strayTokens',
    'constantColumn',
    'idLike',
    'highCardinality',
    'integerCodes',
    'invalidValues',
    'imbalancedTarget',
  ])
  .describe(
    [
      'renamedHeader: an empty or repeated header name was renamed (Unnamed: <index>, <name>.1), or the spaces around one removed;',
      'strayTokens: a numeric (or date) column has a few cells that are no number (no ISO date), read as missing (named with their counts);',
      'constantColumn: one value (or none) in every row; idLike: text unique per row, or integers unique per',
      'row with an id-ish name (id, *_id, index, row, Unnamed: 0), filling their range, or counting by one',
      'constant step of at most 10 (a row number); highCardinality: more than 50 categories and more than half the',
      'rows; integerCodes: at most 10 distinct integers, codes or quantities; invalidValues: cells that do',
      'not read as a type set by columnTypes, read as missing; imbalancedTarget (jobs): a class under 5%',
      'of the rows. constantColumn, idLike and highCardinality columns are left out of the default features.',
    ].join(' '),
  );

export const ColumnWarningSchema = z
  .object({
    column: z.string().nullable(),
    code: WarningCodeSchema,
    message: z.string(),
  })
  .meta({ id: 'ColumnWarning' });
export type ColumnWarning = z.infer<typeof ColumnWarningSchema>;

export const DelimiterSchema = z.enum([',', ';', '\t', '|']);
export const DecimalSchema = z.enum(['.', ',']);

/** How a dataset's file is read: what upload detected or was told, plus the user's overrides. */
export const CsvFormatSchema = z
  .object({
    delimiter: DelimiterSchema,
    decimal: z.enum(['.', ',', 'auto']).describe('auto: either mark (files not separated by commas)'),
    charset: z.string(),
    missingValues: z
      .array(z.string())
      .nullable()
      .describe('Cells read as missing; null: the defaults (empty, NA, N/A, #N/A, NaN, null, None, ?, -)'),
    columnTypes: columnMap(ColumnTypeSchema).describe('Column types set by the user'),
  })
  .meta({ id: 'CsvFormat' });
export type CsvFormat = z.infer<typeof CsvFormatSchema>;

/** How to read an upload, as the user may say it (at upload, or on PATCH to re-read the file). */
export const ReadOptionsSchema = z
  .object({
    delimiter: DelimiterSchema.optional().describe('Field separator; detected among , ; tab | when absent'),
    decimal: DecimalSchema.optional().describe(
      'Decimal mark; default . for comma-separated files, either . or , otherwise',
    ),
    charset: z
      .string()
      .min(1)
      .max(40)
      .optional()
      .describe('utf-8 (default), utf-16le/be, windows-1252, iso-8859-1, …; a BOM takes precedence'),
    missingValues: z
      .array(z.string().max(100))
      .max(100)
      .nullable()
      .optional()
      .describe(
        'Cells read as missing, replacing the defaults (null restores them); empty is always missing',
      ),
    columnTypes: columnMap(ColumnTypeSchema, z.string().min(1).max(1000))
      .optional()
      .describe('Column types that override inference, e.g. {"zip": "categorical"}'),
  })
  .strict()
  .meta({ id: 'ReadOptions' });
export type ReadOptions = z.infer<typeof ReadOptionsSchema>;

export const DatasetSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    rowCount: z.number().int(),
    sizeBytes: z.number().int(),
    createdAt: IsoDateSchema,
    columns: z.array(ColumnSummarySchema),
    warnings: z.array(ColumnWarningSchema),
    format: CsvFormatSchema,
  })
  .meta({ id: 'Dataset' });
export type Dataset = z.infer<typeof DatasetSchema>;

// ---------- training spec ----------

/** The engine's activations a hidden layer may use through the API (the compiler checks each name). */
const HIDDEN_ACTIVATIONS = [
  'sigmoid',
  'tanh',
  'relu',
  'leakyRelu',
  'selu',
  'gelu',
  'mish',
  'linear',
] as const satisfies readonly ActivationName[];
export const HiddenActivationSchema = z.enum(HIDDEN_ACTIVATIONS);
export const InitializerSchema = z.enum(INITIALIZERS);
export const LossSchema = z.enum(LOSSES);
export const TaskSchema = z.enum(['classification', 'regression']);
/** The encoder's scalings offered by the API. */
const API_SCALINGS = ['standardize', 'minmax', 'robust', 'none'] as const satisfies readonly Scaling[];
export const ScalingSchema = z.enum(API_SCALINGS);
export const UnknownCategorySchema = z.enum(UNKNOWN_CATEGORY_POLICIES);
const OptimizerTypeSchema = z.enum(OPTIMIZER_TYPES);
export const ScheduleSchema = z
  .enum(['constant', 'cosine', 'flatCosine', 'cosLog4'])
  .describe(
    'constant; cosine (1 → 0); flatCosine (1 for the first half, then cosine to 0); cosLog4 (four cosine cycles of growing length)',
  );
export const RecipeSchema = z
  .enum(['quality', 'fast'])
  .describe(
    'Where unset fields take their defaults: "quality" (the default: a 5-fold cross-validated ensemble of networks with piecewise-linear encoding of the numeric inputs, about 5–8× slower) or "fast" (one network with early stopping on a validation split)',
  );

export const LayerSchema = z
  .object({
    units: z.number().int().min(1),
    activation: HiddenActivationSchema.default('relu'),
    dropout: z
      .number()
      .min(0)
      .lt(1)
      .optional()
      .describe('Inverted dropout rate after this layer while training'),
  })
  .strict();

/**
 * Which networks of a job get its embedding (training.ts embeddingOf): all, or those at even
 * 0-based indices in training order (a mixed ensemble; README "Training defaults").
 */
const EmbeddingMembersSchema = z.enum(['all', 'alternate']);
const embeddingMembers = {
  members: EmbeddingMembersSchema.optional().describe(
    'Networks that get the embedding: all (unset), or alternate: networks 1, 3, 5, … in training order (folds, then ensemble members within a fold) get it and the others train on the plain inputs, a mixed ensemble',
  ),
};

/**
 * Per-feature embeddings of the numeric inputs in front of the first layer (engine embedding.ts):
 * periodic, each numeric input x also enters as `size` values W₂·cos(2π·w₁·x + b₁) + b₂; or
 * piecewise-linear, x also enters as its position within each of `bins` quantile bins of the
 * training rows.
 */
const PeriodicEmbeddingSchema = z
  .object({
    type: z.literal('periodic'),
    frequencies: z.number().int().min(1).max(64).default(16).describe('Learned frequencies per feature'),
    size: z.number().int().min(1).max(16).default(3).describe('Embedding outputs per feature'),
    sigma: z
      .number()
      .positive()
      .max(100)
      .default(0.1)
      .describe('Standard deviation of the initial frequencies, in cycles per unit of the scaled input'),
    ...embeddingMembers,
  })
  .strict();
const PiecewiseLinearEmbeddingSchema = z
  .object({
    type: z.literal('piecewiseLinear'),
    bins: z
      .number()
      .int()
      .min(2)
      .max(64)
      .default(8)
      .describe('Quantile bins per numeric input, from the training rows (fewer where values repeat)'),
    ...embeddingMembers,
  })
  .strict();
export const EmbeddingSchema = z.discriminatedUnion('type', [
  PeriodicEmbeddingSchema,
  PiecewiseLinearEmbeddingSchema,
]);

const optimizerCommon = {
  learningRate: z.number().positive().max(10).optional(),
  weightDecay: z.number().min(0).max(1).optional(),
  clipNorm: z.number().positive().optional(),
  decoupledWeightDecay: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('AdamW-style decay on weights (not biases): w ← w·(1 − lr·decoupledWeightDecay) each step'),
};
export const OptimizerSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('sgd'), ...optimizerCommon }).strict(),
    z
      .object({
        type: z.literal('momentum'),
        momentum: z.number().min(0).lt(1).default(OPTIMIZER_DEFAULTS.momentum.momentum),
        nesterov: z.boolean().default(OPTIMIZER_DEFAULTS.momentum.nesterov),
        ...optimizerCommon,
      })
      .strict(),
    z
      .object({
        type: z.literal('adagrad'),
        epsilon: z.number().positive().default(OPTIMIZER_DEFAULTS.adagrad.epsilon),
        ...optimizerCommon,
      })
      .strict(),
    z
      .object({
        type: z.literal('rmsprop'),
        rho: z.number().min(0).lt(1).default(OPTIMIZER_DEFAULTS.rmsprop.rho),
        epsilon: z.number().positive().default(OPTIMIZER_DEFAULTS.rmsprop.epsilon),
        ...optimizerCommon,
      })
      .strict(),
    z
      .object({
        type: z.literal('adam'),
        beta1: z.number().min(0).lt(1).default(OPTIMIZER_DEFAULTS.adam.beta1),
        beta2: z.number().min(0).lt(1).default(OPTIMIZER_DEFAULTS.adam.beta2),
        epsilon: z.number().positive().default(OPTIMIZER_DEFAULTS.adam.epsilon),
        ...optimizerCommon,
      })
      .strict(),
  ])
  .transform((o) => ({ ...o, learningRate: o.learningRate ?? DEFAULT_LEARNING_RATE[o.type] }));

export const EarlyStoppingSchema = z
  .object({
    patience: z.number().int().min(1).max(10_000).default(TRAINING_DEFAULTS.earlyStopping.patience),
    minDelta: z.number().min(0).default(TRAINING_DEFAULTS.earlyStopping.minDelta),
    restoreBest: z.boolean().default(TRAINING_DEFAULTS.earlyStopping.restoreBest),
  })
  .strict();

/**
 * What a client sends. Only datasetId and target are required; defaults that depend on the data
 * (task, loss, hidden layers) are resolved by the jobs service, which knows the dataset.
 */
export const TrainingSpecInputSchema = z
  .object({
    datasetId: z.string().min(1).max(100),
    target: z.string().min(1).max(1000),
    features: z.array(z.string().min(1).max(1000)).min(1).max(10_000).optional(),
    task: TaskSchema.optional(),
    /** Column types for this job only, over the dataset's (e.g. {"zip": "categorical"}). */
    columnTypes: columnMap(ColumnTypeSchema, z.string().min(1).max(1000)).optional(),
    model: z
      .object({
        layers: z.array(LayerSchema).max(1000).optional(),
        initializer: InitializerSchema.optional(),
        /** Output for two-class problems: a softmax over both classes, or one sigmoid unit. */
        binaryOutput: z.enum(['softmax', 'sigmoid']).optional(),
        embedding: z
          .union([EmbeddingSchema, z.literal(false)])
          .optional()
          .describe('Periodic embeddings of the numeric inputs (false: none)'),
      })
      .strict()
      .prefault({}),
    recipe: RecipeSchema.default('quality'),
    training: z
      .object({
        epochs: z.number().int().min(1).optional(),
        batchSize: z.number().int().min(1).max(65_536).optional(),
        optimizer: OptimizerSchema.optional(),
        loss: LossSchema.optional(),
        validationSplit: z.number().min(0).max(0.5).optional(),
        testSplit: z.number().min(0).max(0.5).default(TRAINING_DEFAULTS.testSplit),
        earlyStopping: z.union([EarlyStoppingSchema, z.literal(false)]).optional(),
        crossValidation: z
          .union([z.object({ folds: z.number().int().min(2).max(20) }).strict(), z.literal(false)])
          .optional()
          .describe(
            'k stratified folds of the non-test rows: k networks, each validated on its own fold; predictions average them',
          ),
        ensemble: z
          .number()
          .int()
          .min(1)
          .max(32)
          .optional()
          .describe('Networks per split (or per fold) with different seeds, averaged'),
        bestEpoch: z
          .enum(['metric', 'loss'])
          .or(z.literal(false))
          .optional()
          .describe(
            'Keep each network at its best validation epoch: on accuracy/RMSE ("metric") or the loss; false keeps the last',
          ),
        labelSmoothing: z.number().min(0).lt(1).optional(),
        learningRateSchedule: ScheduleSchema.optional(),
        warmupFraction: z.number().min(0).max(1).optional(),
        regularizationSchedule: ScheduleSchema.optional().describe(
          'Schedule of dropout and decoupled weight decay',
        ),
        seed: z
          .number()
          .int()
          .min(0)
          .max(2 ** 32 - 1)
          .default(TRAINING_DEFAULTS.seed),
        maxRuntimeSeconds: z.number().int().min(1).optional(),
      })
      .strict()
      .prefault({}),
    preprocessing: z
      .object({
        scaling: ScalingSchema.optional(),
        /** What prediction does with a category the training split never saw. */
        unknownCategory: UnknownCategorySchema.default(TRAINING_DEFAULTS.unknownCategory),
        missingIndicators: z
          .boolean()
          .optional()
          .describe('A numeric feature with missing training values gets a 0/1 "was missing" input'),
        binaryAsOneInput: z
          .boolean()
          .optional()
          .describe('A categorical feature with two categories and no missing value is one 0/1 input'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .meta({ id: 'TrainingSpecRequest' }); // not "…Input": the OpenAPI generator names input forms `<id>Input`
export type TrainingSpecInput = z.input<typeof TrainingSpecInputSchema>;
export type TrainingSpecParsed = z.output<typeof TrainingSpecInputSchema>;

/** The fully resolved spec a job echoes and a worker trains: every default filled in. */
export const TrainingSpecSchema = z
  .object({
    datasetId: z.string(),
    target: z.string(),
    features: z.array(z.string()),
    task: TaskSchema,
    /** The dataset's read format with the job's columnTypes merged in: what the worker reads the file with. */
    csv: CsvFormatSchema.optional(),
    recipe: RecipeSchema,
    model: z.object({
      layers: z.array(
        z.object({
          units: z.number().int(),
          activation: HiddenActivationSchema,
          dropout: z.number().optional(),
        }),
      ),
      initializer: InitializerSchema,
      binaryOutput: z.enum(['softmax', 'sigmoid']),
      embedding: z
        .union([
          z.object({
            type: z.literal('periodic'),
            frequencies: z.number().int(),
            size: z.number().int(),
            sigma: z.number(),
            members: EmbeddingMembersSchema.optional(),
          }),
          z.object({
            type: z.literal('piecewiseLinear'),
            bins: z.number().int(),
            members: EmbeddingMembersSchema.optional(),
          }),
          z.literal(false),
        ])
        .default(false),
    }),
    training: z.object({
      epochs: z.number().int(),
      batchSize: z.number().int(),
      optimizer: z.object({ type: OptimizerTypeSchema, learningRate: z.number() }).loose(),
      loss: LossSchema,
      validationSplit: z.number(),
      testSplit: z.number(),
      earlyStopping: z.union([
        z.object({ patience: z.number().int(), minDelta: z.number(), restoreBest: z.boolean() }),
        z.literal(false),
      ]),
      crossValidation: z.union([z.object({ folds: z.number().int() }), z.literal(false)]),
      ensemble: z.number().int(),
      bestEpoch: z.enum(['metric', 'loss']).or(z.literal(false)),
      labelSmoothing: z.number(),
      learningRateSchedule: ScheduleSchema,
      warmupFraction: z.number(),
      regularizationSchedule: ScheduleSchema,
      seed: z.number().int(),
      maxRuntimeSeconds: z.number().int(),
    }),
    preprocessing: z.object({
      scaling: ScalingSchema,
      unknownCategory: UnknownCategorySchema,
      missingIndicators: z.boolean(),
      binaryAsOneInput: z.boolean(),
    }),
    /** Why the defaults that depend on the data came out as they did. */
    decisions: z
      .object({
        task: z.object({
          value: TaskSchema,
          rule: z.enum(['requested', 'categoricalTarget', 'booleanTarget', 'integerLabels', 'numericTarget']),
          reason: z.string(),
        }),
        excludedFeatures: z
          .array(z.object({ column: z.string(), code: WarningCodeSchema, message: z.string() }))
          .describe('Columns left out of the default features (ID-like, constant, very-high-cardinality)'),
        warnings: z.array(ColumnWarningSchema).describe('About the target (e.g. imbalancedTarget)'),
      })
      .optional(),
  })
  .meta({ id: 'TrainingSpec' });
export type TrainingSpec = z.infer<typeof TrainingSpecSchema>;

// ---------- jobs ----------

/** Which hyperparameter search made a training run or a model, and as what. */
const TuningLinkShape = {
  tuningJobId: z
    .string()
    .optional()
    .describe('The hyperparameter search (tun_…) it belongs to; absent outside searches'),
  tuningRole: z
    .enum(['trial', 'refit'])
    .optional()
    .describe(
      "With tuningJobId: a trial run (one rung of one trial) or the refit of the best trial, the search's result",
    ),
};
export type TuningLink = { tuningJobId: string; tuningRole: 'trial' | 'refit' };

export const JobStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatusSchema>;
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export const EpochEntrySchema = z
  .object({
    epoch: z.number().int(),
    loss: z.number(),
    valLoss: z.number().optional(),
    valAccuracy: z.number().optional(),
    valR2: z.number().optional(),
  })
  .meta({ id: 'EpochEntry' });
export type EpochEntry = z.infer<typeof EpochEntrySchema>;

export const JobErrorCodeSchema = z.enum([
  'diverged',
  'invalidData',
  'timeout',
  'workerCrashed',
  'datasetDeleted',
  'internal',
]);

export const AttemptSchema = z.object({
  attempt: z.number().int(),
  startedAt: IsoDateSchema,
  endedAt: IsoDateSchema.nullable(),
  /** Why this attempt ended without a result: workerCrashed (lock lost), shutdown (handed back), error code. */
  outcome: z.string().nullable(),
  resumedFromEpoch: z.number().int(),
});
export type Attempt = z.infer<typeof AttemptSchema>;

export const JobSchema = z
  .object({
    id: z.string(),
    status: JobStatusSchema,
    datasetId: z.string(),
    spec: TrainingSpecSchema,
    createdAt: IsoDateSchema,
    startedAt: IsoDateSchema.nullable(),
    finishedAt: IsoDateSchema.nullable(),
    progress: z.object({ epoch: z.number().int(), epochs: z.number().int() }),
    history: z.array(EpochEntrySchema),
    modelId: z.string().nullable(),
    error: z.object({ code: JobErrorCodeSchema, message: z.string() }).nullable(),
    cancelRequested: z.boolean(),
    attempts: z.array(AttemptSchema),
    ...TuningLinkShape,
  })
  .meta({ id: 'TrainingJob' });
export type Job = z.infer<typeof JobSchema>;

/** What a job's event stream carries: an epoch as it is recorded, or the record after a status change. */
export type JobEvent =
  { type: 'epoch'; data: EpochEntry & { epochs: number } } | { type: 'status'; data: Job };

export const JobListQuerySchema = ListQuerySchema.extend({
  status: JobStatusSchema.optional(),
  tuningJobId: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe("Only this search's runs (trials and refit); without it, runs of searches are left out"),
}).strict();
export type JobListQuery = z.infer<typeof JobListQuerySchema>;

/**
 * Which jobs a list shows: those of `status` when given; a search's runs (trial and refit) only
 * when `tuningJobId` names that search, so a search's dozens of runs do not push the user's own
 * jobs off the first page.
 */
export function jobListFilter(query: Pick<JobListQuery, 'status' | 'tuningJobId'>): (job: Job) => boolean {
  const { status, tuningJobId } = query;
  return (job) =>
    (status === undefined || job.status === status) &&
    (tuningJobId === undefined ? !job.tuningJobId : job.tuningJobId === tuningJobId);
}

export const ModelListQuerySchema = ListQuerySchema.extend({
  tuningJobId: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe(
      "Only this search's models, its trial runs' included; without it, trial runs' models are left out",
    ),
}).strict();
export type ModelListQuery = z.infer<typeof ModelListQuerySchema>;

// ---------- models ----------

const CalibrationBinSchema = z.object({
  lower: z.number(),
  upper: z.number(),
  count: z.number().int(),
  meanPredicted: z.number().describe('Mean predicted probability of the rows in the bin'),
  observed: z.number().describe('Fraction of those rows where the event happened'),
});
// Fields added after the first release are optional: models trained before them lack them.
const ClassificationMetricsSchema = z.object({
  accuracy: z.number(),
  loss: z.number(),
  f1Macro: z.number().describe('Mean over the classes present in the true or predicted labels'),
  precisionMacro: z.number(),
  recallMacro: z.number(),
  logLoss: z.number().optional().describe('Mean −ln p(true class), p clamped to [1e-15, 1 − 1e-15]'),
  brierScore: z
    .number()
    .optional()
    .describe('Mean Σ_k (p_k − y_k)² over rows; halved for two classes, i.e. mean (p − y)²'),
  rocAuc: z
    .number()
    .nullable()
    .optional()
    .describe('ROC AUC of p(second class) for two classes, one-vs-rest macro for more; null if undefined'),
  prAuc: z
    .number()
    .nullable()
    .optional()
    .describe('Average precision (step-wise PR AUC), same averaging as rocAuc'),
  classes: z.array(z.string()).optional().describe('Class names of the confusion matrix rows and columns'),
  confusionMatrix: z.array(z.array(z.number().int())).describe('[true class][predicted class]'),
  perClass: z
    .array(
      z.object({
        class: z.string(),
        precision: z.number(),
        recall: z.number(),
        f1: z.number(),
        support: z.number().int().describe('Rows whose true class this is'),
      }),
    )
    .optional(),
  calibration: z
    .array(CalibrationBinSchema)
    .optional()
    .describe(
      'Ten equal-width bins of predicted probability (p(second class) for two classes, the top ' +
        "class's otherwise), empty bins left out",
    ),
});
const RegressionMetricsSchema = z.object({
  loss: z.number(),
  mse: z.number(),
  rmse: z.number(),
  mae: z.number(),
  r2: z.number(),
  mape: z.number().optional().describe('Mean |actual − predicted| / |actual|, a fraction (0.1 = 10 %)'),
  residualQuantiles: z
    .object({ q05: z.number(), q25: z.number(), q50: z.number(), q75: z.number(), q95: z.number() })
    .optional()
    .describe('Quantiles of actual − predicted (linear interpolation)'),
});
export const SplitMetricsSchema = z.union([ClassificationMetricsSchema, RegressionMetricsSchema]).nullable();
/** The metrics of predicting without the features: majority and stratified, or mean and median. */
export const BaselinesSchema = z.union([
  z.object({ majority: ClassificationMetricsSchema, stratified: ClassificationMetricsSchema }),
  z.object({ mean: RegressionMetricsSchema, median: RegressionMetricsSchema }),
]);

export const ModelSchema = z
  .object({
    id: z.string(),
    jobId: z.string(),
    datasetId: z.string(),
    task: TaskSchema,
    target: z.string(),
    classes: z.array(z.string()).nullable(),
    features: z.array(z.object({ name: z.string(), type: ColumnTypeSchema })),
    /** How prediction treats a category not seen in training: as missing, or a 400. */
    unknownCategory: UnknownCategorySchema,
    metrics: z.object({
      test: SplitMetricsSchema,
      validation: SplitMetricsSchema,
      train: SplitMetricsSchema,
      folds: z
        .array(
          z.object({
            fold: z.number().int(),
            rows: z.number().int(),
            bestEpochs: z.array(z.number().int()).describe('The epoch each network of the fold was kept at'),
            metrics: SplitMetricsSchema,
          }),
        )
        .optional()
        .describe(
          'Cross-validation: each fold scored by the networks that did not train on it; `validation` is then all folds together',
        ),
      foldMean: z
        .record(z.string(), z.number())
        .optional()
        .describe('Mean over the folds of each numeric metric (accuracy, loss, r2, rmse…)'),
    }),
    parameterCount: z.number().int(),
    epochsTrained: z.number().int(),
    createdAt: IsoDateSchema,
    baselines: BaselinesSchema.nullable()
      .optional()
      .describe(
        'The test metrics of predicting without the features, from the training split: the class ' +
          'frequencies (majority) and seeded draws from them (stratified), or the training mean and median',
      ),
    featureImportance: z
      .array(
        z.object({
          feature: z.string().describe('An original column (its one-hot inputs are shuffled together)'),
          mean: z.number().describe('Mean drop of the test score when the column is shuffled'),
          std: z.number().describe('Standard deviation of the drop over the repeats'),
        }),
      )
      .nullable()
      .optional()
      .describe(
        'Permutation importance on the test split (at most 2,000 rows, 5 seeded shuffles per column); ' +
          'the score is accuracy for classification, r² for regression. Sorted by decreasing mean',
      ),
    ...TuningLinkShape,
    /** Set on a model created by POST /v1/models/import. */
    importedFrom: z
      .object({
        modelId: z.string().describe('Its id where it was exported'),
        exportedAt: IsoDateSchema,
        trainedAt: IsoDateSchema,
      })
      .optional()
      .describe(
        'Present when the model came from an export file; jobId and datasetId then name the exporting deployment',
      ),
  })
  .meta({ id: 'Model' });
export type Model = z.infer<typeof ModelSchema>;

export const PredictCellSchema = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);
export const PredictRequestSchema = z
  .object({
    rows: z
      .array(z.record(z.string().max(1000), PredictCellSchema))
      .min(1)
      .max(10_000),
    explain: z
      .boolean()
      .default(false)
      .describe(
        'Add per-column contributions to each prediction (at most 100 rows; JSON answers only): ' +
          'sampled Shapley values against the all-missing row, summing to the prediction minus the baseline',
      ),
  })
  .strict()
  .meta({ id: 'PredictRequest' });
export type PredictRequest = z.infer<typeof PredictRequestSchema>;

const ExplanationSchema = z
  .object({
    method: z.literal('shapleySampling'),
    baseline: z
      .number()
      .describe(
        "The explained output (the predicted class's probability, or the value) at the all-missing row",
      ),
    contributions: columnMap(z.number()).describe(
      'Per column; they sum to the explained output minus the baseline',
    ),
  })
  .meta({ id: 'Explanation' });
export const PredictionSchema = z.union([
  z.object({
    label: z.string(),
    probabilities: columnMap(z.number()),
    explanation: ExplanationSchema.optional(),
  }),
  z.object({ value: z.number(), explanation: ExplanationSchema.optional() }),
]);
export const RowWarningSchema = z
  .object({
    row: z.number().int().describe('0-based index of the row in the request'),
    code: z.enum(['imputed', 'unseenCategory', 'unknownColumns']),
    columns: z.array(z.string()),
    message: z.string(),
  })
  .meta({ id: 'RowWarning' });
export const PredictResponseSchema = z
  .object({
    predictions: z.array(PredictionSchema),
    warnings: z
      .array(RowWarningSchema)
      .optional()
      .describe(
        'Per row: values imputed (missing), categories not seen in training, keys the model does not use',
      ),
  })
  .meta({ id: 'PredictResponse' });
export type PredictResponse = z.infer<typeof PredictResponseSchema>;
