// Datasets: an upload is streamed to a staging file (counting bytes against the limit), parsed and
// described by the CsvDescriber (off the event loop), then moved into place and recorded. Nothing
// is kept on failure.
import { CSV_SIZE_KINDS, CsvError } from '../data/index.js';
import { NotFoundError, TooLargeError, UnprocessableError } from './errors.js';
import { newId } from './ids.js';
import type { CsvDescriber, DatasetStore } from './ports.js';
import type { Dataset } from './schemas.js';
import type { DatasetService } from './services.js';

export interface DatasetLimits {
  maxUploadBytes: number;
  maxColumns: number;
  maxRows: number;
  maxLineBytes: number;
}

export function createDatasetService(deps: {
  store: DatasetStore;
  describer: CsvDescriber;
  limits: DatasetLimits;
  now?: () => Date;
}): DatasetService {
  const { store, describer, limits } = deps;
  const now = deps.now ?? (() => new Date());

  return {
    async create(tenant, input) {
      const { path: staged, sizeBytes } = await store.stage(input.body, limits.maxUploadBytes);
      try {
        const name = input.resolveName ? await input.resolveName() : input.name;
        const { rowCount, columns } = await describer
          .describe(staged, {
            maxColumns: limits.maxColumns,
            maxRows: limits.maxRows,
            maxLineBytes: limits.maxLineBytes,
          })
          .catch((err: unknown) => {
            throw csvProblem(err);
          });
        const dataset: Dataset = {
          id: newId('ds'),
          name,
          rowCount,
          sizeBytes,
          createdAt: now().toISOString(),
          columns,
        };
        await store.save(tenant, dataset, staged);
        return dataset;
      } finally {
        // After a successful save the file has moved away and this is a no-op.
        await store.discard(staged);
      }
    },

    async get(tenant, id) {
      const dataset = await store.get(tenant, id);
      if (!dataset) throw new NotFoundError('Dataset', id);
      return dataset;
    },

    list: (tenant, query) => store.list(tenant, query),

    async remove(tenant, id) {
      if (!(await store.remove(tenant, id))) throw new NotFoundError('Dataset', id);
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
