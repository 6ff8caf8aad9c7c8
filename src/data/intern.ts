// One copy of each distinct cell text of a column, found by the text's characters in place, so a
// repeated category costs a hash and a comparison, and no new string.

const EMPTY = -1;

/**
 * An open-addressing hash set of strings (FNV-1a over UTF-16 code units, linear probing, load at
 * most 1/2, doubling as it fills) holding up to `capacity` strings; past that, texts are returned
 * as new strings, unshared.
 */
export class Interner {
  private slots = new Int32Array(64).fill(EMPTY);
  private hashes = new Int32Array(32);
  private readonly strings: string[] = [];
  private mask = 63;

  constructor(private readonly capacity: number) {}

  /** Doubles the table and places every string again. */
  private grow(): void {
    const size = this.slots.length * 2;
    const hashes = new Int32Array(size / 2);
    hashes.set(this.hashes);
    this.hashes = hashes;
    this.slots = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;
    for (let k = 0; k < this.strings.length; k++) {
      let slot = hashes[k] & this.mask;
      while (this.slots[slot] !== EMPTY) slot = (slot + 1) & this.mask;
      this.slots[slot] = k;
    }
  }

  /** The shared string equal to text[s, e), added when new and there is room. */
  range(text: string, s: number, e: number): string {
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    const len = e - s;
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const k = this.slots[slot];
      if (k === EMPTY) {
        const str = ownCopy(text, s, e);
        if (this.strings.length < this.capacity) {
          this.slots[slot] = this.strings.length;
          this.hashes[this.strings.length] = h;
          this.strings.push(str);
          if (this.strings.length * 2 >= this.slots.length) this.grow();
        }
        return str;
      }
      if (this.hashes[k] === h && this.strings[k].length === len && sameText(this.strings[k], text, s))
        return this.strings[k];
    }
  }

  /** The shared string equal to s (s itself when new). */
  string(s: string): string {
    return this.range(s, 0, s.length);
  }
}

/**
 * text[s, e) as a string of its own. V8 makes a slice of 13 characters or more a view into its
 * parent, so a kept cell would keep the whole decoded chunk it came from alive (the entire file,
 * over a column of dates); prefixing a character and slicing it off again forces a flat copy.
 */
function ownCopy(text: string, s: number, e: number): string {
  return e - s < 13 ? text.slice(s, e) : (' ' + text.slice(s, e)).slice(1);
}

function sameText(a: string, text: string, s: number): boolean {
  for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) !== text.charCodeAt(s + i)) return false;
  return true;
}
