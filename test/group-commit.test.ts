import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/persistence/group-commit.js';
import { MemoryStore } from '../src/stores/memory/memory-store.js';
import { T0, accept, delivered, newId, record } from './support/store-fixtures.js';

describe('GroupCommit', () => {
  it('a batch refused for one op writes the others alone: that op fails, the rest are durable', async () => {
    const store = new MemoryStore({ durable: true });
    await store.open();
    const commit = new GroupCommit(store, Promise.resolve());
    const [a, b] = [record(), record()];
    const results = await Promise.allSettled([commit.add(accept(a)), commit.add(delivered(newId(), 1, T0)), commit.add(accept(b))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('not pending') });
    expect((await store.pending({ limit: 10 })).map((r) => r.id)).toEqual([a.id, b.id]);
  });

  it('a store that cannot be written fails the whole batch at once', async () => {
    const store = new MemoryStore({ durable: true });
    await store.open();
    await store.close();
    const commit = new GroupCommit(store, Promise.resolve());
    let writes = 0;
    const write = store.write.bind(store);
    store.write = (ops) => (writes++, write(ops));
    const results = await Promise.allSettled([commit.add(accept(record())), commit.add(accept(record()))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(writes).toBe(1);
  });
});
