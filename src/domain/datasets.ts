// Datasets: an upload is streamed to a staging file (counting bytes against the limit), parsed and
// described by the CsvDescriber (off the event loop), then moved into place and recorded. Nothing
// is kept on failure.
import { CSV_SIZE_KINDS, CsvError, charsetName, type CsvLimits, type CsvOptions } from '../data/index.js';

export { charsetName };
import { ConflictError, NotFoundError, TooLargeError, UnprocessableError } from './errors.js';
import { newId } from './ids.js';
import { csvLimitsOf, type Limits } from './limits.js';
import type { CsvDescriber, DatasetStore, JobStore, TenantId } from './ports.js';
import type { CsvFormat, Dataset, ReadOptions } from './schemas.js';
import type { DatasetService } from './services.js';

/** The limits an upload is held to (src/domain/limits.ts). */
export type DatasetLimits = Pick<Limits, 'MAX_UPLOAD_BYTES' | 'MAX_COLUMNS' | 'MAX_ROWS' | 'MAX_LINE_BYTES'>;

/**
 * Ids of the tenant's unfinished work that reads dataset `datasetId`: queued or running training
 * jobs and batch predictions, and tuning searches that will start more jobs.
 */
export type DatasetUsers = (tenant: TenantId, datasetId: string) => Promise<string[]>;

/** The tenant's unfinished work of one kind, each with the dataset it reads. */
type ActiveUsers = (tenant: TenantId) => Promise<{ id: string; datasetId: string }[]>;

/** DatasetUsers over the job store, the still-running tuning searches and batch predictions. */
export function datasetUsers(deps: {
  jobs: Pick<JobStore, 'activeJobs'>;
  /** The tenant's unfinished tuning searches. */
  activeSearches?: ActiveUsers;
  /** The tenant's queued or running batch predictions. */
  activeBatches?: ActiveUsers;
}): DatasetUsers {
  return async (tenant, datasetId) => {
    const [jobs, searches, batches] = await Promise.all([
      deps.jobs.activeJobs(tenant),
      deps.activeSearches?.(tenant) ?? [],
      deps.activeBatches?.(tenant) ?? [],
    ]);
    return [
      ...[...searches, ...batches].filter((s) => s.datasetId === datasetId).map((s) => s.id),
      ...jobs.filter((j) => j.spec.datasetId === datasetId).map((j) => j.id),
    ].sort();
  };
}

export function createDatasetService(deps: {
  store: DatasetStore;
  describer: CsvDescriber;
  limits: DatasetLimits;
  /** Who still needs a dataset; a dataset in use is not deleted (409 naming them). */
  users: DatasetUsers;
  now?: () => Date;
}): DatasetService {
  const { store, describer, limits } = deps;
  const now = deps.now ?? (() => new Date());
  const csvLimits = csvLimitsOf(limits);

  const describe = (path: string, options: ReadOptions) => describeFile(describer, csvLimits, path, options);

  return {
    async create(tenant, input) {
      const { path: staged, sizeBytes } = await store.stage(input.body, limits.MAX_UPLOAD_BYTES);
      try {
        const name = input.resolveName ? await input.resolveName() : input.name;
        const options = input.resolveOptions ? await input.resolveOptions() : {};
        const dataset: Dataset = {
          id: newId('ds'),
          name,
          sizeBytes,
          createdAt: now().toISOString(),
          ...(await describe(staged, options)),
        };
        await store.save(tenant, dataset, staged);
        return dataset;
      } finally {
        // After a successful save the file has moved away and this is a no-op.
        await store.discard(staged);
      }
    },

    async drain(body) {
      await store.drain(body, limits.MAX_UPLOAD_BYTES);
    },

    async get(tenant, id) {
      const dataset = await store.get(tenant, id);
      if (!dataset) throw new NotFoundError('Dataset', id);
      return datasetWithDefaults(dataset);
    },

    async update(tenant, id, patch) {
      const current = await this.get(tenant, id);
      const { name, ...read } = patch;
      let next: Dataset = { ...current, ...(name !== undefined ? { name } : {}) };
      if (Object.keys(read).length > 0) {
        const options = rereadOptions(current.format, read);
        const copy = await store.stageStored(id);
        if (!copy) throw new NotFoundError('Dataset file', id);
        try {
          next = { ...next, ...(await describe(copy, options)) };
          await store.update(tenant, next, copy);
        } finally {
          await store.discard(copy);
        }
        return next;
      }
      await store.update(tenant, next);
      return next;
    },

    list: async (tenant, query) => {
      const page = await store.list(tenant, query);
      return { ...page, data: page.data.map(datasetWithDefaults) };
    },

    async remove(tenant, id) {
      if (!(await store.get(tenant, id))) throw new NotFoundError('Dataset', id);
      // A job that started on a dataset must be able to read it until it ends (a retry reads it
      // again); a job submitted in the instant between this check and the removal fails with
      // "dataset not found" rather than training on nothing.
      refuseInUse(id, await deps.users(tenant, id));
      if (!(await store.remove(tenant, id))) throw new NotFoundError('Dataset', id);
    },
  };
}

