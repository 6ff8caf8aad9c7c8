// The CSV tokenizer: RFC 4180 records out of decoded text chunks, without a string per cell.
// Each complete record is handed over as field boundaries into the chunk's text (a quoted field
// with its quotes undone is handed over as its own string), so a number can be read straight from
// the text. Why our own: csv-parse, the library this replaced, spends about 10× longer per byte
// building a string array per record than this whole path takes, and the lenient fast parsers
// (papaparse, udsv) accept the malformed quoting that csv-parse refused and report no line
// numbers; the behaviour kept is csv-parse's strict one, error for error.
const QUOTE = 34;
const LF = 10;
const CR = 13;

/** What the scanner found wrong, before the reader names the column and words the message. */
export class ScanError extends Error {
  constructor(
    readonly code: 'quoteNotClosed' | 'textAfterQuote' | 'quoteInField' | 'tooLong',
    /** 1-based line: of the record's start (quoteNotClosed, tooLong) or of the offending character. */
    readonly line: number,
    /** 0-based field index within the record. */
    readonly field: number,
  ) {
    super(code);
  }
}

/**
 * The fields of the record just scanned: field j is `values[j]` when that is a string (a quoted
 * field holding a doubled quote, with its quotes undone), else `text.slice(starts[j], ends[j])`
 * (unsliced; the consumer reads it in place), which for any other quoted field is the text
 * between its quotes.
 */
export interface ScannedRecord {
  text: string;
  count: number;
  starts: Int32Array;
  ends: Int32Array;
  /** The value of a quoted field with a doubled quote in it; undefined for every other field. */
  values: (string | undefined)[];
  /** 1-based line on which the record starts. */
  line: number;
}

/**
 * Splits text into records with one delimiter, `"` quotes ("" inside a quoted field is one quote),
 * and LF or CRLF line ends (a lone CR ends a line too). Blank lines are skipped. Strict, as
 * csv-parse is by default: a quote inside an unquoted field, text after a closing quote, and a
 * quote left open at the end of the file are ScanErrors; so is a record longer than maxChars.
 */
export class CsvScanner {
  private rest = '';
  /** The line on which the next record starts. */
  private line = 1;
  /** Line ends inside the quoted field quotedField read last. */
  private quotedLines = 0;
  private readonly record: ScannedRecord = {
    text: '',
    count: 0,
    starts: new Int32Array(64),
    ends: new Int32Array(64),
    values: [],
    line: 1,
  };

  constructor(
    private readonly delimiter: number,
    private readonly maxChars: number,
    private readonly onRecord: (record: ScannedRecord) => void,
  ) {}

  /** Scans the complete records of rest + chunk; an incomplete last record waits for the next chunk. */
  push(chunk: string): void {
    let text = chunk;
    let from = 0;
    if (this.rest.length > 0) {
      // Finish the pending record on the chunk's first line alone: joining the rest to the whole
      // chunk would copy every chunk once more. The rest of the chunk is then scanned in place,
      // not as a slice: the decoder's own flat string reads faster, cell after cell.
      const lf = chunk.indexOf('\n');
      const head = this.rest + chunk.slice(0, lf + 1);
      const consumed = lf < 0 ? 0 : this.scan(head, 0, false);
      if (consumed === head.length) from = lf + 1;
      else text = head.slice(consumed) + chunk.slice(lf + 1);
    }
    const consumed = this.scan(text, from, false);
    this.rest = consumed < text.length ? text.slice(consumed) : '';
    if (this.rest.length > this.maxChars) throw new ScanError('tooLong', this.line, 0);
  }

  /** Scans what is left at the end of the input. */
  end(): void {
    const text = this.rest;
    this.rest = '';
    if (text.length > 0) this.scan(text, 0, true);
  }

  /** Scans records from text[from]; returns where the first incomplete one starts. */
  private scan(text: string, from: number, final: boolean): number {
    const rec = this.record;
    rec.text = text;
    let p = from;
    const len = text.length;
    while (p < len) {
      const next = this.scanRecord(text, p, final);
      if (next < 0) return p;
      if (next - p > this.maxChars) throw new ScanError('tooLong', rec.line, 0);
      p = next;
    }
    return len;
  }

