/**
 * The fault matrix: the central promise (every accepted message ends in exactly one terminal
 * event; a refused send was not accepted) crossed with the faults of v1's edges, each caused
 * for real on servers and disks of the test's own:
 *
 * - PostgreSQL restarted under a postgresStore dispatcher (a private cluster: initdb + pg_ctl);
 * - Redis killed (SIGKILL) and started again under a cluster's shared limit (a private redis-server);
 * - the disk full under a sqliteStore (a small tmpfs, where the machine lets the test mount one).
 *
 * kill -9 of one of three processes is in postgres-processes.test.ts and crash-torture.test.ts;
 * SIGSTOP past `leaseMs` in postgres-stall.test.ts; a clock that is skewed or steps back in
 * postgres-leases.test.ts and redis-rate-limiter.test.ts.
 *
 * Each test counts, per message: accepted (a receipt), arrivals at the receiver (by
 * `webhook-id`), and terminal events. Nothing accepted is lost, nothing ends twice, and nothing
 * refused reaches the receiver.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { isWebhookError, type Dispatcher, type DispatcherWarning, type Receipt } from '../src/index.js';
import { sqliteStore } from '../src/stores/sqlite/sqlite-store.js';
import { postgresStore } from '../src/stores/postgres/postgres-store.js';
import { Terminals, newSecret, testDispatcher } from './helpers.js';
import { Receiver, ok } from './receiver.js';
import { KEY } from './support/store-fixtures.js';
import { PrivatePostgres, PrivateRedis, privatePostgresMissing, privateRedisMissing } from './support/private-servers.js';

const ci = process.env.CI === 'true';
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await Promise.resolve().then(fn).catch(() => {});
});

/** What one run saw, message by message. */
class Ledger {
  readonly accepted = new Map<string, Receipt>();
  refused = 0;
  readonly refusedEventIds = new Set<string>();
  readonly warnings: DispatcherWarning[] = [];
  readonly listenerErrors: unknown[] = [];
  readonly terminals: Terminals;

  constructor(readonly dispatcher: Dispatcher) {
    this.terminals = new Terminals(dispatcher);
    dispatcher.on('warning', (w) => this.warnings.push(w));
    dispatcher.on('error', (e) => this.listenerErrors.push(e));
  }

  async send(url: string, secret: string, i: number): Promise<void> {
    const id = `evt_${i}`;
    try {
      const receipt = await this.dispatcher.send({ url, secret }, { type: 'fault.test', id, data: { i } });
      this.accepted.set(receipt.messageId, receipt);
    } catch (error) {
      expect(isWebhookError(error) && error.code === 'WD_STORE_UNAVAILABLE').toBe(true);
      this.refused++;
      this.refusedEventIds.add(id);
    }
  }

  /** Waits until every accepted message has ended (or `ms` passed). */
  async settled(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && this.terminals.byMessage.size < this.accepted.size) await new Promise((r) => setTimeout(r, 50));
  }

  /** The promise, checked against the receiver's arrivals. */
  check(receiver: Receiver): void {
    const { terminals } = this;
    expect(terminals.duplicates()).toEqual([]);
    for (const id of this.accepted.keys()) expect(terminals.byMessage.get(id), `message ${id}`).toBe(1);
    for (const id of terminals.byMessage.keys()) expect(this.accepted.has(id), `an event for ${id}, never accepted`).toBe(true);
    const arrived = new Set(receiver.requests.map((r) => String(r.headers['webhook-id'])));
    for (const e of terminals.delivered) expect(arrived.has(e.eventId), `${e.eventId} delivered but never arrived`).toBe(true);
    for (const id of this.refusedEventIds) expect(arrived.has(id), `${id} was refused yet arrived`).toBe(false);
    // A store's trouble is a store warning, never "a listener threw".
    expect(this.listenerErrors).toEqual([]);
  }
}

function missingIn(reason: string | undefined): boolean {
  if (reason !== undefined && ci) throw new Error(`The fault matrix needs it under CI: ${reason}`);
  return reason !== undefined;
}

describe.skipIf(missingIn(privatePostgresMissing))(`PostgreSQL restarted under a dispatcher${privatePostgresMissing ? ` (skipped: ${privatePostgresMissing})` : ''}`, () => {
  it('every accepted message ends once; sends during the outage are refused and never sent', async () => {
    const server = await PrivatePostgres.create();
    cleanup.push(() => server.destroy());
    const pool = new pg.Pool({ connectionString: server.url, max: 10, connectionTimeoutMillis: 1_000 });
    pool.on('error', () => {});
    cleanup.push(() => pool.end());
    const receiver = await Receiver.start(() => ok);
    cleanup.push(() => receiver.stop());
    const d = testDispatcher({ store: postgresStore({ pool, encryptionKey: KEY, leaseMs: 1_000, schema: 'faults' }), concurrency: 4 });
    cleanup.push(() => d.close({ timeoutMs: 2_000 }));
    const run = new Ledger(d);
    await d.ready();
    const secret = newSecret();
    let i = 0;
    // Before, during and after the outage; each send awaited by its own caller, 8 at a time.
    const burst = async (n: number) => {
      const sends: Promise<void>[] = [];
      for (let k = 0; k < n; k++) sends.push(run.send(receiver.url(), secret, i++));
      await Promise.all(sends);
    };
    await burst(60);
    server.stop();
    await burst(20);
    server.start();
    await burst(60);
    await run.settled(30_000);
    console.log(`postgres restart: ${run.accepted.size} accepted, ${run.refused} refused, ${receiver.requests.length} arrivals, ${run.terminals.delivered.length} delivered, warnings: ${run.warnings.map((w) => w.kind).join(',') || 'none'}`);
    expect(run.refused).toBeGreaterThanOrEqual(20);
    expect(run.accepted.size).toBeGreaterThanOrEqual(120);
    run.check(receiver);
  }, 120_000);
});

