// Resource ids: a prefix plus 24 base62 characters from the OS CSPRNG (about 143 bits), so ids are
// unguessable. Deliberately not the engine's seeded generator, whose output is reproducible.
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export type IdPrefix = 'ds' | 'job' | 'mdl' | 'wh' | 'msg' | 'dlv' | 'tun' | 'bp' | 'ev';

export function newId(prefix: IdPrefix, length = 24): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // Rejection sampling: 248 = 4 * 62, so bytes below it map to base62 without bias.
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return `${prefix}_${out}`;
}

/**
 * An id derived from a key: the same key always gives the same id (so an event announced twice
 * makes one delivery, not two). Prefix plus 24 base62 characters of the key's SHA-256; as hard to
 * guess as the key, which should hold an unguessable id (a job id, say).
 */
export function derivedId(prefix: IdPrefix, key: string, length = 24): string {
  const digest = createHash('sha256').update(key).digest();
  let out = '';
  for (let i = 0; out.length < length; i++) {
    // 32 digest bytes give 24 characters: base62 of each byte (a slight bias is harmless here).
    out += ALPHABET[digest[i % digest.length] % 62];
  }
  return `${prefix}_${out}`;
}
