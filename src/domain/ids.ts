// Resource ids: a prefix plus 24 base62 characters from the OS CSPRNG (about 143 bits), so ids are
// unguessable. Deliberately not the engine's seeded generator, whose output is reproducible.
import { randomBytes } from 'node:crypto';

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