describe.skipIf(missingIn(privateRedisMissing))(`Redis killed and restarted under a shared limit${privateRedisMissing ? ` (skipped: ${privateRedisMissing})` : ''}`, () => {
  it('delivery goes on (limited per process meanwhile), says so, and every message ends once', async () => {
    const redis = await PrivateRedis.create();
    cleanup.push(() => redis.kill());
    const receiver = await Receiver.start(() => ok);
    cleanup.push(() => receiver.stop());
    const d = testDispatcher({ cluster: { redis: { host: '127.0.0.1', port: redis.port, retryStrategy: () => 50 } }, rateLimit: { perSecond: 400, burst: 40 } });
    cleanup.push(() => d.close({ timeoutMs: 2_000 }));
    const run = new Ledger(d);
    await d.ready();
    const secret = newSecret();
    for (let i = 0; i < 100; i++) await run.send(receiver.url(), secret, i);
    await redis.kill();
    for (let i = 100; i < 200; i++) await run.send(receiver.url(), secret, i);
    await run.settled(10_000);
    await redis.start();
    for (let i = 200; i < 300; i++) await run.send(receiver.url(), secret, i);
    await run.settled(20_000);
    // Restored once its link reconnects (retry every 50 ms).
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && !run.warnings.some((w) => w.kind === 'cluster-restored')) await new Promise((r) => setTimeout(r, 50));
    console.log(`redis restart: ${run.accepted.size} accepted, ${receiver.requests.length} arrivals, warnings: ${run.warnings.map((w) => w.kind).join(',')}`);
    expect(run.accepted.size).toBe(300);
    expect(run.terminals.delivered).toHaveLength(300);
    expect(run.warnings.map((w) => w.kind)).toEqual(expect.arrayContaining(['cluster-unavailable', 'cluster-restored']));
    run.check(receiver);
    const closing = Date.now();
    await d.close({ timeoutMs: 1_000 });
    expect(Date.now() - closing).toBeLessThan(2_000);
  }, 60_000);
});

/** A 3 MiB tmpfs of the test's own, or why there is none. */
function mountSmallDisk(): { dir: string; unmount: () => void } | string {
  if (process.platform !== 'linux') return 'not Linux';
  const dir = mkdtempSync(join(tmpdir(), 'wd-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return 'this machine does not let the test mount a tmpfs (needs root or CAP_SYS_ADMIN)';
  }
  return {
    dir,
    unmount: () => {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const disk = mountSmallDisk();
const diskMissing = typeof disk === 'string' ? disk : undefined;
if (typeof disk !== 'string') process.once('exit', () => disk.unmount());

describe.skipIf(diskMissing !== undefined).each([{ worker: false }, { worker: true }])(`the disk full under sqliteStore (worker thread: $worker)${diskMissing ? ` (skipped: ${diskMissing})` : ''}`, ({ worker }) => {
  it('sends are refused while it is full and accepted once there is room; every accepted message ends once', async () => {
    const { dir } = disk as { dir: string };
    const receiver = await Receiver.start(() => ok);
    cleanup.push(() => receiver.stop());
    // A receiver that is down at first: accepted messages wait in the store while the disk fills.
    await receiver.down();
    const d = testDispatcher({ store: sqliteStore({ path: join(dir, `webhooks-${worker}.db`), encryptionKey: KEY, worker }), retry: { attempts: 1_000, baseDelayMs: 20, maxDelayMs: 50 }, breaker: false });
    cleanup.push(() => d.close({ timeoutMs: 2_000 }));
    const run = new Ledger(d);
    await d.ready();
    // Fill what is left but a little, then send until the store refuses.
    const filler = join(dir, 'filler');
    for (let size = 2_900_000; size > 0; size -= 100_000) {
      try {
        writeFileSync(filler, Buffer.alloc(size));
        break;
      } catch {
        // Smaller, until it fits.
      }
    }
    const secret = newSecret();
    const big = 'x'.repeat(2_000);
    let i = 0;
    while (run.refused < 5 && i < 5_000) {
      const id = `evt_${i}`;
      try {
        const receipt = await d.send({ url: receiver.url(), secret }, { type: 'fault.test', id, data: { i, big } });
        run.accepted.set(receipt.messageId, receipt);
      } catch (error) {
        expect(isWebhookError(error) && error.code).toBe('WD_STORE_UNAVAILABLE');
        run.refused++;
        run.refusedEventIds.add(id);
      }
      i++;
    }
    expect(run.refused).toBe(5);
    // Retries go on meanwhile, and their records cannot be written: a store warning, delivery goes on.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && !run.warnings.some((w) => w.kind === 'store-write-failed')) await new Promise((r) => setTimeout(r, 20));
    expect(run.warnings.map((w) => w.kind)).toContain('store-write-failed');
    // Room again, and the receiver back: what was accepted is delivered, and new sends are accepted.
    unlinkSync(filler);
    await receiver.up();
    for (let k = 0; k < 10; k++, i++) await run.send(receiver.url(), secret, i);
    await run.settled(30_000);
    console.log(`disk full: ${run.accepted.size} accepted, ${run.refused} refused, ${receiver.requests.length} arrivals, warnings: ${[...new Set(run.warnings.map((w) => w.kind))].join(',') || 'none'}`);
    expect(run.accepted.size).toBeGreaterThan(10);
    expect(run.terminals.delivered.length).toBe(run.accepted.size);
    run.check(receiver);
  }, 90_000);
});
