/**
 * Dispatchers sharing one Postgres schema, in one process: delivery and release on close, the
 * transactional outbox (commit vs rollback), a dead dispatcher's messages taken over after
 * `leaseMs`, and an ordered host served in acceptance order across two dispatchers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock, type Clock, type Timer } from '../src/core/clock.js';
import type { Dispatcher } from '../src/index.js';
import { postgresStore } from '../src/stores/postgres/postgres-store.js';
import { Terminals, newSecret, testDispatcher } from './helpers.js';
import { Receiver, ok } from './receiver.js';
import { KEY } from './support/store-fixtures.js';
import { pgAvailable, pgSkipNote, requirePostgresInCI, testDatabase } from './support/postgres.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { ShiftedClock } from './support/clock.js';
import pg from 'pg';

requirePostgresInCI('Dispatchers on postgresStore');

/** The system clock until `freeze()`: then no timer it armed, or arms, ever fires (a process that died). */
class MortalClock implements Clock {
  #dead = false;
  now = systemClock.now;
  random = systemClock.random;
  setTimer = (fn: () => void, ms: number, keepAlive: boolean): Timer => systemClock.setTimer(() => this.#dead || fn(), ms, keepAlive);
  freeze(): void {
    this.#dead = true;
  }
}

/** Resolves once `count()` reaches `n`, checked at each event of `dispatchers`. */
function reach(dispatchers: Dispatcher[], count: () => number, n: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => count() >= n && resolve();
    for (const d of dispatchers) d.on('delivered', check).on('failed', check);
    check();
  });
}

