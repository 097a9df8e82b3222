/**
 * The store contract for the `replayed` op (a dead letter's newest replay), every store alike:
 * it shows on the dead letter and in history, survives a new store on the same data, and is
 * refused, marked with the refused op, for a message that is not failed. Its own file: the
 * main contract file is near its size limit.
 */
import { beforeEach, expect, it } from 'vitest';
import type { MessageStore, StoreOp } from '../src/persistence/store.js';
import { refusedOpOf } from '../src/persistence/store-errors.js';
import { T0, accept, delivered, failed, newId, record, replayed } from './support/store-fixtures.js';
import { describeEachStore, storeImplementations } from './support/store-implementations.js';

const implementations = storeImplementations();

const A = 'https://a.example';
const B = 'https://b.example:8443';

describeEachStore(implementations, (impl, current) => {
  let store: MessageStore;
  beforeEach(() => {
    store = current().store;
  });

  it('a replayed dead letter shows its newest replay in deadLetters and history; the others show none', async () => {
    const [one, two, three] = [record(A), record(B), record(A)];
    await store.write([accept(one), accept(two), accept(three), failed(one.id, 1, T0 + 1, 'rejected', 400), failed(two.id, 2, T0 + 2), failed(three.id, 1, T0 + 3, 'rejected', 422)]);
    const [first, second] = [newId(), newId()];
    await store.write([replayed(one.id, first, T0 + 10)]);

    const { items } = await store.deadLetters({});
    expect(items.map((d) => [d.messageId, d.replayedAs, d.replayedAt])).toEqual([
      [three.id, undefined, undefined],
      [two.id, undefined, undefined],
      [one.id, first, new Date(T0 + 10)],
    ]);
    // Absent, not `undefined`, on a letter never replayed (as the dispatcher's events have it).
    expect(Object.keys(items[0]!)).not.toContain('replayedAs');
    expect((await store.history(one.id))?.replayedAs).toBe(first);
    expect(await store.history(two.id)).not.toHaveProperty('replayedAs');

    // Replayed again: the newest replay replaces the first; filters and order are unchanged.
    await store.write([replayed(one.id, second, T0 + 20)]);
    expect((await store.deadLetters({ reason: 'rejected', origin: A })).items.map((d) => [d.messageId, d.replayedAs, d.replayedAt?.getTime()])).toEqual([
      [three.id, undefined, undefined],
      [one.id, second, T0 + 20],
    ]);
    expect((await store.history(one.id))?.replayedAs).toBe(second);
    // It changes nothing else of the message: its record is still there to replay once more.
    expect(await store.get(one.id)).toEqual({ ...one, attempts: 1, last: { status: 400, error: null, body: 'nope' } });
  });

  it('a message failed earlier in the same batch may be marked replayed in it', async () => {
    const r = record(A);
    const as = newId();
    await store.write([accept(r), failed(r.id, 1, T0 + 1), replayed(r.id, as, T0 + 2)]);
    expect((await store.deadLetters({})).items[0]).toMatchObject({ messageId: r.id, replayedAs: as, replayedAt: new Date(T0 + 2) });
  });

  it('refuses `replayed` of a message that is not failed (unknown, pending, delivered, pruned), marked with the op, and applies nothing of the batch', async () => {
    const [dead, pending, ok, pruned, fresh] = [record(A), record(A), record(B), record(B), record(A)];
    await store.write([accept(dead), accept(pending), accept(ok), accept(pruned), failed(dead.id, 1, T0 + 100), delivered(ok.id, 1, T0 + 100), failed(pruned.id, 1, T0 + 1)]);
    expect(await store.prune({ delivered: -Infinity, failed: T0 + 50 })).toBe(1);
    const as = newId();
    const bad: [StoreOp[], number, string][] = [
      [[replayed(dead.id, as, T0 + 200), replayed(newId(), as, T0 + 200)], 1, ''],
      [[replayed(dead.id, as, T0 + 200), replayed(pending.id, as, T0 + 200)], 1, pending.id],
      [[replayed(ok.id, as, T0 + 200)], 0, ok.id],
      [[replayed(dead.id, as, T0 + 200), replayed(pruned.id, as, T0 + 200)], 1, pruned.id],
      // Accepted in this batch: pending, not failed.
      [[accept(fresh), replayed(fresh.id, as, T0 + 200)], 1, fresh.id],
    ];
    for (const [ops, index, messageId] of bad) {
      const error = await store.write(ops).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining(`op ${index + 1} of ${ops.length} (\`replayed\` of message`) });
      expect(error).toMatchObject({ message: expect.stringContaining('names a message that is not failed') });
      const refused = refusedOpOf(error);
      expect(refused?.index).toBe(index);
      if (messageId !== '') expect(refused?.messageId).toBe(messageId);
    }
    expect((await store.deadLetters({})).items).toEqual([expect.not.objectContaining({ replayedAs: expect.anything() })]);
    expect(await store.get(fresh.id)).toBeUndefined();
    expect((await store.history(pending.id))?.state).toBe('pending');
  });

  it('refuses a `replayed` op without its replay id or time, before touching anything', async () => {
    const r = record(A);
    await store.write([accept(r), failed(r.id, 1, T0 + 1)]);
    for (const op of [{ op: 'replayed', id: r.id, at: T0 }, { op: 'replayed', id: r.id, as: newId(), at: Number.NaN }, { op: 'replayed', id: r.id, as: 7, at: T0 }]) {
      const error = await store.write([op as unknown as StoreOp]).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('op 1 of 1 (`replayed`) needs `as`') });
      expect(refusedOpOf(error)).toBeUndefined();
    }
    expect((await store.deadLetters({})).items[0]).not.toHaveProperty('replayedAs');
  });

  if (impl.durable) it('a new store on the same data shows the replay', async () => {
    const [r, other] = [record(A), record(B)];
    const as = newId();
    await store.write([accept(r), accept(other), failed(r.id, 2, T0 + 1), failed(other.id, 1, T0 + 2), replayed(r.id, as, T0 + 3)]);
    const before = await store.deadLetters({});
    const reopened = await current().reopen();
    expect(await reopened.deadLetters({})).toEqual(before);
    expect((await reopened.deadLetters({})).items.find((d) => d.messageId === r.id)).toMatchObject({ replayedAs: as, replayedAt: new Date(T0 + 3) });
    expect((await reopened.history(r.id))?.replayedAs).toBe(as);
  });
});
