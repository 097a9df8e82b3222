import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../src/model/bounded-cache.js';

describe('BoundedCache', () => {
  const weigh = (key: string, value: string) => key.length + value.length;

  it('keeps its weight equal to the weights of what it holds, through sets, replacements and deletes', () => {
    const cache = new BoundedCache<string, string>(10, 1_000, weigh);
    cache.set('a', 'xx');
    cache.set('bb', 'y');
    expect(cache.weight).toBe(6);
    cache.set('a', 'xxxxx'); // replaced: the old weight goes, the new one comes
    expect(cache.weight).toBe(9);
    cache.delete('bb');
    cache.delete('missing');
    expect(cache.weight).toBe(6);
    cache.delete('a');
    expect(cache.weight).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('forgets the oldest entries to stay under its weight, and refuses an entry heavier than the whole', () => {
    const cache = new BoundedCache<string, string>(10, 10, weigh);
    cache.set('a', 'aaaa'); // 5
    cache.set('b', 'bbbb'); // 10
    cache.set('c', 'cc'); // 3: 'a' goes
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('bbbb');
    expect(cache.weight).toBe(8);
    cache.set('d', 'x'.repeat(20));
    expect(cache.get('d')).toBeUndefined();
    expect(cache.weight).toBe(8);
  });

  it('forgets the oldest entries to stay under its capacity', () => {
    const cache = new BoundedCache<number, number>(3);
    for (let i = 0; i < 5; i++) cache.set(i, i);
    expect(cache.size).toBe(3);
    expect([0, 1, 2, 3, 4].map((i) => cache.get(i))).toEqual([undefined, undefined, 2, 3, 4]);
    expect(cache.weight).toBe(0);
  });
});
