/**
 * One contract for every store behind the dispatcher's `MessageStore` seam. Each
 * implementation gets the same ops and must give the same answers; the property test at the
 * end runs random op sequences against a model store.
 */
import fc from 'fast-check';
import { beforeEach, expect, it } from 'vitest';
import type { MessageStore, StoreOp } from '../src/persistence/store.js';
import { refusedOpOf } from '../src/persistence/store-errors.js';
import type { FailureReason } from '../src/model/types.js';
import { T0, accept, attempt, delivered, failed, newId, record, replayed } from './support/store-fixtures.js';
import { StoreModel } from './support/store-model.js';
import { describeEachStore, storeImplementations } from './support/store-implementations.js';

const implementations = storeImplementations();

const A = 'https://a.example';
const B = 'https://b.example:8443';
const ids = (records: { id: string }[]) => records.map((r) => r.id);

/** Every page of dead letters, following cursors. */
async function allDeadLetters(store: MessageStore, query: { origin?: string; reason?: FailureReason; limit?: number }) {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.deadLetters({ ...query, ...(cursor !== undefined && { cursor }) });
    pages.push(page.items.map((d) => d.messageId));
    cursor = page.cursor;
    if (cursor !== undefined) expect(page.items).toHaveLength(query.limit ?? 100);
    // A cursor that does not move on would page forever.
    if (pages.length > 1_000) throw new Error('dead-letter paging does not end');
  } while (cursor !== undefined);
  return pages;
}

