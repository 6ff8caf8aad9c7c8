// The upload benchmark's file: a seeded 300,000-row × 27-column CSV of about 64 MB, shaped like a
// real export: an id, floats of several widths, integers, short categories, a quoted text column
// with commas in it, yes/no, ISO dates and date-times, zip codes with leading zeros, a class label,
// and a few missing cells ("" and "NA"). The same seed always gives the same bytes.
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { createRng, type Rng } from '../src/engine/index.js';

/** Rows and columns of the benchmark file (issue 10: 300,000 × 27, about 64 MB). */
export const UPLOAD_ROWS = 300_000;
export const UPLOAD_COLUMNS = 27;
const SEED = 20_261_201;

const CITIES = [
  'Amsterdam',
  'Berlin',
  'Chicago',
  'Dakar',
  'Edinburgh',
  'Florence',
  'Geneva',
  'Hanoi',
  'Istanbul',
  'Jakarta',
  'Kyoto',
  'Lisbon',
  'Madrid',
  'Nairobi',
  'Oslo',
  'Porto',
  'Quito',
  'Riga',
  'Seoul',
  'Toronto',
  'Utrecht',
  'Vienna',
  'Warsaw',
  'Xiamen',
  'York',
  'Zurich',
];
const GRADES = ['A', 'B', 'C', 'D', 'E'];
const COLORS = ['red', 'green', 'blue', 'black', 'white', 'silver'];
const SURNAMES = [
  'Smith',
  'Garcia',
  'Okafor',
  'Nguyen',
  'Müller',
  'Rossi',
  'Kowalski',
  'Tanaka',
  'Silva',
  "O'Brien",
];
const GIVEN = ['Ana', 'Ben', 'Chloé', 'Dev', 'Eva', 'Femi', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kai', 'Lea'];
const LABELS = ['churn', 'stay', 'pause'];

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[Math.floor(rng.next() * list.length)];
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** A cell that is missing about `share` of the time ("" or "NA"), else `text`. */
function maybeMissing(rng: Rng, share: number, text: string): string {
  const u = rng.next();
  if (u >= share) return text;
  return u < share / 2 ? '' : 'NA';
}

/** The header row: 27 names. */
export function uploadHeader(): string {
  const floats = Array.from({ length: 12 }, (_, i) => `x${i + 1}`);
  return [
    'id',
    ...floats,
    'age',
    'visits',
    'items',
    'score',
    'city',
    'grade',
    'product',
    'color',
    'customer',
    'active',
    'signed_up',
    'last_seen',
    'zip',
    'label',
  ].join(',');
}

/** One data row (without its newline) of the benchmark file. */
export function uploadRow(rng: Rng, id: number): string {
  const cells: string[] = [String(id)];
  for (let j = 0; j < 12; j++) {
    const scale = 10 ** (j % 4);
    const v = rng.normal() * scale + j;
    cells.push(maybeMissing(rng, j < 3 ? 0.01 : 0, v.toFixed(4 + (j % 3))));
  }
  cells.push(String(18 + Math.floor(rng.next() * 70)));
  cells.push(maybeMissing(rng, 0.02, String(Math.floor(rng.next() * 400))));
  cells.push(String(Math.floor(rng.next() * 12)));
  cells.push(String(Math.floor(rng.next() * 100_000)));
  cells.push(pick(rng, CITIES), pick(rng, GRADES), `P-${pad(Math.floor(rng.next() * 2000), 4)}`);
  cells.push(maybeMissing(rng, 0.03, pick(rng, COLORS)));
  cells.push(`"${pick(rng, SURNAMES)}, ${pick(rng, GIVEN)}"`);
  cells.push(rng.next() < 0.5 ? 'yes' : 'no');
  const day = Date.UTC(2015, 0, 1) + Math.floor(rng.next() * 3000) * 86_400_000;
  cells.push(new Date(day).toISOString().slice(0, 10));
  const seen = day + Math.floor(rng.next() * 400 * 86_400) * 1000;
  cells.push(new Date(seen).toISOString().slice(0, 19));
  cells.push(pad(Math.floor(rng.next() * 99_999), 5));
  cells.push(pick(rng, LABELS));
  return cells.join(',');
}

/** Writes the benchmark file to path (unless it is there already, of a plausible size); resolves with its size in bytes. */
export async function writeUploadCsv(path: string, rows = UPLOAD_ROWS): Promise<number> {
  if (existsSync(path) && statSync(path).size > rows * 100) return statSync(path).size;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  const rng = createRng(SEED);
  let chunk = uploadHeader() + '\n';
  for (let r = 1; r <= rows; r++) {
    chunk += uploadRow(rng, r) + '\n';
    if (chunk.length > 1 << 20 || r === rows) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end();
  await once(out, 'finish');
  renameSync(tmp, path);
  return statSync(path).size;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const path = process.argv[2] ?? '/tmp/backprop-bench/data/upload.csv';
  const size = await writeUploadCsv(path);
  process.stdout.write(`${path}: ${(size / 2 ** 20).toFixed(1)} MiB\n`);
}
