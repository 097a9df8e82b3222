import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fullJitterDelay, parseRetryAfter } from '../src/delivery/backoff.js';

describe('full-jitter backoff', () => {
  it('stays within [0, min(max, base·2^n)) for any attempt and random draw', () => {
    fc.assert(
      fc.property(fc.nat(2000), fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 0, max: 600_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, base, max, r) => {
        const delay = fullJitterDelay(n, base, max, () => r);
        const ceiling = base === 0 ? 0 : Math.min(max, base * 2 ** n);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(Math.max(ceiling, 1));
      }),
    );
  });

  it('uses the whole range: a draw near 1 lands near the ceiling', () => {
    expect(fullJitterDelay(3, 100, 10_000, () => 0.999)).toBe(799);
    expect(fullJitterDelay(30, 100, 10_000, () => 0.5)).toBe(5_000);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-11-23T10:00:00Z');
  it.each([
    ['120', 120_000],
    [' 7 ', 7_000],
    ['Mon, 23 Nov 2026 10:00:30 GMT', 30_000],
    ['Mon, 23 Nov 2026 09:00:00 GMT', 0],
    ['soon', undefined],
    [undefined, undefined],
    ['-5', undefined],
  ])('parses %j as %j ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
