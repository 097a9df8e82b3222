/**
 * An ambiguous commit: the connection to PostgreSQL is cut right after the client sent
 * `COMMIT`, so the server commits the accept while the client sees only a broken connection.
 * A send must not then reject as "not accepted" for a row that will be delivered: the store
 * marks the failure as of unknown outcome, and the group commit writes the accept again, which
 * the store refuses as a duplicate (it landed) or applies (it did not). With no answer at all,
 * the send rejects with its own code, `WD_STORE_OUTCOME_UNKNOWN`.
 *
 * A proxy of the test's own sits between the pool and the server and cuts the client's side
 * after forwarding one commit: a `COMMIT`, or the store's one-statement batch (its own commit,
 * see pg-batch.ts), which is the write of a lone accept or a lone delivered end. The server still
 * receives it. The same cut after an end's commit: the end is written again, refused (the row is
 * not pending), and recognised in the history as the write that landed: its one event fires.
 */
import net from 'node:net';
import { once } from 'node:events';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isWebhookError, type Dispatcher } from '../src/index.js';
import { postgresStore } from '../src/stores/postgres/postgres-store.js';
import { Terminals, newSecret, testDispatcher } from './helpers.js';
import { Receiver, ok } from './receiver.js';
import { KEY, T0, accept, attempt, record } from './support/store-fixtures.js';
import { isOutcomeUnknown } from '../src/persistence/store-errors.js';
import type { StoreOp } from '../src/persistence/store.js';
import { PG_URL, dropSchemas, pgAvailable, pgSkipNote, requirePostgresInCI, schemaName } from './support/postgres.js';

requirePostgresInCI('an ambiguous commit');

/** The extended protocol's Sync message: the end of a statement, its commit when it is its own transaction. */
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);

