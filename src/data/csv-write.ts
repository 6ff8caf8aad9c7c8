// CSV output. Every text cell that a spreadsheet would run as a formula (it starts with =, +, -,
// @, a tab or a carriage return: OWASP "CSV injection") is written with a leading apostrophe, so
// values that came from an uploaded file (class names, column names) stay inert when opened.
import { stringify } from 'csv-stringify/sync';

const FORMULA_START = /^[=+\-@\t\r]/;
// A plain decimal number such as "-1.633", "+2" or "-4.5e-3": a spreadsheet reads it as that
// number, never as a formula, so it keeps its text (a kept column of a batch file is text).
const PLAIN_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The text as a spreadsheet should show it, never as a formula: a leading apostrophe when it starts
 * with =, +, -, @, a tab or a carriage return, unless the whole cell is a plain decimal number.
 */
export function neutralizeCell(text: string): string {
  return FORMULA_START.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text;
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
