/**
 * Scenario 4: 10,000 hosts. One message to each of 10,000 origins: how long creating the
 * actors takes, and the heap each active actor (a message in flight on its own connection)
 * costs. Origins are names (`h42.bench.test`) resolved by the dispatcher's `lookup` to one
 * local receiver: 10,000 distinct origins, actors and pools without 10,000 listening ports.
 *
 * The floor: the same 10,000 origins, each with a bare undici `Client` (the dispatcher's own
 * options and shared connector) holding one request of the same body in flight to the same
 * receiver. Each request carries its own body, as each message does: the payload is the
 * application's, not the dispatcher's. What the dispatcher adds above it is its own heap per active host.
 * Targets: an active actor costs at most 4 KiB of heap; the dispatcher's own at most 2 KiB.
 */
import { Client, buildConnector, type Dispatcher as UndiciDispatcher } from 'undici';
import { Dispatcher, type LookupFunction } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { Receivers } from '../lib/receivers.js';
import { gcHeap } from '../lib/stats.js';
import { EVENT } from '../lib/workload.js';

const lookup: LookupFunction = (_host, opts, cb) => (opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4));

/** Polls the receiver until it has seen `count` requests (or a minute passed); returns how many it saw. */
async function waitForRequests(rx: Receivers, count: number, bar: { tick(n: number): void; stop(): void }): Promise<number> {
  let seen = 0;
  for (let i = 0; i < 600 && seen < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = (await rx.stats()).count;
    bar.tick(now - seen);
    seen = now;
  }
  bar.stop();
  return seen;
}

/** The dispatcher: one message to each origin, held in flight by the receiver. */
async function dispatcherHeap(ctx: Context, rx: Receivers, urls: string[]) {
  const hosts = urls.length;
  const d = new Dispatcher({ allowedNetworks: ['127.0.0.1/32'], concurrency: 1, timeoutMs: 120_000 }, { lookup });
  const endpoints = urls.map((url) => ({ url, secret: ctx.secret }));
  const before = gcHeap();
  const t0 = performance.now();
  for (const ep of endpoints) await d.send(ep, EVENT);
  const createMs = performance.now() - t0;
  const afterCreate = gcHeap();
  const seen = await waitForRequests(rx, hosts, ctx.progress('waiting for 10,000 in flight', hosts));
  const active = gcHeap();
  const actors = Object.keys(d.stats().hosts).length;
  await d.close();
  if (actors !== hosts || seen !== hosts) throw new Error(`expected ${hosts} actors with a request in flight, got ${actors} actors and ${seen} requests`);
  return { createMs, queued: (afterCreate - before) / hosts, active: (active - before) / hosts };
}

/** The floor: a bare undici `Client` per origin, one request in flight on its one socket. */
async function floorHeap(ctx: Context, rx: Receivers, urls: string[]) {
  const hosts = urls.length;
  // The options the dispatcher gives its clients (see src/transport/undici-transport.ts), one connector for all.
  const options: Client.Options = {
    pipelining: 1,
    headersTimeout: 0,
    bodyTimeout: 0,
    keepAliveTimeout: 4_000,
    connect: buildConnector({ timeout: 120_000, lookup: lookup as never, keepAlive: true, maxCachedSessions: 10_000 }),
  };
  // One handler for every request: the floor counts undici's objects, not a caller's.
  const handler: UndiciDispatcher.DispatchHandler = { onConnect() {}, onError() {}, onHeaders: () => true, onData: () => true, onComplete() {} };
  const headers = ['content-type', 'application/json'];
  const clients: Client[] = [];
  const before = gcHeap();
  for (const url of urls) {
    const u = new URL(url);
    const client = new Client(u.origin, options);
    client.dispatch({ method: 'POST', path: u.pathname, headers, body: Buffer.from(JSON.stringify(EVENT)) }, handler);
    clients.push(client);
  }
  const seen = await waitForRequests(rx, hosts, ctx.progress('floor: waiting for 10,000 in flight', hosts));
  const active = gcHeap();
  await Promise.all(clients.map((c) => c.destroy().catch(() => {})));
  if (seen !== hosts) throw new Error(`floor: expected ${hosts} requests in flight, got ${seen}`);
  return (active - before) / hosts;
}

export async function run(ctx: Context): Promise<ScenarioResult> {
  const hosts = ctx.pick(10_000, 10_000);
  const rx = await Receivers.start(1);
  // Answers wait long enough for every request to be in flight at the moment of measuring.
  await rx.configure({ latencyMs: 60_000 });
  const urls = Array.from({ length: hosts }, (_, i) => `http://h${i}.bench.test:${rx.ports[0]}/hook`);
  let d: Awaited<ReturnType<typeof dispatcherHeap>>;
  let floor: number;
  try {
    d = await dispatcherHeap(ctx, rx, urls);
    await rx.reset();
    floor = await floorHeap(ctx, rx, urls);
  } finally {
    await rx.stop();
  }
  const own = d.active - floor;
  return {
    id: '4',
    title: '10,000 hosts',
    rows: [
      { metric: 'actors created', unit: 'count', dispatcher: hosts },
      { metric: 'time to create one actor (and send)', unit: 'ms', dispatcher: d.createMs / hosts },
      { metric: 'heap per actor, message queued', unit: 'B', dispatcher: d.queued },
      { metric: 'heap per active actor (in flight)', unit: 'B', dispatcher: d.active, target: '≤ 4 KiB', pass: d.active <= 4096 },
      { metric: 'floor: bare undici Client per origin, one request in flight', unit: 'B', dispatcher: floor },
      { metric: "dispatcher's own heap per active host (actor − floor)", unit: 'B', dispatcher: own, target: '≤ 2 KiB', pass: own <= 2048 },
    ],
    details: { hosts, createMs: d.createMs, floor, own },
  };
}