/** Forwards to PostgreSQL; when armed, cuts the client after forwarding the next commit (a simple-query COMMIT, or the batch statement up to its Sync). */
class CommitCutter {
  armed = false;
  /** Refuse new connections (the server looks down). */
  refusing = false;
  cuts = 0;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  private constructor(target: { host: string; port: number }) {
    this.#server = net.createServer((client) => {
      if (this.refusing) return client.destroy();
      const upstream = net.connect(target);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      upstream.pipe(client);
      let batch = false;
      client.on('data', (chunk: Buffer) => {
        upstream.write(chunk);
        // The batch statement is named `wd_batch_…` in its Bind; it commits at the Sync after it.
        batch ||= this.armed && chunk.includes('wd_batch_');
        // 'Q', a length, then the query text with its NUL: the simple query protocol.
        if (this.armed && (chunk.includes('COMMIT\0') || (batch && chunk.includes(SYNC)))) {
          this.armed = false;
          this.cuts++;
          client.destroy();
          upstream.end();
        }
      });
      client.on('close', () => upstream.end());
    });
  }

  static async start(target: { host: string; port: number }): Promise<CommitCutter> {
    const proxy = new CommitCutter(target);
    proxy.#server.listen(0, '127.0.0.1');
    await once(proxy.#server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Cuts every open connection (a server that went away). */
  cutAll(): void {
    for (const s of this.#sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/**
 * What `read` gives once it finds something (a row count above 0, or a value), or after 5 s:
 * the server goes on with what it received after the client saw the cut, and a whole statement
 * (not a bare COMMIT) may still be running when the client has already given up.
 */
async function committed<T>(read: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = await read();
    const found = value !== undefined && (value as { rowCount?: number | null }).rowCount !== 0;
    if (found || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(!pgAvailable)(`an ambiguous commit${pgSkipNote}`, () => {
  const target = new URL(PG_URL);
  const schemas = new Set<string>();
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });
  afterAll(() => dropSchemas(schemas));

  async function setup(): Promise<{ proxy: CommitCutter; d: Dispatcher; receiver: Receiver; schema: string; direct: pg.Pool }> {
    const proxy = await CommitCutter.start({ host: target.hostname, port: Number(target.port) });
    cleanup.push(() => proxy.stop());
    const schema = schemaName();
    schemas.add(schema);
    const pool = new pg.Pool({ connectionString: `postgres://${target.username}@127.0.0.1:${proxy.port}${target.pathname}`, max: 4, connectionTimeoutMillis: 1_000 });
    pool.on('error', () => {});
    cleanup.push(() => pool.end());
    const direct = new pg.Pool({ connectionString: PG_URL, max: 2 });
    cleanup.push(() => direct.end());
    const receiver = await Receiver.start(() => ok);
    cleanup.push(() => receiver.stop());
    // Long leases: no renewal or claim tick runs during the test's few hundred milliseconds.
    const d = testDispatcher({ store: postgresStore({ pool, encryptionKey: KEY, leaseMs: 60_000, schema }) });
    d.on('error', () => {});
    d.on('warning', () => {});
    cleanup.push(() => d.close({ timeoutMs: 1_000 }));
    await d.ready();
    // Let the first claim and LISTEN finish before arming.
    await new Promise((r) => setTimeout(r, 200));
    return { proxy, d, receiver, schema, direct };
  }

  it('a COMMIT whose answer was cut, though the row was written: the send resolves, and the message is delivered once', async () => {
    const { proxy, d, receiver, schema, direct } = await setup();
    const terminals = new Terminals(d);
    proxy.armed = true;
    const receipt = await d.send({ url: receiver.url(), secret: newSecret() }, { type: 'ambiguous', data: {} });
    expect(proxy.cuts).toBe(1);
    const rows = await direct.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".messages WHERE id = $1`, [receipt.messageId]);
    expect(rows.rows[0]!.n).toBe(1);
    await d.onIdle();
    expect(terminals.delivered.map((e) => e.messageId)).toEqual([receipt.messageId]);
    expect(receiver.requests).toHaveLength(1);
  });

  it('no answer at all after the cut: the send rejects with WD_STORE_OUTCOME_UNKNOWN, and the row, which was written, is delivered by the next owner', async () => {
    const { proxy, d, receiver, schema, direct } = await setup();
    proxy.armed = true;
    proxy.refusing = true;
    const error = await d.send({ url: receiver.url(), secret: newSecret() }, { type: 'ambiguous', data: {} }).catch((e: unknown) => e);
    expect(isWebhookError(error) && error.code).toBe('WD_STORE_OUTCOME_UNKNOWN');
    const rows = await committed(() => direct.query<{ id: string }>(`SELECT id FROM "${schema}".messages`));
    expect(rows.rows).toHaveLength(1);
    // The server is back; this dispatcher closes (giving back what it owns) and another takes over.
    proxy.refusing = false;
    await d.close({ timeoutMs: 1_000 });
    const next = testDispatcher({ store: postgresStore({ pool: direct, encryptionKey: KEY, leaseMs: 1_000, schema }) });
    cleanup.push(() => next.close({ timeoutMs: 1_000 }));
    const terminals = new Terminals(next);
    await next.ready();
    const deadline = Date.now() + 10_000;
    while (terminals.total === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(terminals.delivered.map((e) => e.messageId)).toEqual([rows.rows[0]!.id]);
    expect(receiver.requests).toHaveLength(1);
  });

  // The store alone: the batch a transaction writes (ops of one message, in order) and the one
  // statement that is its own commit are each cut after their commit went out.
  it.each([
    ['a transaction (BEGIN … COMMIT)', (id: string): StoreOp[] => [attempt(id, 1, T0)]],
    ['the one-statement batch', (): StoreOp[] => []],
  ])('a write as %s whose commit was cut: the store says the outcome is unknown, and it was applied', async (_, more) => {
    const proxy = await CommitCutter.start({ host: target.hostname, port: Number(target.port) });
    cleanup.push(() => proxy.stop());
    const schema = schemaName();
    schemas.add(schema);
    const pool = new pg.Pool({ connectionString: `postgres://${target.username}@127.0.0.1:${proxy.port}${target.pathname}`, max: 2, connectionTimeoutMillis: 1_000 });
    pool.on('error', () => {});
    cleanup.push(() => pool.end());
    const store = postgresStore({ pool, encryptionKey: KEY, leaseMs: 60_000, schema });
    await store.open();
    cleanup.push(() => store.close());
    const r = record('https://a.example');
    proxy.armed = true;
    const error = await store.write([accept(r), ...more(r.id)]).then(() => undefined, (e: unknown) => e);
    expect(proxy.cuts).toBe(1);
    expect(isOutcomeUnknown(error)).toBe(true);
    await committed(() => store.history(r.id));
    expect(await store.history(r.id)).toMatchObject({ state: 'pending', attempts: more(r.id).map(() => ({ status: 503 })) });
  });

  it('an end whose COMMIT answer was cut, though the row was ended: written again, refused, found in the history as its own: one delivered event', async () => {
    const { proxy, d, receiver, schema, direct } = await setup();
    const terminals = new Terminals(d);
    const receipt = await d.send({ url: receiver.url(), secret: newSecret() }, { type: 'ambiguous', data: {} });
    // The accept is committed; the next COMMIT is the end's, after the answer.
    proxy.armed = true;
    await d.onIdle();
    expect(proxy.cuts).toBe(1);
    expect(terminals.delivered.map((e) => e.messageId)).toEqual([receipt.messageId]);
    expect(terminals.failed).toEqual([]);
    expect(d.stats()).toMatchObject({ delivered: 1, pending: 0 });
    const rows = await direct.query<{ state: number }>(`SELECT state FROM "${schema}".messages WHERE id = $1`, [receipt.messageId]);
    expect(rows.rows).toEqual([{ state: 1 }]);
    expect(receiver.requests).toHaveLength(1);
  });
});