describeEachStore(implementations, (impl, current) => {
  let store: MessageStore;
  beforeEach(() => {
    store = current().store;
  });

  it('lists pending messages in id order, whatever order they were accepted in, per origin, paged by afterId and limit', async () => {
    const records = Array.from({ length: 12 }, (_, i) => record(i % 3 === 0 ? B : A));
    const shuffled = [5, 0, 11, 3, 8, 1, 10, 6, 2, 9, 4, 7].map((i) => records[i]!);
    await store.write(shuffled.slice(0, 5).map(accept));
    await store.write(shuffled.slice(5).map(accept));

    expect(ids(await store.pending({ limit: 100 }))).toEqual(ids(records));
    expect(ids(await store.pending({ origin: B, limit: 100 }))).toEqual(ids(records.filter((r) => r.origin === B)));
    expect(await store.pending({ origin: 'https://nobody.example', limit: 10 })).toEqual([]);

    const pages: string[][] = [];
    for (let afterId: string | undefined, page = await store.pending({ origin: A, limit: 3 }); page.length > 0; page = await store.pending({ origin: A, afterId, limit: 3 })) {
      pages.push(ids(page));
      afterId = page.at(-1)!.id;
    }
    expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
    expect(pages.flat()).toEqual(ids(records.filter((r) => r.origin === A)));
    expect(ids(await store.pending({ afterId: records[9]!.id, limit: 100 }))).toEqual(ids(records.slice(10)));
  });

  it('counts pending messages per origin and forgets an origin once nothing of it is pending', async () => {
    const [a1, a2, b1] = [record(A), record(A), record(B)];
    await store.write([accept(a1), accept(a2), accept(b1)]);
    expect(await store.pendingOrigins()).toEqual([{ origin: A, count: 2 }, { origin: B, count: 1 }]);
    await store.write([delivered(b1.id, 1, T0 + 5), failed(a1.id, 1, T0 + 6, 'rejected', 410)]);
    expect(await store.pendingOrigins()).toEqual([{ origin: A, count: 1 }]);
  });

  it('an attempt updates attempts, dueAt and the last answer, keeps the message pending and adds to its history', async () => {
    const r = record(A);
    await store.write([accept(r)]);
    await store.write([attempt(r.id, 1, T0 + 10, 503)]);
    await store.write([attempt(r.id, 2, T0 + 20, null)]);

    expect(await store.get(r.id)).toEqual({ ...r, attempts: 2, dueAt: T0 + 1_020, last: { status: null, error: { code: 'UND_ERR_SOCKET', message: 'other side closed' }, body: null } });
    expect(ids(await store.pending({ limit: 10 }))).toEqual([r.id]);
    const history = await store.history(r.id);
    expect(history).toEqual({
      messageId: r.id, eventId: r.eventId, eventType: r.eventType, url: r.url, origin: A, state: 'pending', acceptedAt: new Date(T0),
      attempts: [
        { at: new Date(T0 + 10), status: 503, latencyMs: 12.5 },
        { at: new Date(T0 + 20), error: { code: 'UND_ERR_SOCKET', message: 'other side closed' }, latencyMs: 12.5 },
      ],
    });
  });

  it('an end takes the message out of pending: delivered, or failed into the dead letters with everything `Failed` has plus failedAt', async () => {
    const [ok, bad, expired] = [record(A), record(B), record(A)];
    await store.write([accept(ok), accept(bad), accept(expired), attempt(bad.id, 1, T0 + 1, 500)]);
    await store.write([delivered(ok.id, 1, T0 + 2), failed(bad.id, 2, T0 + 3, 'exhausted', 502), failed(expired.id, 0, T0 + 4, 'expired')]);

    expect(await store.pending({ limit: 10 })).toEqual([]);
    expect((await store.history(ok.id))?.state).toBe('delivered');
    const { items, cursor } = await store.deadLetters({});
    expect(cursor).toBeUndefined();
    expect(items).toEqual([
      { messageId: expired.id, eventId: expired.eventId, eventType: 'order.paid', url: expired.url, origin: A, attempts: 0, reason: 'expired', failedAt: new Date(T0 + 4) },
      { messageId: bad.id, eventId: bad.eventId, eventType: 'order.paid', url: bad.url, origin: B, attempts: 2, reason: 'exhausted', status: 502, responseBody: 'nope', failedAt: new Date(T0 + 3) },
    ]);
    const socket = record(A);
    await store.write([accept(socket), failed(socket.id, 3, T0 + 5, 'exhausted', null)]);
    expect((await store.deadLetters({ limit: 1 })).items[0]).toMatchObject({ messageId: socket.id, error: { code: 'UND_ERR_SOCKET', message: 'other side closed' } });
    expect((await store.deadLetters({ limit: 1 })).items[0]).not.toHaveProperty('status');
  });

  it('pages dead letters newest first with a cursor, filtered by origin and by reason, ties broken by id', async () => {
    const reasons: FailureReason[] = ['exhausted', 'rejected', 'expired', 'gone'];
    const records = Array.from({ length: 23 }, (_, i) => record(i % 2 === 0 ? A : B));
    await store.write(records.map(accept));
    // Pairs end in the same millisecond: the order among them comes from the id.
    await store.write(records.map((r, i) => failed(r.id, 1, T0 + Math.floor(i / 2), reasons[i % 4]!, 500)));
    const newestFirst = ids(records).reverse();

    expect((await allDeadLetters(store, { limit: 5 })).flat()).toEqual(newestFirst);
    expect((await allDeadLetters(store, { limit: 5 })).map((p) => p.length)).toEqual([5, 5, 5, 5, 3]);
    expect((await allDeadLetters(store, { limit: 23 })).length).toBe(1);
    expect((await allDeadLetters(store, { origin: B, limit: 4 })).flat()).toEqual(newestFirst.filter((id) => records.find((r) => r.id === id)!.origin === B));
    const rejected = records.filter((_, i) => reasons[i % 4] === 'rejected').reverse();
    expect((await allDeadLetters(store, { reason: 'rejected', limit: 2 })).flat()).toEqual(ids(rejected));
    expect((await allDeadLetters(store, { reason: 'rejected', origin: A, limit: 2 })).flat()).toEqual(ids(rejected.filter((r) => r.origin === A)));
    expect(await store.deadLetters({ origin: 'https://nobody.example' })).toEqual({ items: [] });
  });

  it('refuses a bad dead-letter query with WD_INVALID_OPTIONS saying what was expected', async () => {
    for (const [query, says] of [
      [{ limit: 0 }, 'Expected `limit` to be an integer from 1 to 1_000, got `0` (number)'],
      [{ limit: 1_001 }, 'Expected `limit` to be an integer from 1 to 1_000'],
      [{ reason: 'lost' }, 'Expected `reason` to be one of `rejected`'],
      [{ cursor: 'not-a-cursor' }, 'Expected `cursor` to be the `cursor` of an earlier `deadLetters` page'],
      [{ origin: 7 }, 'Expected `origin` to be an origin string'],
      [{ limt: 5 }, 'did you mean `limit`?'],
    ] as const) {
      await expect(store.deadLetters(query as never)).rejects.toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining(says) });
    }
  });

  it('history shows every attempt of a delivered and a failed message; an unknown id has none', async () => {
    const [r1, r2] = [record(A), record(B)];
    await store.write([accept(r1), accept(r2), attempt(r1.id, 1, T0 + 1), attempt(r2.id, 1, T0 + 2)]);
    await store.write([attempt(r1.id, 2, T0 + 3), delivered(r1.id, 3, T0 + 4), failed(r2.id, 2, T0 + 5, 'rejected', 400)]);
    const h1 = await store.history(r1.id);
    expect(h1?.state).toBe('delivered');
    expect(h1?.attempts.map((a) => [a.at.getTime(), a.status])).toEqual([[T0 + 1, 503], [T0 + 3, 503], [T0 + 4, 200]]);
    const h2 = await store.history(r2.id);
    expect(h2?.state).toBe('failed');
    expect(h2?.attempts.map((a) => [a.at.getTime(), a.status])).toEqual([[T0 + 2, 503], [T0 + 5, 400]]);
    expect(await store.history(newId())).toBeUndefined();
  });

  it('get gives back the record, secrets and headers intact, for pending and failed messages', async () => {
    const pending = record(A, { secrets: ['whsec_c2VjcmV0LW9uZS1zZWNyZXQtb25lLXNlY3JldA==', 'whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZC1zZWM='], idempotencyKey: 'order-7', expiresAt: Infinity });
    const dead = record(B, { scheme: 'timestamped-hex', secrets: ['plain-hex-secret'], headers: [], body: Buffer.alloc(0) });
    const binary = record(A, { body: Buffer.from([0, 255, 1, 254, 0]), headers: [['x-ünïcode', 'välue ✓'], ['x-empty', '']] });
    // An endpoint's own rate limit comes back with its message (a recovered backlog keeps to it).
    const limited = record(B, { rateLimit: { perSecond: 5, burst: 2 } });
    await store.write([accept(pending), accept(dead), accept(binary), accept(limited), failed(dead.id, 1, T0 + 9, 'rejected', 401)]);

    expect(await store.get(pending.id)).toEqual(pending);
    expect(await store.get(binary.id)).toEqual(binary);
    expect(await store.get(limited.id)).toStrictEqual(limited);
    expect((await store.pending({ origin: limited.origin, limit: 10 })).find((r) => r.id === limited.id)?.rateLimit).toEqual({ perSecond: 5, burst: 2 });
    expect((await store.get(pending.id))?.rateLimit ?? undefined).toBeUndefined();
    expect(await store.get(dead.id)).toEqual({ ...dead, attempts: 1, last: { status: 401, error: null, body: 'nope' } });
    expect(await store.get(newId())).toBeUndefined();
    // What a store hands out is a copy: changing it changes nothing stored.
    const copy = (await store.get(pending.id))!;
    copy.attempts = 99;
    expect((await store.get(pending.id))!.attempts).toBe(0);
  });

  // Registered only where it applies, so a skip in the summary always means a missing service.
  if (impl.keepsDelivered) it('get still finds a delivered message until it is pruned (replay of a delivered event)', async () => {
    const r = record(A);
    await store.write([accept(r), delivered(r.id, 1, T0 + 1)]);
    expect(await store.get(r.id)).toEqual({ ...r, attempts: 1 });
  });

  it('prune removes what ended before its cutoff, and nothing else', async () => {
    const rs = Array.from({ length: 7 }, () => record(A));
    await store.write(rs.map(accept));
    await store.write([
      delivered(rs[0]!.id, 1, T0 + 100), // before the delivered cutoff: pruned
      delivered(rs[1]!.id, 1, T0 + 200), // at the cutoff: kept
      failed(rs[2]!.id, 1, T0 + 100), // failed, after the failed cutoff: kept
      failed(rs[3]!.id, 1, T0 + 10), // before the failed cutoff: pruned
      failed(rs[4]!.id, 1, T0 + 49),
    ]);
    expect(await store.prune({ delivered: T0 + 200, failed: T0 + 50 })).toBe(3);
    for (const gone of [rs[0]!, rs[3]!, rs[4]!]) {
      expect(await store.history(gone.id)).toBeUndefined();
      expect(await store.get(gone.id)).toBeUndefined();
    }
    expect((await store.history(rs[1]!.id))?.state).toBe('delivered');
    expect(ids(await store.pending({ limit: 10 }))).toEqual([rs[5]!.id, rs[6]!.id]);
    expect((await store.deadLetters({})).items.map((d) => d.messageId)).toEqual([rs[2]!.id]);
    expect(await store.prune({ delivered: T0 + 200, failed: T0 + 50 })).toBe(0);
    await expect(store.prune({ delivered: Number.NaN, failed: 0 })).rejects.toMatchObject({ code: 'WD_INVALID_OPTIONS', message: 'Expected `delivered` to be a time in clock milliseconds, got `NaN` (number)' });
    expect(await store.prune({ delivered: Infinity, failed: -Infinity })).toBe(1);
  });

  it('applies a batch atomically: an invalid op leaves nothing of the ops before it', async () => {
    const held = record(A);
    await store.write([accept(held), attempt(held.id, 1, T0 + 1)]);
    const fresh = record(A);
    const ended = record(B);
    const bad: [StoreOp[], string][] = [
      [[accept(fresh), attempt(newId(), 1, T0 + 2)], 'op 2 of 2 (`attempt` of message'],
      [[accept(fresh), accept(fresh)], 'op 2 of 2 (`accept`'],
      [[accept(fresh), attempt(held.id, 2, T0 + 2), accept(held)], 'op 3 of 3 (`accept`'],
      [[accept(ended), delivered(ended.id, 1, T0 + 3), attempt(ended.id, 2, T0 + 4)], 'not pending'],
      [[accept(fresh), { op: 'retry', id: fresh.id } as unknown as StoreOp], 'op 2 of 2 is not'],
    ];
    for (const [ops, says] of bad) {
      await expect(store.write(ops)).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining(says) });
    }
    expect(ids(await store.pending({ limit: 10 }))).toEqual([held.id]);
    expect(await store.get(fresh.id)).toBeUndefined();
    expect(await store.history(ended.id)).toBeUndefined();
    expect((await store.get(held.id))?.attempts).toBe(1);
    expect((await store.history(held.id))?.attempts).toHaveLength(1);
    // And the store goes on.
    await store.write([accept(fresh), delivered(fresh.id, 1, T0 + 5)]);
    expect((await store.history(fresh.id))?.state).toBe('delivered');
  });

  it('a run of ends names the one that is not pending, and applies none of them', async () => {
    const rs = [record(A), record(B), record(A)];
    await store.write(rs.map(accept));
    await store.write([delivered(rs[1]!.id, 1, T0 + 1)]);
    await expect(store.write([delivered(rs[0]!.id, 1, T0 + 2), delivered(rs[1]!.id, 2, T0 + 2), delivered(rs[2]!.id, 1, T0 + 2)])).rejects.toMatchObject({
      code: 'WD_STORE_UNAVAILABLE',
      message: expect.stringContaining(`op 2 of 3 (\`end\` of message \`${rs[1]!.id}\`) names a message that is not pending`),
    });
    expect(ids(await store.pending({ limit: 10 }))).toEqual([rs[0]!.id, rs[2]!.id]);
    await store.write([delivered(rs[0]!.id, 1, T0 + 3), delivered(rs[2]!.id, 1, T0 + 3)]);
    expect((await store.history(rs[2]!.id))?.attempts.map((a) => a.status)).toEqual([200]);
    expect(await store.pending({ limit: 10 })).toEqual([]);
  });

  it('marks a refusal of a bad op with the refused op (refusedOpOf: its index and message id); a store that cannot work is not marked', async () => {
    const held = record(A);
    const ended = record(B);
    const fresh = [record(A), record(B)];
    await store.write([accept(held), accept(ended), delivered(ended.id, 1, T0 + 1)]);
    const bad: [StoreOp[], number, string][] = [
      // An id the store holds, from an earlier batch and from the same batch.
      [[accept(fresh[0]!), accept(held)], 1, held.id],
      [[accept(fresh[0]!), accept(fresh[1]!), accept(fresh[0]!)], 2, fresh[0]!.id],
      // An end and an attempt of a message that is not pending (ended, or never accepted).
      [[attempt(held.id, 1, T0 + 2), failed(ended.id, 2, T0 + 2, 'rejected', 410)], 1, ended.id],
      [[accept(fresh[0]!), attempt(fresh[1]!.id, 1, T0 + 2)], 1, fresh[1]!.id],
      // A run of delivered ends (one statement in Postgres) names the one that is not pending.
      [[delivered(held.id, 1, T0 + 3), delivered(ended.id, 2, T0 + 3)], 1, ended.id],
    ];
    for (const [ops, index, messageId] of bad) {
      const error = await store.write(ops).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'WD_STORE_UNAVAILABLE' });
      expect(refusedOpOf(error)).toEqual({ index, messageId });
    }
    // Nothing of the refused batches applied, and a closed store's failure names no op.
    expect(ids(await store.pending({ limit: 10 }))).toEqual([held.id]);
    await store.close();
    const closed = await store.write([accept(record(A))]).then(() => undefined, (e: unknown) => e);
    expect(closed).toMatchObject({ code: 'WD_STORE_UNAVAILABLE' });
    expect(refusedOpOf(closed)).toBeUndefined();
  });

  it('ops of one batch see each other: accept, attempts and end of one message in one batch', async () => {
    const r = record(B);
    await store.write([accept(r), attempt(r.id, 1, T0 + 1), attempt(r.id, 2, T0 + 2), failed(r.id, 3, T0 + 3, 'gone', 410)]);
    expect((await store.history(r.id))?.attempts).toHaveLength(3);
    expect((await store.deadLetters({ reason: 'gone' })).items.map((d) => d.messageId)).toEqual([r.id]);
    await store.write([]);
  });

  it('refuses work before open and after close with WD_STORE_UNAVAILABLE', async () => {
    await store.close();
    await expect(store.write([accept(record())])).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('closed') });
    await expect(store.pending({ limit: 1 })).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE' });
    await expect(store.deadLetters({})).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE' });
    await store.close(); // twice is fine
    const unopened = impl.unopened();
    await expect(unopened.write([accept(record())])).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('call `open()` first') });
    await expect(unopened.get(newId())).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE' });
  });

  if (impl.durable) it('a new store on the same data gives back everything: pending in order, counters, dead letters, history', async () => {
    const rs = Array.from({ length: 6 }, (_, i) => record(i < 3 ? A : B));
    await store.write(rs.map(accept));
    await store.write([attempt(rs[0]!.id, 1, T0 + 1), attempt(rs[0]!.id, 2, T0 + 2), delivered(rs[1]!.id, 1, T0 + 3), failed(rs[4]!.id, 1, T0 + 4, 'rejected', 403)]);
    const before = {
      pending: await store.pending({ limit: 100 }),
      origins: await store.pendingOrigins(),
      dead: await store.deadLetters({}),
      histories: await Promise.all(rs.map((r) => store.history(r.id))),
      records: await Promise.all(rs.map((r) => store.get(r.id))),
    };
    expect(ids(before.pending)).toEqual([rs[0]!.id, rs[2]!.id, rs[3]!.id, rs[5]!.id]);

    const reopened = await current().reopen();
    expect(await reopened.pending({ limit: 100 })).toEqual(before.pending);
    expect(await reopened.pendingOrigins()).toEqual(before.origins);
    expect(await reopened.deadLetters({})).toEqual(before.dead);
    expect(await Promise.all(rs.map((r) => reopened.history(r.id)))).toEqual(before.histories);
    expect(await Promise.all(rs.map((r) => reopened.get(r.id)))).toEqual(before.records);
    expect((await reopened.get(rs[0]!.id))?.dueAt).toBe(T0 + 1_002);
  });

  it('answers like a model store after any sequence of batches, invalid ones refused whole', async () => {
    const command = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('accept' as const), origin: fc.constantFrom(A, B, 'http://c.example:8080') }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('attempt' as const), pick: fc.nat(), status: fc.constantFrom(500, 429, null) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('fail' as const), pick: fc.nat(), reason: fc.constantFrom<FailureReason>('exhausted', 'rejected', 'expired', 'gone') }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('invalid' as const) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const), pick: fc.nat() }) },
    );
    const batches = fc.array(fc.record({ commands: fc.array(command, { minLength: 1, maxLength: 6 }), tick: fc.nat(3), prune: fc.option(fc.record({ delivered: fc.nat(40), failed: fc.nat(40) }), { freq: 8 }) }), { minLength: 1, maxLength: 12 });

    await fc.assert(
      fc.asyncProperty(batches, fc.integer({ min: 1, max: 4 }), async (plan, pageSize) => {
        const run = await impl.make();
        const s = run.store;
        const model = new StoreModel();
        let now = T0;
        try {
          for (const { commands, tick, prune } of plan) {
            now += tick;
            const ops: StoreOp[] = [];
            // Commands pick among what is pending once the ops before them in the batch are applied.
            const shadow = new StoreModel();
            for (const [id, m] of model.messages) shadow.messages.set(id, { ...m, record: { ...m.record }, attempts: [...m.attempts] });
            for (const c of commands) {
              const pending = shadow.pending();
              const target = 'pick' in c && pending.length > 0 ? pending[c.pick % pending.length]! : undefined;
              const dead = c.kind === 'replay' ? shadow.deadLetters() : [];
              let op: StoreOp | undefined;
              if (c.kind === 'accept') op = accept(record(c.origin, { acceptedAt: now }));
              else if (c.kind === 'invalid') op = attempt(newId(), 1, now);
              else if (c.kind === 'replay' && dead.length > 0) op = replayed(dead[c.pick % dead.length]!.messageId, newId(), now);
              else if (target !== undefined && c.kind === 'attempt') op = attempt(target.id, target.attempts + 1, now, c.status);
              else if (target !== undefined && c.kind === 'deliver') op = delivered(target.id, target.attempts + 1, now);
              else if (target !== undefined && c.kind === 'fail') op = failed(target.id, target.attempts + 1, now, c.reason);
              if (op === undefined) continue;
              ops.push(op);
              shadow.apply([op]);
            }
            const valid = model.apply(ops);
            if (valid) await s.write(ops);
            else await expect(s.write(ops)).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE' });
            if (prune !== null) {
              const before = { delivered: T0 + prune.delivered, failed: T0 + prune.failed };
              expect(await s.prune(before)).toBe(model.prune(before));
            }
          }
          expect(await s.pending({ limit: 1_000 })).toEqual(model.pending());
          for (const origin of [A, B]) expect(await s.pending({ origin, limit: 1_000 })).toEqual(model.pending(origin));
          expect(await s.pendingOrigins()).toEqual(model.pendingOrigins());
          for (const reason of [undefined, 'rejected'] as const) {
            const pages = await allDeadLetters(s, { limit: pageSize, ...(reason && { reason }) });
            expect(pages.flat()).toEqual(model.deadLetters({ ...(reason && { reason }) }).map((d) => d.messageId));
          }
          expect((await s.deadLetters({ limit: 1_000 })).items).toEqual(model.deadLetters());
          for (const id of model.messages.keys()) {
            expect(await s.history(id)).toEqual(model.history(id));
            expect(await s.get(id)).toEqual(model.get(id, impl.keepsDelivered));
          }
        } finally {
          await run.dispose();
        }
      }),
      { numRuns: impl.durable ? 25 : 100 },
    );
  });
});
