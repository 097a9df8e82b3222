/**
 * An end the store could not write (PostgreSQL down, not refusing): it is written again until
 * the store keeps it (then its one event fires) or refuses it (another process took the message
 * over after its lease lapsed: released, no event here; that process delivers and ends it). Firing
 * the event without the write let a second process deliver the message and end it again.
 *
 * 1. A private PostgreSQL cluster (initdb + pg_ctl), stopped while an answer is on its way,
 *    started again: no event while it is down, then exactly one `delivered`, the row ended.
 * 2. Two dispatchers on one schema of the shared server, the first behind a TCP proxy that is
 *    cut while its answer is on its way: its lease lapses, the second claims, delivers and ends
 *    the message; the proxy comes back and the first fires no event (released, counted once),
 *    whether its end written again is refused first or a renewal that no longer lists the
 *    message comes first (then the end is written under no lease, and refused).
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Dispatcher, DispatcherWarning } from '../src/index.js';
import type { StoreOp } from '../src/persistence/store.js';
import { postgresStore } from '../src/stores/postgres/postgres-store.js';
import { Terminals, newSecret, testDispatcher } from './helpers.js';
import { dropSchemas, newPool, pgAvailable, pgSkipNote, schemaName } from './support/postgres.js';
import { PrivatePostgres, privatePostgresMissing } from './support/private-servers.js';
import { KEY } from './support/store-fixtures.js';
import { TcpProxy } from './support/tcp-proxy.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await Promise.resolve().then(fn).catch(() => {});
});

/**
 * A receiver on 127.0.0.1 that holds its first request's answer until `answer()`, after
 * `arrived` resolved; every later request is answered 200 at once.
 */
