/**
 * A child of scenario 18: one dispatcher process on a shared Postgres schema (`postgresStore`),
 * driven by the bench over stdin (see child.ts). Commands:
 * - `open { pgUrl, schema, key, secret, urls, leaseMs, perHost, timeoutMs }`: a new dispatcher
 *   on that schema, store opened; answers `ready`.
 * - `send { total, callers }`: sends `total` messages to the `urls` in turn from `callers`
 *   concurrent callers, each awaiting its own send (a send resolves once committed); answers
 *   `sent` with the milliseconds it took.
 * - `close`: closes the dispatcher; answers `closed` with its deliveries, failures, the CPU this
 *   process spent (µs, user + system) since `open`, and what it asked of the store: claim
 *   queries (`claims`, rows they returned `claimed`), write transactions (`writes`) and the
 *   round trips to the server those writes took (`writeTrips`: every `query` of a pg client
 *   made while a write runs, BEGIN and COMMIT included).
 * The pool (at most 6 connections, made at the first `open`) lives as long as the process.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { Dispatcher } from '../../src/index.js';
import { postgresStore } from '../../src/stores/postgres/postgres-store.js';
import { reply, serve } from './child.js';
import { produce } from './durable.js';

let pool: pg.Pool | undefined;
interface Current {
  d: Dispatcher;
  endpoints: { url: string; secret: string }[];
  delivered: number;
  failed: number;
  cpu: NodeJS.CpuUsage;
  claims: number;
  claimed: number;
  writes: number;
  writeTrips: number;
}
let current: Current | undefined;

// Every query a client sends (one round trip each) is counted when made inside a write.
const inWrite = new AsyncLocalStorage<true>();
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  if (inWrite.getStore() === true && current !== undefined) current.writeTrips++;
  return query.apply(this, args);
} as typeof pg.Client.prototype.query;

serve(async (c) => {
  if (c.cmd === 'open') {
    if (pool === undefined) {
      pool = new pg.Pool({ connectionString: c.pgUrl as string, max: 6 });
      pool.on('error', () => {});
    }
    const store = postgresStore({ pool, encryptionKey: c.key as string, leaseMs: c.leaseMs as number, schema: c.schema as string });
    // Counted, the store itself unchanged: every claim query (each wake-up runs one) and write transaction.
    const claim = store.claim.bind(store);
    const write = store.write.bind(store);
    store.claim = async (owner, limit, now) => {
      const rows = await claim(owner, limit, now);
      run.claims++;
      run.claimed += rows.length;
      return rows;
    };
    store.write = (ops) => {
      run.writes++;
      return inWrite.run(true, () => write(ops));
    };
    const d = new Dispatcher({
      store,
      allowPrivateNetworks: true,
      concurrency: c.perHost as number,
      timeoutMs: c.timeoutMs as number,
      queueCapacity: 1_000_000, endpointQueueShare: 1,
    });
    const endpoints = (c.urls as string[]).map((url) => ({ url, secret: c.secret as string }));
    const run: Current = { d, endpoints, delivered: 0, failed: 0, cpu: process.cpuUsage(), claims: 0, claimed: 0, writes: 0, writeTrips: 0 };
    d.on('delivered', () => run.delivered++);
    d.on('failed', () => run.failed++);
    d.on('error', () => {});
    await d.ready();
    current = run;
    reply({ ev: 'ready' });
  } else if (c.cmd === 'send') {
    const t0 = performance.now();
    await produce(current!.d, current!.endpoints, c.total as number, c.callers as number);
    reply({ ev: 'sent', ms: performance.now() - t0 });
  } else if (c.cmd === 'close') {
    const run = current!;
    current = undefined;
    await run.d.close();
    const cpu = process.cpuUsage(run.cpu);
    reply({ ev: 'closed', delivered: run.delivered, failed: run.failed, cpuUs: cpu.user + cpu.system, claims: run.claims, claimed: run.claimed, writes: run.writes, writeTrips: run.writeTrips });
  }
});
