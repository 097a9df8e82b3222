/**
 * One contract for every store behind the `SharedStore` seam: several processes share its
 * data, each claims due work under a lease, renews it while alive, releases it, and takes over
 * a dead process's work once its lease lapses; a claim's lease generation fences the writes
 * made under it. An ordered origin is served by one owner at a time. Each implementation (see
 * `sharedStoreImplementations`) gives fresh shared data, joins "processes" to it (a store of
 * their own, on connections of their own) and makes an owner's leases lapse; every test runs
 * on each.
 *
 * Leases are timed by the store's own clock, never by the `now` a claimer passes (that only
 * says which retries are due): no test waits for a lease to run out, it makes it lapse with
 * the implementation's `lapse(owner)`; and a claimer passing a `now` far past every lease's
 * end still takes no live lease.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ClaimedRecord, SharedStore } from '../src/persistence/shared-store.js';
import type { Fence, StoreOp } from '../src/persistence/store.js';
import type { MessageRecord } from '../src/model/message-record.js';
import { refusedOpOf } from '../src/persistence/store-errors.js';
import { T0, attempt, delivered, failed, fenced, record } from './support/store-fixtures.js';
import { forEachImplementation, sharedStoreImplementations, type SharedData } from './support/store-implementations.js';

const implementations = sharedStoreImplementations();

const LEASE = 10_000;
/** A claimer's clock past the end of every lease: it must not decide anything about leases. */
const AHEAD = Number.MAX_SAFE_INTEGER;
const A = 'https://a.example';
const O = 'https://ordered.example';
const P = 'https://ordered-too.example';
const ids = (rs: { id: string }[]) => rs.map((r) => r.id);
const sorted = (xs: string[]) => [...xs].sort();
/** Claimed records as they were written: without their lease generations. */
const plain = (rs: ClaimedRecord[]): MessageRecord[] => rs.map(({ leaseGen: _, ...r }) => r);
/** Accepted held by `owner` (`null`: nobody's, claimable at once); `until` is ignored by stores on their own clock. */
const held = (owner: string | null, ordered = false) => (r: MessageRecord): StoreOp => ({ op: 'accept', record: r, lease: { owner, until: owner === null ? 0 : T0 + LEASE, ordered } });
const free = held(null);
const freeOrdered = held(null, true);
/** What a write came to: `'applied'`, the op a store refused (`refusedOpOf`), or the error it failed with otherwise. */
const refusal = (write: Promise<void>) => write.then(() => 'applied', (error: unknown) => refusedOpOf(error) ?? error);

