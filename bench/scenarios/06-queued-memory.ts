/**
 * Scenario 6: queued memory. Messages held behind a receiver that never answers, heap per
 * queued message. Events fan out to 1,000 endpoints on one origin, so each body is shared by
 * 1,000 messages and counted once, as in real fan-out.
 */
import { Dispatcher } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { Receivers } from '../lib/receivers.js';
import { gcHeap } from '../lib/stats.js';
import { EVENT } from '../lib/workload.js';

export async function run(ctx: Context): Promise<ScenarioResult> {
  const total = ctx.pick(250_000, 1_000_000);
  const width = 1_000;
  const rx = await Receivers.start(1);
  await rx.configure({ silent: true });
  const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 10, queueCapacity: total + 1, endpointQueueShare: 1, timeoutMs: 600_000 });
  const endpoints = Array.from({ length: width }, (_, i) => ({ url: rx.url(0, `/e${i}`), secret: ctx.secret }));
  const before = gcHeap();
  const bar = ctx.progress(`queueing ${total.toLocaleString('en-US')}`, total);
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += width) {
    await d.publish(EVENT, endpoints);
    bar.tick(width);
  }
  const acceptMs = performance.now() - t0;
  bar.stop();
  const after = gcHeap();
  const held = d.stats().pending;
  await d.close();
  await rx.stop();
  if (held !== total) throw new Error(`expected ${total} messages held, got ${held}`);
  const perMessage = (after - before) / total;
  return {
    id: '6',
    title: `${total.toLocaleString('en-US')} queued messages`,
    rows: [
      { metric: 'heap per queued message', unit: 'B', dispatcher: perMessage, target: '≤ 300 B', pass: perMessage <= 300 },
      { metric: 'accepted per second (publish)', unit: '/s', dispatcher: (total / acceptMs) * 1000 },
    ],
    details: { total, heapBytes: after - before },
  };
}
