/**
 * The `replayed` marks are written in batches of their own, after what was journaled before
 * them: a mark the store refuses or does not know never fails, nor makes the group commit
 * rewrite one by one, the writes of unrelated sends that happened in the same turn.
 */
import { describe, expect, it } from 'vitest';
import type { WebhookError } from '../src/core/errors.js';
import { GroupCommit } from '../src/persistence/group-commit.js';
import { Journal } from '../src/persistence/journal.js';
import type { StoreOp } from '../src/persistence/store.js';
import { MemoryStore } from '../src/stores/memory/memory-store.js';
import { ManualClock } from './support/clock.js';
import { T0, accept, attempt, failed, newId, record } from './support/store-fixtures.js';

/** A durable memory store recording every batch by op kinds, a group commit and a journal over it. */
async function journal(refuseMarks?: Error) {
  const store = new MemoryStore({ durable: true });
  await store.open();
  const batches: string[][] = [];
  const write = store.write.bind(store);
  store.write = (ops: readonly StoreOp[]) => {
    batches.push(ops.map((o) => o.op));
    return refuseMarks !== undefined && ops.some((o) => o.op === 'replayed') ? Promise.reject(refuseMarks) : write(ops);
  };
  const commit = new GroupCommit(store, Promise.resolve());
  const errors: WebhookError[] = [];
  const j = new Journal(store, commit, new ManualClock(T0 + 50), (e) => errors.push(e));
  return { store, commit, j, batches, errors };
}

describe('replay marks', () => {
  it('are a batch of their own, after the ops journaled before them; a refused one costs nobody else a write', async () => {
    const { store, commit, j, batches, errors } = await journal();
    const [dead, live, other] = [record(), record(), record()];
    await store.write([accept(dead), accept(live), accept(other), failed(dead.id, 1, T0 + 1)]);
    batches.length = 0;
    const [as1, as2] = [newId(), newId()];
    // One turn: an attempt of a live message, a mark of a dead letter, a mark of a pending message (refused).
    await Promise.all([commit.add(attempt(live.id, 1, T0 + 2)), j.replayed(dead.id, as1), j.replayed(other.id, as2), commit.add(attempt(other.id, 1, T0 + 3))]);
    expect(batches).toEqual([['attempt', 'attempt'], ['replayed', 'replayed'], ['replayed'], ['replayed']]);
    expect((await store.deadLetters({})).items).toEqual([expect.objectContaining({ messageId: dead.id, replayedAs: as1, replayedAt: new Date(T0 + 50) })]);
    expect((await store.get(other.id))?.attempts).toBe(1);
    expect(errors).toEqual([]);
  });

  it('a store that cannot write them reports one warning naming the letters, and the group commit goes on', async () => {
    const { store, commit, j, batches, errors } = await journal(new Error('unknown op `replayed`'));
    const deads = Array.from({ length: 5 }, () => record());
    await store.write([...deads.map(accept), ...deads.map((d) => failed(d.id, 1, T0 + 1))]);
    const live = record();
    batches.length = 0;
    await Promise.all([commit.add(accept(live)), ...deads.map((d) => j.replayed(d.id, newId()))]);
    expect(batches).toEqual([['accept'], Array(5).fill('replayed')]);
    expect((await store.pending({ limit: 10 })).map((r) => r.id)).toEqual([live.id]);
    expect(errors.map((e) => [e.code, e.message])).toEqual([['WD_STORE_UNAVAILABLE', expect.stringMatching(new RegExp(`^Could not record that messages \`${deads[0]!.id}\` \\(as \`[^\`]+\`\\), .+, 2 more were replayed: unknown op \`replayed\`$`))]]);
  });
});