async function heldReceiver(): Promise<{ url: string; arrived: Promise<void>; answer: () => void; ids: string[] }> {
  const ids: string[] = [];
  let arrive!: () => void;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      ids.push(String(req.headers['webhook-id']));
      if (ids.length > 1) return void res.end('ok');
      arrive();
      void released.then(() => res.end('ok'));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(() => {
    release();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, arrived, answer: release, ids };
}

/**
 * A postgresStore whose failed writes of ends are counted; while `endsFail` (`renewalsFail`) is
 * set, every write of an end (every renewal) fails as if the server could not be reached.
 * `renewals` counts the renewals that answered.
 */
function countingStore(pool: pg.Pool, schema: string): { store: ReturnType<typeof postgresStore>; failedEnds: () => number; renewals: () => number; endsFail: { on: boolean }; renewalsFail: { on: boolean } } {
  const store = postgresStore({ pool, encryptionKey: KEY, leaseMs: 1_000, schema });
  const write = store.write.bind(store);
  const renew = store.renew.bind(store);
  const endsFail = { on: false };
  const renewalsFail = { on: false };
  let failed = 0;
  let renewed = 0;
  store.write = async (ops: readonly StoreOp[]) => {
    const ends = ops.some((op) => op.op === 'end');
    try {
      if (ends && endsFail.on) throw new Error('connect ECONNREFUSED (the test)');
      await write(ops);
    } catch (error) {
      if (ends) failed++;
      throw error;
    }
  };
  store.renew = async (owner: string, now: number) => {
    if (renewalsFail.on) throw new Error('connect ECONNREFUSED (the test)');
    const listed = await renew(owner, now);
    renewed++;
    return listed;
  };
  return { store, failedEnds: () => failed, renewals: () => renewed, endsFail, renewalsFail };
}

function watch(d: Dispatcher): { terminals: Terminals; warnings: DispatcherWarning[] } {
  const warnings: DispatcherWarning[] = [];
  d.on('warning', (w) => warnings.push(w));
  d.on('error', () => {});
  return { terminals: new Terminals(d), warnings };
}

const secret = newSecret();

/** A dispatcher on a private PostgreSQL of its own, one message sent to a receiver holding its answer. */
async function oneMessageOnPrivateServer() {
  const server = await PrivatePostgres.create();
  cleanup.push(() => server.destroy());
  const pool = new pg.Pool({ connectionString: server.url, max: 4, connectionTimeoutMillis: 1_000 });
  pool.on('error', () => {});
  cleanup.push(() => pool.end());
  const receiver = await heldReceiver();
  const { store, failedEnds } = countingStore(pool, 'unwritten');
  const d = testDispatcher({ store });
  const { terminals, warnings } = watch(d);
  await d.ready();
  const receipt = await d.send({ url: receiver.url, secret }, { type: 't', data: 1 });
  return { server, pool, receiver, failedEnds, d, terminals, warnings, receipt };
}

describe.skipIf(privatePostgresMissing !== undefined)(`an end written while PostgreSQL is down${privatePostgresMissing ? ` (skipped: ${privatePostgresMissing})` : ''}`, () => {
  it('fires no event while it is down (a store-write-failed warning instead), then exactly one delivered, the row ended', async () => {
    const { server, pool, receiver, failedEnds, d, terminals, warnings, receipt } = await oneMessageOnPrivateServer();
    cleanup.push(() => d.close({ timeoutMs: 2_000 }));

    await receiver.arrived;
    server.stop();
    receiver.answer();
    // Written again and failed again: an event fired after the first failure would be here by now.
    await vi.waitFor(() => expect(failedEnds() >= 3 || terminals.total > 0).toBe(true), { timeout: 10_000, interval: 20 });
    expect(terminals.total).toBe(0);
    expect(warnings.map((w) => w.kind)).toContain('store-write-failed');
    expect(d.stats()).toMatchObject({ delivered: 0, pending: 1 });

    server.start();
    await d.onIdle();
    expect(terminals.delivered.map((e) => e.messageId)).toEqual([receipt.messageId]);
    expect(terminals.failed).toEqual([]);
    expect(d.stats()).toMatchObject({ accepted: 1, delivered: 1, failed: 0, pending: 0 });
    const { rows } = await pool.query<{ state: number; owner: string | null }>('SELECT state, owner FROM unwritten.messages WHERE id = $1', [receipt.messageId]);
    expect(rows).toEqual([{ state: 1, owner: null }]);
    expect(receiver.ids).toHaveLength(1);
  }, 60_000);

  it('close() while the end is unwritten gives it up promptly: released, no event, the row still pending for the next owner', async () => {
    const { server, pool, receiver, failedEnds, d, terminals, receipt } = await oneMessageOnPrivateServer();
    await receiver.arrived;
    server.stop();
    receiver.answer();
    await vi.waitFor(() => expect(failedEnds() >= 2 || terminals.total > 0).toBe(true), { timeout: 10_000, interval: 20 });
    expect(terminals.total).toBe(0);
    const closing = Date.now();
    await d.close({ timeoutMs: 500 });
    expect(Date.now() - closing).toBeLessThan(5_000);
    expect(terminals.total).toBe(0);
    expect(d.stats()).toMatchObject({ accepted: 1, delivered: 0, failed: 0, pending: 0 });
    server.start();
    const { rows } = await pool.query<{ state: number }>('SELECT state FROM unwritten.messages WHERE id = $1', [receipt.messageId]);
    expect(rows).toEqual([{ state: 0 }]);
  }, 60_000);
});

describe.skipIf(!pgAvailable)(`an end unwritten until another process took the message over${pgSkipNote}`, () => {
  const schemas = new Set<string>();
  afterAll(() => dropSchemas(schemas));

  // Which finds out first that the message was taken: the end written again (refused by its
  // fence), or a renewal that no longer lists it (then the end is written under no lease).
  it.each(['the end written again', 'a renewal'])('the first fires no event (released, counted once; found out by %s); the second delivers it and fires the one event', async (finder) => {
    const schema = schemaName();
    schemas.add(schema);
    const proxy = await TcpProxy.start('127.0.0.1', 5432);
    cleanup.push(() => proxy.down());
    const proxied = new pg.Pool({ host: '127.0.0.1', port: proxy.port, user: 'postgres', database: 'test', max: 4, connectionTimeoutMillis: 1_000 });
    proxied.on('error', () => {});
    cleanup.push(() => proxied.end());
    const direct = newPool(4);
    cleanup.push(() => direct.end());
    const receiver = await heldReceiver();
    const first = countingStore(proxied, schema);
    const a = testDispatcher({ store: first.store });
    cleanup.push(() => a.close({ timeoutMs: 2_000 }));
    const b = testDispatcher({ store: postgresStore({ pool: direct, encryptionKey: KEY, leaseMs: 1_000, schema }) });
    cleanup.push(() => b.close({ timeoutMs: 2_000 }));
    const [wa, wb] = [watch(a), watch(b)];
    await Promise.all([a.ready(), b.ready()]);
    const receipt = await a.send({ url: receiver.url, secret }, { type: 't', data: 1 });

    await receiver.arrived;
    await proxy.down();
    receiver.answer();
    // A's lease lapses (its renewals fail too); B claims the message, sends it again, ends it.
    await vi.waitFor(() => expect(wb.terminals.total).toBe(1), { timeout: 15_000, interval: 20 });
    expect(first.failedEnds()).toBeGreaterThanOrEqual(1);
    expect(wa.terminals.total).toBe(0);
    expect(wa.warnings.map((w) => w.kind)).toContain('store-write-failed');

    if (finder === 'a renewal') {
      // The server answers A again, but not its ends until a renewal has answered (without the message).
      first.endsFail.on = true;
      const before = first.renewals();
      await proxy.up();
      await vi.waitFor(() => expect(first.renewals()).toBeGreaterThan(before), { timeout: 10_000, interval: 20 });
      first.endsFail.on = false;
      await a.onIdle();
    } else {
      // No renewal answers A until its end, written again, was refused.
      first.renewalsFail.on = true;
      await proxy.up();
      await a.onIdle();
      first.renewalsFail.on = false;
    }
    expect(wa.terminals.total).toBe(0);
    expect(a.stats()).toMatchObject({ accepted: 1, delivered: 0, failed: 0, pending: 0 });
    expect(wb.terminals.delivered.map((e) => e.messageId)).toEqual([receipt.messageId]);
    expect(receiver.ids).toHaveLength(2);
    const { rows } = await direct.query<{ state: number }>(`SELECT state FROM "${schema}".messages WHERE id = $1`, [receipt.messageId]);
    expect(rows).toEqual([{ state: 1 }]);
  }, 60_000);
});
