/** What only the memory store has: bounds, so a long-running process keeps a bounded past. */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/stores/memory/memory-store.js';
import { T0, accept, delivered, failed, record } from './support/store-fixtures.js';

async function opened(options?: ConstructorParameters<typeof MemoryStore>[0]): Promise<MemoryStore> {
  const store = new MemoryStore(options);
  await store.open();
  return store;
}

describe('MemoryStore', () => {
  it('keeps the newest dead letters up to its bound, records included, and forgets the oldest', async () => {
    const store = await opened({ deadLetters: 3, history: 100 });
    const rs = Array.from({ length: 5 }, () => record());
    await store.write(rs.map(accept));
    await store.write(rs.map((r, i) => failed(r.id, 1, T0 + i)));
    expect((await store.deadLetters({})).items.map((d) => d.messageId)).toEqual([rs[4]!.id, rs[3]!.id, rs[2]!.id]);
    expect(await store.get(rs[1]!.id)).toBeUndefined();
    expect((await store.get(rs[2]!.id))?.secrets).toEqual(rs[2]!.secrets);
    // History outlives the dead letter.
    expect((await store.history(rs[0]!.id))?.state).toBe('failed');
  });

  it('keeps the history of the most recently ended messages up to its bound, pending ones always', async () => {
    const store = await opened({ deadLetters: 0, history: 2 });
    const rs = Array.from({ length: 4 }, () => record());
    await store.write(rs.map(accept));
    await store.write([delivered(rs[0]!.id, 1, T0 + 1), failed(rs[1]!.id, 1, T0 + 2), delivered(rs[2]!.id, 1, T0 + 3)]);
    expect(await store.history(rs[0]!.id)).toBeUndefined();
    expect((await store.history(rs[1]!.id))?.state).toBe('failed');
    expect((await store.history(rs[2]!.id))?.state).toBe('delivered');
    expect((await store.history(rs[3]!.id))?.state).toBe('pending');
    expect((await store.deadLetters({})).items).toEqual([]);
  });

  it('keeps no body or secret of a delivered message', async () => {
    const store = await opened();
    const r = record();
    await store.write([accept(r), delivered(r.id, 1, T0)]);
    expect(await store.get(r.id)).toBeUndefined();
    expect((await store.history(r.id))?.attempts).toHaveLength(1);
  });

  it('stays bounded and ordered over many more dead letters than it keeps, ends out of time order included', async () => {
    const store = await opened({ deadLetters: 1_000, history: 10 });
    const rs = Array.from({ length: 5_000 }, () => record());
    await store.write(rs.map(accept));
    // Every tenth end comes late, carrying an earlier time.
    await store.write(rs.map((r, i) => failed(r.id, 1, T0 + (i % 10 === 9 ? i - 5 : i))));
    const { items } = await store.deadLetters({ limit: 1_000 });
    expect(items).toHaveLength(1_000);
    const times = items.map((d) => d.failedAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(times[0]).toBe(T0 + 4_998);
    expect(await store.prune({ delivered: 0, failed: T0 + 4_500 })).toBe(items.filter((d) => d.failedAt.getTime() < T0 + 4_500).length);
    expect((await store.deadLetters({ limit: 1_000 })).items.every((d) => d.failedAt.getTime() >= T0 + 4_500)).toBe(true);
  });

  it('checks its options', () => {
    expect(() => new MemoryStore({ deadLetters: -1 })).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: 'Expected `deadLetters` to be an integer from 0 to 1_000_000, got `-1` (number)' }));
    expect(() => new MemoryStore({ histroy: 5 } as never)).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('did you mean `history`?') }));
  });
});
