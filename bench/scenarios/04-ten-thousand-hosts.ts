/**
 * Scenario 4: 10,000 hosts. One message to each of 10,000 origins: how long creating the
 * actors takes, and the heap each active actor (a message in flight on its own connection)
 * costs. Origins are names (`h42.bench.test`) resolved by the dispatcher's `lookup` to one
 * local receiver: 10,000 distinct origins, actors and pools without 10,000 listening ports.
 * Target: an active actor costs at most 4 KiB of heap.
 */
import { Dispatcher, type LookupFunction } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { Receivers } from '../lib/receivers.js';
import { gcHeap } from '../lib/stats.js';
import { EVENT } from '../lib/workload.js';

export async function run(ctx: Context): Promise<ScenarioResult> {
  const hosts = ctx.pick(10_000, 10_000);
  const rx = await Receivers.start(1);
  // Answers wait long enough for every actor to be active at the moment of measuring.
  await rx.configure({ latencyMs: 60_000 });
  const lookup: LookupFunction = (_host, opts, cb) => (opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4));
  const d = new Dispatcher({ allowedNetworks: ['127.0.0.1/32'], concurrency: 1, timeoutMs: 120_000 }, { lookup });
  const endpoints = Array.from({ length: hosts }, (_, i) => ({ url: `http://h${i}.bench.test:${rx.ports[0]}/hook`, secret: ctx.secret }));
  const before = gcHeap();
  const t0 = performance.now();
  for (const ep of endpoints) await d.send(ep, EVENT);
  const createMs = performance.now() - t0;
  const afterCreate = gcHeap();
  const bar = ctx.progress('waiting for 10,000 in flight', hosts);
  let seen = 0;
  for (let i = 0; i < 600 && seen < hosts; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = (await rx.stats()).count;
    bar.tick(now - seen);
    seen = now;
  }
  bar.stop();
  const active = gcHeap();
  const actors = Object.keys(d.stats().hosts).length;
  await d.close();
  await rx.stop();
  if (actors !== hosts || seen !== hosts) throw new Error(`expected ${hosts} actors with a request in flight, got ${actors} actors and ${seen} requests`);
  const perActive = (active - before) / hosts;
  return {
    id: '4',
    title: '10,000 hosts',
    rows: [
      { metric: 'actors created', unit: 'count', dispatcher: actors },
      { metric: 'time to create one actor (and send)', unit: 'ms', dispatcher: createMs / hosts },
      { metric: 'heap per actor, message queued', unit: 'B', dispatcher: (afterCreate - before) / hosts },
      { metric: 'heap per active actor (in flight)', unit: 'B', dispatcher: perActive, target: '≤ 4 KiB', pass: perActive <= 4096 },
    ],
    details: { hosts, createMs },
  };
}
