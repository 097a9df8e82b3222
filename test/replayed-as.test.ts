/**
 * A replayed dead letter says so: after `replay`, `deadLetters()` shows the new message's id as
 * `replayedAs` (and `history` of the original does), on every store, through a real receiver on
 * 127.0.0.1; on a durable store it survives a new dispatcher. A replay of a message that is no
 * dead letter marks nothing and warns of nothing; a store that cannot record the mark leaves
 * the replay standing and says so in a warning.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Dispatcher, DispatcherOptions, DispatcherWarning } from '../src/index.js';
import type { MessageStore, StoreOp } from '../src/persistence/store.js';
import { MemoryStore } from '../src/stores/memory/memory-store.js';
import { postgresStore } from '../src/stores/postgres/postgres-store.js';
import { sqliteStore } from '../src/stores/sqlite/sqlite-store.js';
import { newSecret, testDispatcher } from './helpers.js';
import { Receiver, ok, status } from './receiver.js';
import { KEY, tempDir } from './support/store-fixtures.js';
import { pgAvailable, pgSkipNote, requirePostgresInCI, testDatabase } from './support/postgres.js';

requirePostgresInCI('replayedAs on postgresStore');

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
const db = testDatabase(6);

const secret = newSecret();

/** A receiver that answers 400 until `fix()`, then 200. */
async function receiver() {
  let fixed = false;
  const r = await Receiver.start(() => (fixed ? ok : status(400, undefined, 'unknown field')));
  cleanup.push(() => r.stop());
  return { r, fix: () => (fixed = true), url: r.url("/hooks") };
}

function dispatcher(options: DispatcherOptions = {}) {
  const d = testDispatcher(options);
  const warnings: DispatcherWarning[] = [];
  d.on('warning', (w) => warnings.push(w));
  cleanup.push(() => d.close());
  return { d, warnings };
}

/** Sends one event that the receiver rejects, and waits for its dead letter. */
async function deadLetter(d: Dispatcher, url: string): Promise<string> {
  const receipt = await d.send({ url, secret }, { type: 'order.paid', data: { id: 7 } });
  await d.onIdle();
  return receipt.messageId;
}

async function replayOne(d: Dispatcher, id: string): Promise<string> {
  const [result] = await d.replay([id]);
  if (!result?.ok) throw new Error(`replay refused: ${result?.error.message}`);
  return result.receipt.messageId;
}

const stores: { name: string; skip?: string; make(): () => MessageStore }[] = [
  { name: 'the default memory store', make: () => () => new MemoryStore() },
  {
    name: 'sqliteStore',
    make() {
      const tmp = tempDir();
      cleanup.push(tmp.cleanup);
      return () => sqliteStore({ path: tmp.file(), encryptionKey: KEY });
    },
  },
  {
    name: `postgresStore${pgSkipNote}`,
    skip: pgAvailable ? undefined : pgSkipNote,
    make() {
      const schema = db.schema();
      return () => postgresStore({ pool: db.pool, encryptionKey: KEY, schema });
    },
  },
];

describe.each(stores)('replayedAs on $name', ({ skip, make }) => {
  it.skipIf(skip !== undefined)('deadLetters() shows the replay’s message id once replay resolves; replayed again, the newest', async () => {
    const newStore = make();
    const { r, fix, url } = await receiver();
    const { d, warnings } = dispatcher({ store: newStore() });
    const original = await deadLetter(d, url);
    expect((await d.deadLetters()).items).toEqual([expect.objectContaining({ messageId: original, reason: 'rejected' })]);
    expect((await d.deadLetters()).items[0]).not.toHaveProperty('replayedAs');

    // Still rejected: the replay fails too and becomes a dead letter of its own, unmarked.
    const first = await replayOne(d, original);
    const marked = (await d.deadLetters()).items.find((x) => x.messageId === original);
    expect(marked).toMatchObject({ replayedAs: first, replayedAt: expect.any(Date) });
    await d.onIdle();
    const items = (await d.deadLetters()).items;
    expect(items.map((x) => [x.messageId, x.replayedAs])).toEqual([[first, undefined], [original, first]]);
    expect((await d.history(original))?.replayedAs).toBe(first);

    fix();
    const second = await replayOne(d, original);
    expect((await d.deadLetters()).items.find((x) => x.messageId === original)?.replayedAs).toBe(second);
    await d.onIdle();
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual(Array(3).fill(r.requests[0]!.headers['webhook-id']));
    expect(r.requests).toHaveLength(3);
    expect(warnings).toEqual([]);
  });
});

describe.each(stores.slice(1))('replayedAs on $name, durable', ({ skip, make }) => {
  it.skipIf(skip !== undefined)('survives a new dispatcher on the same data; a replay of a delivered message marks nothing and warns of nothing', async () => {
    const newStore = make();
    const { fix, url } = await receiver();
    const first = dispatcher({ store: newStore() });
    const original = await deadLetter(first.d, url);
    const other = await deadLetter(first.d, url);
    fix();
    const replay = await replayOne(first.d, original);
    await first.d.onIdle();
    // The replay was delivered: the store keeps it (until pruned), so it can be replayed in turn,
    // beside a dead letter in the same call: its mark is refused (not failed), the other's kept.
    const both = await first.d.replay([replay, other]);
    expect(both.map((r) => r.ok)).toEqual([true, true]);
    await first.d.onIdle();
    expect(first.warnings).toEqual([]);
    await first.d.close();

    const second = dispatcher({ store: newStore() });
    await second.d.ready();
    const otherAs = both[1]!.ok ? both[1]!.receipt.messageId : '';
    expect((await second.d.deadLetters()).items).toEqual([expect.objectContaining({ messageId: other, replayedAs: otherAs }), expect.objectContaining({ messageId: original, replayedAs: replay })]);
    expect((await second.d.history(replay))?.state).toBe('delivered');
    expect(await second.d.history(replay)).not.toHaveProperty('replayedAs');
  });
});

describe('a store that cannot record the mark', () => {
  it('leaves the replay standing and warns with store-write-failed', async () => {
    const store = new MemoryStore({ durable: true });
    const write = store.write.bind(store);
    store.write = (ops: readonly StoreOp[]) => (ops.some((o) => o.op === 'replayed') ? Promise.reject(new Error('disk I/O error')) : write(ops));
    const { fix, url } = await receiver();
    const { d, warnings } = dispatcher({ store });
    const original = await deadLetter(d, url);
    fix();
    const replay = await replayOne(d, original);
    await d.onIdle();
    expect((await d.history(replay))?.state).toBe('delivered');
    expect((await d.deadLetters()).items[0]).not.toHaveProperty('replayedAs');
    expect(warnings).toEqual([expect.objectContaining({ kind: 'store-write-failed', message: `Could not record that message \`${original}\` (as \`${replay}\`) was replayed: disk I/O error` })]);
  });
});
