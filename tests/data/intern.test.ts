// The interner: one shared string per distinct text, found from the text's characters in place.
import { describe, expect, it } from 'vitest';
import { Interner } from '../../src/data/intern.js';

describe('Interner', () => {
  it('when texts repeat among many distinct ones, then each repeat is the very string first returned for it', () => {
    const intern = new Interner(1 << 20);
    // 20,000 distinct codes (7919 is prime to 20,000, so i·7919 mod 20,000 is a permutation): the table doubles many times between the first sighting and the repeats.
    const text = Array.from({ length: 20_000 }, (_, i) => String((i * 7919) % 20_000).padStart(6, '0')).join(
      ',',
    );
    const first = new Map<string, string>();
    for (let s = 0; s < text.length; s += 7) {
      const got = intern.range(text, s, s + 6);
      expect(got).toBe(text.slice(s, s + 6));
      first.set(got, got);
    }
    expect(first.size).toBe(20_000);
    for (let s = 0; s < text.length; s += 7 * 13) {
      const again = intern.range(` ${text}`, s + 1, s + 7);
      expect(Object.is(again, first.get(again))).toBe(true);
    }
    expect(intern.string('000000')).toBe(first.get('000000'));
  });

  it('when the capacity is reached, then new texts come back as equal but unshared strings', () => {
    const intern = new Interner(2);
    const a = intern.string('alpha');
    intern.string('beta');
    const c1 = intern.range('gamma', 0, 5);
    const c2 = intern.range('xgamma', 1, 6);
    expect([c1, c2]).toEqual(['gamma', 'gamma']);
    expect(intern.range('alpha!', 0, 5)).toBe(a);
    expect(intern.range('', 0, 0)).toBe('');
  });
});