/** Reads and describes a file with these options; the dataset fields that come from its content. */
async function describeFile(
  describer: CsvDescriber,
  csvLimits: CsvLimits,
  path: string,
  options: ReadOptions,
): Promise<Pick<Dataset, 'rowCount' | 'columns' | 'warnings' | 'format'>> {
  const readOptions: CsvOptions = { ...options, missingValues: options.missingValues ?? null };
  const described = await describer.describe(path, csvLimits, readOptions, true).catch((err: unknown) => {
    throw csvProblem(err);
  });
  const format: CsvFormat = {
    ...described.format,
    missingValues: options.missingValues ?? null,
    columnTypes: options.columnTypes ?? {},
  };
  return { rowCount: described.rowCount, columns: described.columns, warnings: described.warnings, format };
}

/** A PATCH's reading options over the stored format: column types merge, the rest replace. */
function rereadOptions(f: CsvFormat, read: ReadOptions): ReadOptions {
  return {
    delimiter: read.delimiter ?? f.delimiter,
    decimal: read.decimal ?? (f.decimal === 'auto' ? undefined : f.decimal),
    charset: read.charset ?? f.charset,
    missingValues: read.missingValues !== undefined ? read.missingValues : f.missingValues,
    columnTypes: { ...f.columnTypes, ...read.columnTypes },
  };
}

/** 409 naming the unfinished jobs that still read dataset `id`, if any. */
function refuseInUse(id: string, users: string[]): void {
  if (users.length === 0) return;
  throw new ConflictError(
    `dataset ${id} is used by unfinished jobs (${users.join(', ')}); cancel them or wait for them to finish, then delete it`,
    users.map((jobId) => ({ path: 'jobs', message: jobId })),
  );
}

/** Datasets recorded before warnings and formats existed: plain comma-separated UTF-8, no warnings. */
export function datasetWithDefaults(d: Dataset): Dataset {
  return {
    ...d,
    warnings: d.warnings ?? [],
    format: d.format ?? {
      delimiter: ',',
      decimal: '.',
      charset: 'utf-8',
      missingValues: null,
      columnTypes: {},
    },
  };
}

/** CSV errors beyond the configured size limits (CSV_SIZE_KINDS) are 413; every other kind is a 422. */
function csvProblem(err: unknown): unknown {
  if (!(err instanceof CsvError)) return err;
  const where =
    err.row !== undefined
      ? ` (row ${err.row}${err.column !== undefined ? `, column ${err.column}` : ''})`
      : '';
  const message = err.message.includes('row') ? err.message : `${err.message}${where}`;
  const detail = `The file is not a usable table: ${message}`;
  return CSV_SIZE_KINDS.has(err.kind) ? new TooLargeError(detail) : new UnprocessableError(detail);
}