  /** Reads one record at p and hands it over; returns the index after its line end, or -1 when it is incomplete. */
  private scanRecord(text: string, start: number, final: boolean): number {
    const rec = this.record;
    const len = text.length;
    const d = this.delimiter;
    let p = start;
    let lines = 0; // line ends inside quoted fields so far
    let n = 0;
    for (;;) {
      if (n === rec.starts.length) this.growRecord();
      if (text.charCodeAt(p) === QUOTE) {
        const end = this.quotedField(text, p, final, n, lines);
        if (end < 0) return -1;
        lines += this.quotedLines;
        p = end;
      } else {
        const s = p;
        for (; p < len; p++) {
          const c = text.charCodeAt(p);
          // Most characters are above the quote (34), the line ends and a tab: one test for them.
          if (c > QUOTE && c !== d) continue;
          if (c === d || c === LF || c === CR) break;
          if (c === QUOTE) throw new ScanError('quoteInField', this.line + lines, n);
        }
        rec.starts[n] = s;
        rec.ends[n] = p;
        rec.values[n] = undefined;
      }
      n++;
      if (p >= len) {
        if (!final) return -1;
        return this.emit(n, lines, p, len);
      }
      const c = text.charCodeAt(p);
      if (c === d) {
        p++;
        continue;
      }
      if (c === LF) return this.emit(n, lines, p, p + 1);
      // CR: CRLF, or a lone CR; a CR at the chunk's end may be the first half of a CRLF.
      if (p + 1 >= len && !final) return -1;
      return this.emit(n, lines, p, text.charCodeAt(p + 1) === LF ? p + 2 : p + 1);
    }
  }

  /** Hands the record over (unless it is a blank line) and moves the line count past it. */
  private emit(n: number, quotedLines: number, end: number, next: number): number {
    const rec = this.record;
    rec.count = n;
    rec.line = this.line;
    this.line += quotedLines + (next > end ? 1 : 0);
    // An empty plain field ends where the record does; an empty quoted one ("") before its quote.
    const blank = n === 1 && rec.values[0] === undefined && rec.starts[0] === end && rec.ends[0] === end;
    if (!blank) this.onRecord(rec);
    return next;
  }

  /**
   * Reads the quoted field at p (its opening quote) into field `field` of the record: as the range
   * between its quotes when it holds no doubled quote (no string made), else as its value with the
   * quotes undone. Returns the index after its closing quote, or -1 when it is incomplete; the line
   * ends inside it are left in quotedLines.
   */
  private quotedField(text: string, p: number, final: boolean, field: number, linesBefore: number): number {
    const len = text.length;
    const rec = this.record;
    let value: string | undefined; // made at the first doubled quote
    let from = p + 1;
    for (;;) {
      const k = text.indexOf('"', from);
      if (k < 0) {
        if (final) throw new ScanError('quoteNotClosed', this.line, field);
        return -1;
      }
      if (k + 1 >= len && !final) return -1; // a doubled quote may continue in the next chunk
      if (text.charCodeAt(k + 1) === QUOTE) {
        value = (value ?? '') + text.slice(from, k + 1);
        from = k + 2;
        continue;
      }
      const lines = countLineEnds(text, p, k);
      const after = text.charCodeAt(k + 1);
      if (k + 1 < len && after !== this.delimiter && after !== LF && after !== CR)
        throw new ScanError('textAfterQuote', this.line + linesBefore + lines, field);
      rec.starts[field] = p + 1;
      rec.ends[field] = k;
      rec.values[field] = value === undefined ? undefined : value + text.slice(from, k);
      this.quotedLines = lines;
      return k + 1;
    }
  }

  private growRecord(): void {
    const rec = this.record;
    const starts = new Int32Array(rec.starts.length * 2);
    const ends = new Int32Array(rec.ends.length * 2);
    starts.set(rec.starts);
    ends.set(rec.ends);
    rec.starts = starts;
    rec.ends = ends;
  }
}

/** Line ends (LF, or a CR not followed by LF) in text[from, to). */
function countLineEnds(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) n++;
  }
  return n;
}
