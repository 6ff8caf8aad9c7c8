// The file's dialect: its charset (decoded with the platform's WHATWG TextDecoder, which knows
// UTF-8, UTF-16 and the legacy single-byte charsets) and its field delimiter.
import { CsvError } from './csv-error.js';

export type Delimiter = ',' | ';' | '\t' | '|';
export const DELIMITERS: readonly Delimiter[] = [',', ';', '\t', '|'];
export const DELIMITER_NAMES: Record<Delimiter, string> = {
  ',': 'comma',
  ';': 'semicolon',
  '\t': 'tab',
  '|': 'pipe',
};

/** The canonical name of a charset label ("latin1" → "windows-1252"), or null when unknown. */
export function charsetName(label: string): string | null {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    return null;
  }
}

/** The charset a byte-order mark announces, or null. */
function sniffBom(bytes: Uint8Array): string | null {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return null;
}

function countNewlines(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

const FIX_CHARSET =
  'if the file was saved in another charset (a spreadsheet on Windows often writes windows-1252), ' +
  'declare it: ?charset=windows-1252, or a charset=windows-1252 form field in a multipart upload ' +
  '(the Content-Type of a multipart file part is not read), or "Content-Type: text/csv; charset=windows-1252" ' +
  'on a raw upload';

export interface DecodedText {
  /** The text, chunk by chunk (a BOM removed). */
  chunks: AsyncGenerator<string>;
  /** The charset in force once the first chunk was read (a BOM overrides the declared one). */
  charset: () => string;
}

/** Where decoding stands: the charset in force and the row (1-based) the next text starts on. */
interface DecodeState {
  charset: string;
  lines: number;
}

/** Fails with a `notText` CsvError naming the row if the text has a NUL byte; else counts its rows. */
function checkText(state: DecodeState, text: string): void {
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const row = state.lines + countNewlines(text, nul);
    throw new CsvError(
      'notText',
      `row ${row} contains a NUL byte: the file is not text (or is UTF-16 without a BOM: declare charset=utf-16le)`,
      row,
    );
  }
  state.lines += countNewlines(text, text.length);
}

/** The `notText` CsvError for bytes not valid in `charset` at `row` (or cut off at the file's end). */
function invalidText(charset: string, row: number, atEnd: boolean): CsvError {
  const what = atEnd
    ? `the file ends in the middle of a ${charset} character (row ${row})`
    : `row ${row} is not valid ${charset} text`;
  return new CsvError(
    'notText',
    `${what}: ${charset === 'utf-8' ? FIX_CHARSET : `check the declared charset (${charset})`}`,
    row,
  );
}

/**
 * Decodes one chunk with a streaming fatal decoder; on invalid bytes, throws `invalidText` at the
 * row of the first bad character (found by a lenient decode of the same chunk).
 */
function decodeChunk(
  decoder: InstanceType<typeof TextDecoder>,
  state: DecodeState,
  bytes: Uint8Array,
): string {
  try {
    return decoder.decode(bytes, { stream: true });
  } catch {
    const lenient = new TextDecoder(state.charset).decode(bytes);
    const at = lenient.indexOf('\uFFFD');
    // A NUL before the bad byte: UTF-16 without a BOM more likely than another 8-bit charset.
    checkText({ ...state }, lenient.slice(0, Math.max(at, 0)));
    throw invalidText(state.charset, state.lines + countNewlines(lenient, at < 0 ? 0 : at), false);
  }
}

/** A text already decoded, checked, without its BOM. */
async function* decodeString(state: DecodeState, source: string): AsyncGenerator<string> {
  checkText(state, source);
  yield source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
}

/**
 * Decodes a stream of byte (or already decoded string) chunks. The first three bytes are held
 * until a BOM can be recognised; a BOM sets `state.charset` and is dropped by the decoder.
 */
async function* decodeStream(
  state: DecodeState,
  source: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<string> {
  let decoder: InstanceType<typeof TextDecoder> | null = null;
  let head: Uint8Array | null = new Uint8Array(0); // the first bytes, until a BOM can be recognised
  const decodeChecked = (bytes: Uint8Array): string => {
    if (!decoder) {
      state.charset = sniffBom(bytes) ?? state.charset;
      decoder = new TextDecoder(state.charset, { fatal: true });
    }
    const text = decodeChunk(decoder, state, bytes);
    checkText(state, text);
    return text;
  };
  for await (const chunk of source) {
    if (typeof chunk === 'string') {
      checkText(state, chunk);
      yield chunk;
      continue;
    }
    let bytes = chunk;
    if (head) {
      bytes = head.length > 0 ? new Uint8Array([...head, ...chunk]) : chunk;
      if (bytes.length < 3) {
        head = bytes;
        continue;
      }
      head = null;
    }
    const text = decodeChecked(bytes);
    if (text.length > 0) yield text;
  }
  if (head) {
    // A file of fewer than three bytes.
    const text = decodeChecked(head);
    if (text.length > 0) yield text;
  }
  let tail = '';
  try {
    tail = decoder ? (decoder as InstanceType<typeof TextDecoder>).decode() : '';
  } catch {
    throw invalidText(state.charset, state.lines, true);
  }
  checkText(state, tail);
  if (tail.length > 0) yield tail;
}

/**
 * Decodes the source in the declared charset (default UTF-8; a BOM overrides it). Bytes that are
 * not valid in that charset fail with a `notText` CsvError naming the row and how to fix it, as do
 * NUL bytes. Strings are taken as already decoded.
 */
export function openDecoder(
  source: AsyncIterable<Uint8Array | string> | string,
  declared?: string,
): DecodedText {
  const state: DecodeState = { charset: charsetName(declared ?? 'utf-8') ?? 'utf-8', lines: 1 };
  const chunks = typeof source === 'string' ? decodeString(state, source) : decodeStream(state, source);
  return { chunks, charset: () => state.charset };
}

/** Splits a sample into its first records' lines, keeping quoted newlines inside their record. */
function sampleRecords(sample: string, complete: boolean, max: number): string[] {
  const records: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < sample.length && records.length < max; i++) {
    const c = sample[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\n' && !quoted) {
      const line = sample.slice(start, i).replace(/\r$/, '');
      if (line.trim() !== '') records.push(line);
      start = i + 1;
    }
  }
  const rest = sample.slice(start).replace(/\r$/, '');
  if (complete && !quoted && rest.trim() !== '' && records.length < max) records.push(rest);
  return records;
}

function countOutsideQuotes(line: string, d: string): number {
  let n = 0;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (c === d && !quoted) n++;
  }
  return n;
}

/**
 * The delimiter of a file from its first records (up to 50): among `,` `;` tab `|`, the one that
 * appears in the header and the same number of times in the most records (ties: more fields,
 * then the order above). Null when none appears in the header (a single-column file).
 */
export function detectDelimiter(sample: string, complete: boolean): Delimiter | null {
  const records = sampleRecords(sample, complete, 50);
  if (records.length === 0) return null;
  let best: { d: Delimiter; agree: number; fields: number } | null = null;
  for (const d of DELIMITERS) {
    const fields = countOutsideQuotes(records[0], d);
    if (fields === 0) continue;
    let agree = 0;
    for (const r of records) if (countOutsideQuotes(r, d) === fields) agree++;
    if (!best || agree > best.agree || (agree === best.agree && fields > best.fields))
      best = { d, agree, fields };
  }
  return best ? best.d : null;
}
