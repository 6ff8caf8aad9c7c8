// CSV output. Every text cell that a spreadsheet would run as a formula (it starts with =, +, -,
// @, a tab or a carriage return: OWASP "CSV injection") is written with a leading apostrophe, so
// values that came from an uploaded file (class names, column names) stay inert when opened.
import { stringify } from 'csv-stringify/sync';

const FORMULA_START = /^[=+\-@\t\r]/;

/** The text as a spreadsheet should show it, never as a formula. Numbers are never passed here. */
export function neutralizeCell(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** A CSV document: the header, then the rows; text cells neutralized, numbers as they are, null empty. */
export function writeCsv(header: string[], rows: (string | number | null)[][]): string {
  return writeCsvRows([header, ...rows]);
}

/** CSV lines for these rows (no header of its own), cells as writeCsv writes them; '' for no rows. */
export function writeCsvRows(rows: (string | number | null)[][]): string {
  const cell = (c: string | number | null) => (typeof c === 'string' ? neutralizeCell(c) : c);
  return stringify(
    rows.map((r) => r.map(cell)),
    { cast: { number: String } },
  );
}