forEachImplementation(implementations, (impl) => {
  let data: SharedData;
  /** Two processes sharing the data. */
  let one: SharedStore;
  let two: SharedStore;
  beforeEach(async () => {
    data = await impl.make(LEASE);
    [one, two] = [await data.join(), await data.join()];
  });
  afterEach(() => data.dispose());

  it('says how long a claim holds: leaseMs', () => {
    expect(one.leaseMs).toBe(LEASE);
  });

  it('a claim takes only due messages that nobody holds or whose lease lapsed, in id order, at most `limit`, whole', async () => {
    const [u1, lapsed, u2, live, notDue, u3, ended, u4] = [
      record(A), record(A), record(A), record(A), record(A, { attempts: 1, dueAt: T0 + 5_000 }), record(A), record(A), record(A),
    ];
    // Written out of id order, in several batches, as several processes would.
    await two.write([free(u4), held('p9')(lapsed), free(ended)]);
    await one.write([held('p1')(live), free(u2), free(notDue), free(u1), free(u3)]);
    await one.write([delivered(ended.id, 1, T0)]);
    await data.lapse('p9');

    const first = await two.claim('p2', 3, T0);
    expect(plain(first)).toEqual([u1, lapsed, u2]);
    // The rest of what is claimable; nothing p2 already holds comes back, and never p1's.
    expect(plain(await one.claim('p2', 10, T0))).toEqual([u3, u4]);
    expect(await two.claim('p2', 10, T0 + 1)).toEqual([]);
    expect(await one.claim('p3', 10, T0 + 2)).toEqual([]);
    // Once due (by the claimer's clock), the retry is claimable too; p1's live lease still is not.
    expect(ids(await one.claim('p3', 10, AHEAD))).toEqual([notDue.id]);
    expect(await one.claim('p3', 0, AHEAD)).toEqual([]);
  });

  it('a live lease is never taken, however many claim and whatever `now` they pass; once lapsed it is taken by the next claimer, who then holds it', async () => {
    const rs = [record(A), record(A), record(A)];
    await one.write(rs.map(free));
    expect(plain(await one.claim('p1', 10, T0))).toEqual(rs);
    expect(await two.claim('p2', 10, AHEAD)).toEqual([]);
    expect(await one.claim('p3', 10, AHEAD)).toEqual([]);
    await data.lapse('p1');
    // Never a claimer's own, lapsed or not: it holds those already (a renewal keeps them).
    expect(await one.claim('p1', 10, AHEAD)).toEqual([]);
    expect(plain(await two.claim('p2', 10, T0))).toEqual(rs);
    // p1 died and came back (or stalled): its messages are p2's now, until p2's lease lapses.
    expect(await one.claim('p1', 10, AHEAD)).toEqual([]);
    expect(await one.renew('p1', AHEAD)).toEqual([]);
    expect(sorted(await two.renew('p2', T0))).toEqual(sorted(ids(rs)));
    await data.lapse('p2');
    expect(plain(await one.claim('p1', 10, T0))).toEqual(rs);
  });

  it('two owners claiming at once never get the same message, and together get every one', async () => {
    const rs = Array.from({ length: 240 }, () => record(A));
    await one.write(rs.map(free));
    const got = new Map<string, string[]>([['p1', []], ['p2', []]]);
    for (let round = 0; round < 8; round++) {
      const [x, y] = await Promise.all([one.claim('p1', 20, T0 + round), two.claim('p2', 20, T0 + round)]);
      got.get('p1')!.push(...ids(x));
      got.get('p2')!.push(...ids(y));
    }
    const all = [...got.get('p1')!, ...got.get('p2')!];
    expect(all).toHaveLength(rs.length);
    expect(new Set(all).size).toBe(rs.length);
    expect(got.get('p1')!.length).toBeGreaterThan(0);
    expect(got.get('p2')!.length).toBeGreaterThan(0);
    // Each owner holds exactly what it was given.
    expect(sorted(await one.renew('p1', T0 + 10))).toEqual(sorted(got.get('p1')!));
    expect(sorted(await two.renew('p2', T0 + 10))).toEqual(sorted(got.get('p2')!));
  });

  it('renew extends only the caller\'s own leases, lapsed or not while nobody took them, and lists the messages it still holds', async () => {
    // Each also holds an ordered origin's lease: p1 O's, p2 P's.
    const mine = [record(A), record(A), record(O)];
    const theirs = [record(A), record(A), record(P)];
    await one.write([...mine.slice(0, 2).map(held('p1')), freeOrdered(mine[2]!)]);
    expect(ids(await one.claim('p1', 10, T0))).toEqual([mine[2]!.id]);
    await two.write([...theirs.slice(0, 2).map(held('p2')), freeOrdered(theirs[2]!)]);
    expect(ids(await two.claim('p2', 10, T0))).toEqual([theirs[2]!.id]);
    await data.lapse();
    expect(sorted(await one.renew('p1', T0))).toEqual(sorted(ids(mine)));
    // p1's renewal left p2's leases as they were (lapsed): p3 takes those, not p1's.
    expect(plain(await one.claim('p3', 10, AHEAD))).toEqual(theirs);
    expect(await two.renew('p2', T0)).toEqual([]);
    expect(sorted(await one.renew('p3', T0))).toEqual(sorted(ids(theirs)));
    // An ended message is no longer held.
    await one.write([delivered(mine[0]!.id, 1, T0)]);
    expect(sorted(await one.renew('p1', T0))).toEqual(sorted(ids(mine.slice(1))));
    // p3's lapse, p1's renewed ones do not: p4 takes p3's only; then p1's once they lapse.
    await data.lapse('p3');
    expect(plain(await two.claim('p4', 10, AHEAD))).toEqual(theirs);
    await data.lapse('p1');
    expect(plain(await two.claim('p4', 10, T0))).toEqual(mine.slice(1));
  });

  it('release gives messages back at once: the ones named, or all the owner holds; never another owner\'s', async () => {
    const rs = [record(A), record(A), record(A)];
    const others = [record(A)];
    await one.write(rs.map(held('p1')));
    await one.write(others.map(held('p9')));
    // p2 cannot give back what p1 holds.
    await two.release('p2', ids(rs));
    await two.release('p2');
    expect(await two.claim('p2', 10, AHEAD)).toEqual([]);

    await one.release('p1', [rs[1]!.id]);
    expect(plain(await two.claim('p2', 10, T0))).toEqual([rs[1]]);
    expect(sorted(await one.renew('p1', T0))).toEqual(sorted(ids([rs[0]!, rs[2]!])));
    await one.release('p1');
    expect(plain(await two.claim('p2', 10, T0))).toEqual([rs[0], rs[2]]);
    expect(await one.renew('p1', T0)).toEqual([]);
    // p9's lease was live all along.
    expect(sorted(await two.renew('p2', T0))).toEqual(sorted(ids(rs)));
  });

  it('an ordered origin is served by one owner at a time, in id order, due or not; the next owner takes it over when the lease lapses', async () => {
    const first = [record(O), record(O, { attempts: 1, dueAt: T0 + 60_000 }), record(O)];
    const unordered = record(A);
    await two.write([...first.map(freeOrdered), free(unordered)]);
    expect(plain(await one.claim('p1', 10, T0))).toEqual([...first, unordered]);
    // New messages of the origin while p1 holds it: p2 never gets them, p1 does.
    const next = [record(O), record(O)];
    await two.write(next.map(freeOrdered));
    expect(await two.claim('p2', 10, AHEAD)).toEqual([]);
    expect(plain(await one.claim('p1', 1, T0))).toEqual([next[0]]);
    // A renewal after its lease lapsed (nobody took it) holds the origin and its messages again.
    await data.lapse('p1');
    await one.renew('p1', T0);
    expect(await two.claim('p2', 10, AHEAD)).toEqual([]);
    // p1 stops renewing: once its lease lapses, p2 takes the origin, oldest first (and the
    // unordered message p1 held, by the same lapse).
    await data.lapse('p1');
    expect(plain(await two.claim('p2', 10, T0))).toEqual([...first, unordered, ...next]);
    expect(await one.claim('p1', 10, AHEAD)).toEqual([]);
    await two.write([freeOrdered(record(O))]);
    expect(await one.claim('p1', 10, AHEAD)).toEqual([]);
  });

  it('two owners claiming ordered origins at once: each origin goes to one of them, whole', async () => {
    const rs = Array.from({ length: 30 }, (_, i) => record(i % 2 === 0 ? O : P));
    await one.write(rs.map(freeOrdered));
    const [x, y] = await Promise.all([one.claim('p1', 100, T0), two.claim('p2', 100, T0)]);
    for (const origin of [O, P]) {
      const owners = [x, y].filter((got) => got.some((r) => r.origin === origin));
      expect(owners, origin).toHaveLength(1);
      expect(ids(owners[0]!.filter((r) => r.origin === origin))).toEqual(ids(rs.filter((r) => r.origin === origin)));
    }
  });

  it('releasing everything gives up the origin lease too: another owner takes the ordered origin at once', async () => {
    const rs = [record(O), record(O)];
    await one.write(rs.map(freeOrdered));
    expect(plain(await one.claim('p1', 10, T0))).toEqual(rs);
    await one.release('p1', [rs[0]!.id]);
    // The origin is still p1's: a message given back waits for p1, not for p2.
    expect(await two.claim('p2', 10, AHEAD)).toEqual([]);
    await one.release('p1');
    expect(plain(await two.claim('p2', 10, T0))).toEqual(rs);
  });

  it('wakes a subscribed process when another writes unowned messages or gives some back', async () => {
    let woken = 0;
    let wake: () => void = () => {};
    const next = () => new Promise<void>((resolve) => (wake = resolve));
    const stop = await two.subscribe(() => {
      woken++;
      wake();
    });
    try {
      const heard = next();
      const r = record(A);
      await one.write([free(r)]);
      await heard;
      await one.claim('p1', 10, T0);
      const again = next();
      await one.release('p1');
      await again;
      expect(woken).toBeGreaterThanOrEqual(2);
    } finally {
      await stop();
    }
  });

  it('an attempt or an end written under a lease generation its writer no longer holds is refused, marking the op, nothing of its batch applied; the holder\'s writes apply', async () => {
    const [m, n, fresh] = [record(A), record(A), record(A)];
    await one.write([m, n].map(free));
    const [lost] = await one.claim('p1', 10, T0);
    await data.lapse('p1');
    const taken = await two.claim('p2', 10, T0);
    expect(ids(taken)).toEqual(ids([m, n]));
    expect(taken[0]!.leaseGen).toBeGreaterThan(lost!.leaseGen);
    const stale: Fence = { owner: 'p1', gen: lost!.leaseGen };
    const [holdsM, holdsN]: Fence[] = taken.map((r) => ({ owner: 'p2', gen: r.leaseGen }));
    const batches: StoreOp[][] = [
      [fenced(attempt(m.id, 1, T0), stale)],
      [fenced(delivered(m.id, 1, T0), stale)],
      [fenced(failed(m.id, 1, T0), stale)],
      [fenced(failed(m.id, 0, T0, 'expired'), stale)],
      // After the holder's own ops: those are not applied either.
      [fenced(attempt(n.id, 1, T0), holdsN!), fenced(delivered(m.id, 1, T0), stale)],
      [fenced(delivered(n.id, 1, T0), holdsN!), fenced(delivered(m.id, 1, T0), stale)],
      // With a new message's accept (in Postgres one statement, its own commit): not written either.
      [free(fresh), fenced(delivered(n.id, 1, T0), holdsN!), fenced(delivered(m.id, 1, T0), stale)],
      // The holder's generation under another name, the holder's name with the old generation.
      [fenced(delivered(m.id, 1, T0), { owner: 'p1', gen: holdsM!.gen })],
      [fenced(delivered(m.id, 1, T0), { owner: 'p2', gen: stale.gen })],
    ];
    for (const ops of batches) {
      expect(await refusal(one.write(ops)), ops.map((op) => op.op).join()).toEqual({ index: ops.length - 1, messageId: m.id });
    }
    for (const r of [m, n]) expect(await one.history(r.id)).toMatchObject({ state: 'pending', attempts: [] });
    expect(await one.get(fresh.id)).toBeUndefined();
    expect(await one.renew('p1', T0)).toEqual([]);
    expect(sorted(await two.renew('p2', T0))).toEqual(sorted(ids([m, n])));

    await two.write([fenced(attempt(m.id, 1, T0), holdsM!), fenced(delivered(m.id, 2, T0 + 1), holdsM!), fenced(failed(n.id, 1, T0 + 1), holdsN!)]);
    expect(await one.history(m.id)).toMatchObject({ state: 'delivered', attempts: [{ status: 503 }, { status: 200 }] });
    expect(await one.history(n.id)).toMatchObject({ state: 'failed', attempts: [{ status: 500 }] });
  });

  it('the lease generation increases on every claim: only the latest one\'s fence applies, the same owner\'s older ones refused; an accept holds under generation 0, until taken', async () => {
    const m = record(A);
    await one.write([held('p1')(m)]);
    const accepted: Fence = { owner: 'p1', gen: 0 };
    await one.write([fenced(attempt(m.id, 1, T0), accepted)]);
    // Lapsed, but nobody took it: p1 still holds it, and its writes apply.
    await data.lapse('p1');
    await one.write([fenced(attempt(m.id, 2, T0 + 1), accepted)]);
    const fences = [accepted];
    // Taken over, taken back, taken over again.
    for (const [store, owner] of [[two, 'p2'], [one, 'p1'], [two, 'p2']] as const) {
      await data.lapse();
      const claimed = await store.claim(owner, 10, AHEAD);
      expect(ids(claimed)).toEqual([m.id]);
      expect(claimed[0]!.attempts).toBe(2);
      expect(claimed[0]!.leaseGen).toBeGreaterThan(fences.at(-1)!.gen);
      fences.push({ owner, gen: claimed[0]!.leaseGen });
    }
    for (const fence of fences.slice(0, -1)) {
      expect(await refusal(one.write([fenced(delivered(m.id, 3, T0 + 2), fence)])), JSON.stringify(fence)).toEqual({ index: 0, messageId: m.id });
    }
    await two.write([fenced(delivered(m.id, 3, T0 + 2), fences.at(-1)!)]);
    expect(await one.history(m.id)).toMatchObject({ state: 'delivered', attempts: [{ status: 503 }, { status: 503 }, { status: 200 }] });
  });
});
