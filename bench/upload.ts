// The upload benchmark: reading the seeded 64 MB CSV of bench/upload-data.ts (300,000 rows × 27
// columns) the way an upload is read, in the CSV describer's worker threads (parse, type
// inference, statistics, warnings): the API's pool of two threads, which read this file together
// (src/storage/csv-split.ts), and one thread (`one_thread`, in a child process); next to pandas'
// read_csv on the same file when a python3 with pandas is at hand. Prints one JSON line. Run alone
// (`npx tsx bench/upload.ts`) or from `npm run bench -- --workloads=upload`.
//
// Figures: MB/s of wall time and of the process's CPU time (10^6 bytes, as pandas' figure), and
// the parsing threads' peak memory (their sum): the process's peak resident set minus its size
// once the threads had started and before the file was read (this process does nothing else).
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCsvDescriber } from '../src/storage/csv-describer.js';
import { UPLOAD_COLUMNS, UPLOAD_ROWS, writeUploadCsv } from './upload-data.js';

const LIMITS = { maxColumns: 1000, maxRows: 10_000_000, maxLineBytes: 1 << 20 };
const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** The default place of the file, beside the other benchmark data. */
export function uploadCsvPath(): string {
  const benchDir = resolve(process.env.BENCH_DIR || join(process.env.TMPDIR || '/tmp', 'backprop-bench'));
  return join(benchDir, 'data', 'upload.csv');
}

/** Reads the file once through a real describer pool of `threads` threads; the figures of that read. */
async function measureOurs(path: string, threads: number): Promise<Record<string, number>> {
  const bytes = statSync(path).size;
  // Every file is read by both threads (the upload file is far above the default threshold), so the
  // first tiny read loads both threads' modules and they are not counted as the file's time or memory.
  const pool = createCsvDescriber({ prestart: true, threads, splitMinBytes: 0 });
  const tiny = join(resolve(path, '..'), 'upload-warmup.csv');
  await writeUploadCsv(tiny, 100);
  await pool.describe(tiny, LIMITS);
  const rssBefore = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const described = await pool.describe(path, LIMITS);
  const wall = (performance.now() - t0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  await pool.close();
  if (described.rowCount !== UPLOAD_ROWS || described.columns.length !== UPLOAD_COLUMNS)
    throw new Error(`read ${described.rowCount} rows × ${described.columns.length} columns`);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const peakMb = (process.resourceUsage().maxRSS * 1024 - rssBefore) / 2 ** 20;
  return {
    file_mb: round(bytes / 1e6, 1),
    wall_s: round(wall, 3),
    cpu_s: round(cpuS, 3),
    mb_per_s: round(bytes / 1e6 / wall, 1),
    cpu_mb_per_s: round(bytes / 1e6 / cpuS, 1),
    thread_peak_mb: round(peakMb, 1),
    thread_peak_x_file: round((peakMb * 2 ** 20) / bytes, 2),
  };
}

const PANDAS = `
import sys, time, pandas
t, c = time.perf_counter(), time.process_time()
df = pandas.read_csv(sys.argv[1])
r, rc = time.perf_counter() - t, time.process_time() - c
t = time.perf_counter(); df.describe(include='all'); d = time.perf_counter() - t
print(pandas.__version__, r, d, rc, len(df), len(df.columns))
`;

/** pandas' read_csv (and describe) on the file, with the first python3 that has pandas; null when none. */
function measurePandas(path: string): Record<string, unknown> | null {
  for (const python of ['python3', '/usr/bin/python3']) {
    const out = spawnSync(python, ['-c', PANDAS, path], { encoding: 'utf8' });
    if (out.status !== 0) continue;
    const [version, read, describe, readCpu] = out.stdout.trim().split(' ');
    const mb = statSync(path).size / 1e6;
    return {
      python,
      version,
      read_csv_s: round(Number(read), 3),
      read_csv_mb_per_s: round(mb / Number(read), 1),
      read_csv_cpu_mb_per_s: round(mb / Number(readCpu), 1),
      describe_s: round(Number(describe), 3),
    };
  }
  return null;
}

/** measureOurs(path, 1) in a child process (this file with --one-thread); null when it fails. */
function measureOneThread(path: string): Record<string, number> | null {
  const self = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, [...process.execArgv, self, path, '--one-thread'], {
    encoding: 'utf8',
  });
  return out.status === 0 ? (JSON.parse(out.stdout) as Record<string, number>) : null;
}

/** Runs the benchmark; the JSON line it prints. */
export async function runUploadBench(path = uploadCsvPath()): Promise<Record<string, unknown>> {
  await writeUploadCsv(path);
  // The default pool of two threads here; one thread (as before two-thread reads) in a process of
  // its own, since the peak resident set is the process's whole life's.
  const ours = await measureOurs(path, 2);
  const one = measureOneThread(path);
  const pandas = measurePandas(path);
  return {
    workload: 'upload',
    ...ours,
    one_thread: one,
    pandas: pandas ?? 'absent (no python3 with pandas; apt-get install python3-pandas)',
    // Wall-time ratio, and CPU-time ratio (less skewed by other processes on a loaded machine).
    vs: pandas
      ? {
          pandas: round(ours.mb_per_s / Number(pandas.read_csv_mb_per_s), 2),
          pandas_cpu: round(ours.cpu_mb_per_s / Number(pandas.read_csv_cpu_mb_per_s), 2),
        }
      : {},
    targets: { mb_per_s_ge_50: ours.mb_per_s >= 50, thread_peak_le_3x_file: ours.thread_peak_x_file <= 3 },
    load_avg_1m: round(loadavg()[0], 2),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const result =
    process.argv[3] === '--one-thread'
      ? await measureOurs(process.argv[2], 1)
      : await runUploadBench(process.argv[2]);
  process.stdout.write(JSON.stringify(result) + '\n');
}