describe.skipIf(!pgAvailable)(`Dispatchers on postgresStore${pgSkipNote}`, () => {
  const { pool, schema } = testDatabase(20);
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });

  const secret = newSecret();
  function dispatcher(name: string, options: Parameters<typeof testDispatcher>[0] = {}, clock?: Clock): Dispatcher {
    const d = testDispatcher({ store: postgresStore({ pool, encryptionKey: KEY, leaseMs: 1_000, schema: name }), ...options }, clock === undefined ? undefined : { clock });
    d.on('error', () => {});
    cleanup.push(() => d.close());
    return d;
  }
  async function receiver(handler = () => ok): Promise<Receiver> {
    const r = await Receiver.start(handler);
    cleanup.push(() => r.stop());
    return r;
  }
  /**
   * Dispatcher A on schema `name`, with five messages sent to a receiver that hangs until A
   * dies: `die()` freezes A's clock (its attempts hang, its renewals and claims never run again),
   * lets the receiver answer, and returns when.
   */
  async function fiveHeldByA(name: string) {
    let answering = false;
    const r = await receiver(() => (answering ? ok : { kind: 'hang' }));
    const clockA = new MortalClock();
    const a = dispatcher(name, {}, clockA);
    await a.ready();
    const ta = new Terminals(a);
    const sentAt = Date.now();
    const receipts = await Promise.all(Array.from({ length: 5 }, (_, i) => a.send({ url: r.url(), secret }, { type: 'order.paid', data: { i } })));
    const die = () => {
      clockA.freeze();
      answering = true;
      return Date.now();
    };
    return { r, ta, sentAt, receipts, die };
  }
  const owned = async (name: string) => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${name}".messages WHERE state = 0 AND owner IS NOT NULL`)).rows[0]!.n;

  it('delivers what it accepts, keeps the history, and hands back what is left when it closes', async () => {
    const name = schema();
    const r = await receiver();
    const d = dispatcher(name);
    await d.ready();
    const t = new Terminals(d);
    const receipts = await Promise.all(Array.from({ length: 20 }, (_, i) => d.send({ url: r.url(), secret }, { type: 'order.paid', data: { i } })));
    await reach([d], () => t.total, 20);
    expect(t.delivered).toHaveLength(20);
    expect((await d.history(receipts[0]!.messageId))?.state).toBe('delivered');

    r.handler = () => ({ kind: 'hang' });
    await d.send({ url: r.url(), secret }, { type: 'order.paid', data: 'stuck' });
    expect(await owned(name)).toBe(1);
    await d.close();
    expect(t.total).toBe(20); // the stuck one is handed back, not failed
    expect(await owned(name)).toBe(0);
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${name}".messages WHERE state = 0`)).rows[0].n).toBe(1);
  });

  it('outbox: a rolled-back transaction sends nothing and fires nothing; a committed one is claimed and delivered', async () => {
    const name = schema();
    const r = await receiver();
    const d = dispatcher(name);
    await d.ready();
    const t = new Terminals(d);
    const client = await pool.connect();
    cleanup.push(async () => client.release());
    await client.query('CREATE TEMP TABLE orders (id int)');

    await client.query('BEGIN');
    await client.query('INSERT INTO orders VALUES (1)');
    const lost = await d.send({ url: r.url(), secret }, { type: 'order.paid', data: 1 }, { transaction: client });
    await client.query('ROLLBACK');

    await client.query('BEGIN');
    await client.query('INSERT INTO orders VALUES (2)');
    const [kept] = await d.publish({ type: 'order.paid', data: 2 }, [{ url: r.url(), secret }], { transaction: client });
    expect(kept).toMatchObject({ ok: true });
    expect(d.stats().accepted).toBe(0); // nothing of it is this process's until it is claimed
    await client.query('COMMIT');

    await reach([d], () => t.total, 1);
    expect(t.delivered.map((e) => e.messageId)).toEqual([kept!.ok ? kept!.receipt.messageId : '']);
    expect(r.requests.map((q) => JSON.parse(q.body).data)).toEqual([2]);
    expect(await d.history(lost.messageId)).toBeUndefined();

    // Refusals: not a client; no shared store.
    await expect(d.send({ url: r.url(), secret }, { type: 't', data: 1 }, { transaction: {} as never })).rejects.toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('Expected `transaction` to be a pg client') });
    const memory = testDispatcher();
    cleanup.push(() => memory.close());
    await expect(memory.send({ url: r.url(), secret }, { type: 't', data: 1 }, { transaction: client })).rejects.toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('postgresStore') });
  });

  it("takes over a dead dispatcher's messages after leaseMs and delivers them", async () => {
    const name = schema();
    const { r, ta, sentAt, receipts, die } = await fiveHeldByA(name);
    await new Promise<void>((resolve) => {
      const check = () => (r.requests.length >= 5 ? resolve() : setImmediate(check));
      check();
    });
    const died = die();

    const b = dispatcher(name);
    const tb = new Terminals(b);
    await b.ready();
    await reach([b], () => tb.total, 5);
    const took = Date.now() - died;
    expect(tb.delivered.map((e) => e.messageId).sort()).toEqual(receipts.map((x) => x.messageId).sort());
    expect(ta.total).toBe(0);
    // Not before the lease lapsed, and soon after (renewal and claims run every leaseMs / 3).
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1_000);
    expect(took).toBeLessThan(3_000);
    const webhookIds = r.requests.map((q) => q.headers['webhook-id']);
    expect(new Set(webhookIds).size).toBe(5); // at least once: the same webhook-id each time
    expect(r.requests.length).toBe(10);
    await r.stop();
  });

  it('leases are timed by the database: a dispatcher whose clock is 10 minutes ahead takes nothing held under a live lease, until it truly lapses', async () => {
    const name = schema();
    const { r, ta, receipts, die } = await fiveHeldByA(name);
    const ahead = new ShiftedClock();
    ahead.offset = 600_000;
    const b = dispatcher(name, {}, ahead);
    const tb = new Terminals(b);
    await b.ready();
    // Three renewals by A (a lease end that moved three times): B claimed every third of a lease meanwhile.
    const leaseEnd = async () => (await pool.query<{ t: number }>(`SELECT max(lease_until) AS t FROM "${name}".messages`)).rows[0]!.t;
    for (let seen = await leaseEnd(), moves = 0; moves < 3; ) {
      const now = await leaseEnd();
      if (now !== seen) [seen, moves] = [now, moves + 1];
    }
    const gens = (await pool.query<{ g: number }>(`SELECT lease_gen AS g FROM "${name}".messages`)).rows.map((row) => row.g);
    expect(gens).toEqual([0, 0, 0, 0, 0]);
    expect(r.requests).toHaveLength(5); // A's, hanging; none of B's
    // A dies; its leases lapse on the database's clock, a second after its last renewal.
    const died = die();
    await reach([b], () => tb.total, 5);
    expect(Date.now() - died).toBeGreaterThanOrEqual(1_000 - 400); // the last renewal was at most a third of a lease before
    expect(tb.delivered.map((e) => e.messageId).sort()).toEqual(receipts.map((x) => x.messageId).sort());
    expect(ta.total).toBe(0);
    await r.stop();
  });

  it('an ordered host is served by one dispatcher at a time, in acceptance order, whoever accepted', async () => {
    const name = schema();
    const r = await receiver();
    const options = { hosts: { [r.origin]: { ordered: true } } };
    const a = dispatcher(name, options);
    const b = dispatcher(name, options);
    await Promise.all([a.ready(), b.ready()]);
    const [ta, tb] = [new Terminals(a), new Terminals(b)];
    for (let i = 0; i < 30; i++) await (i % 2 === 0 ? a : b).send({ url: r.url(), secret }, { type: 'seq', data: i });
    await reach([a, b], () => ta.total + tb.total, 30);
    expect(r.requests.map((q) => JSON.parse(q.body).data)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(ta.failed.length + tb.failed.length).toBe(0);
    expect([ta.total, tb.total].sort()).toEqual([0, 30]);
  });

  it('an outage: sends refused with WD_STORE_UNAVAILABLE saying why, nothing accepted; back, it sends and listens again', async () => {
    const name = schema();
    const proxy = await TcpProxy.start('127.0.0.1', 5432);
    cleanup.push(() => proxy.down());
    const proxied = new pg.Pool({ host: '127.0.0.1', port: proxy.port, user: 'postgres', database: 'test', max: 4, connectionTimeoutMillis: 2_000 });
    proxied.on('error', () => {});
    cleanup.push(() => proxied.end());
    const r = await receiver();
    const d = testDispatcher({ store: postgresStore({ pool: proxied, encryptionKey: KEY, leaseMs: 1_000, schema: name }) });
    const errors: unknown[] = [];
    d.on('error', (e) => errors.push(e));
    cleanup.push(() => d.close());
    await d.ready();
    const t = new Terminals(d);
    await d.send({ url: r.url(), secret }, { type: 't', data: 1 });
    await reach([d], () => t.total, 1);

    await proxy.down();
    await expect(d.send({ url: r.url(), secret }, { type: 't', data: 2 })).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringMatching(/ECONNREFUSED|terminated|Connection/) });
    expect(d.stats()).toMatchObject({ accepted: 1, pending: 0 });

    await proxy.up();
    // It listens again at its next tick: NOTIFY wakes it again, not only polling.
    await vi.waitFor(async () => {
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN "wd_${name}"'`);
      expect(rows[0]!.n).toBe(1);
    }, { timeout: 5_000, interval: 50 });
    await d.send({ url: r.url(), secret }, { type: 't', data: 3 });
    await reach([d], () => t.total, 2);
    expect(r.requests.map((q) => JSON.parse(q.body).data)).toEqual([1, 3]);
  });
});
