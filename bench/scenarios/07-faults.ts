/**
 * Scenario 7: faults. Receivers answer 10% 503, reset 2% of connections and never answer 1%.
 * Deliveries/s, retries, and the invariant: every accepted message ended exactly once.
 */
import { Dispatcher } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { Receivers } from '../lib/receivers.js';
import { EVENT } from '../lib/workload.js';

export async function run(ctx: Context): Promise<ScenarioResult> {
  const hosts = 10;
  const total = ctx.pick(20_000, 100_000);
  const rx = await Receivers.start(hosts);
  await rx.configure({ error: 0.1, reset: 0.02, hang: 0.01 });
  const d = new Dispatcher({
    allowPrivateNetworks: true,
    concurrency: 16,
    queueCapacity: total, endpointQueueShare: 1,
    timeoutMs: 500,
    retry: { attempts: 10, baseDelayMs: 10, maxDelayMs: 200 },
    breaker: { failureThreshold: 8, cooldownMs: 200 },
  });
  const ended = new Map<string, number>();
  let delivered = 0;
  let failed = 0;
  d.on('delivered', (e) => {
    delivered++;
    ended.set(e.messageId, (ended.get(e.messageId) ?? 0) + 1);
  });
  d.on('failed', (e) => {
    failed++;
    ended.set(e.messageId, (ended.get(e.messageId) ?? 0) + 1);
  });
  const endpoints = Array.from({ length: hosts }, (_, i) => ({ url: rx.url(i), secret: ctx.secret }));
  const accepted = new Set<string>();
  const t0 = performance.now();
  for (let i = 0; i < total; i++) accepted.add((await d.send(endpoints[i % hosts]!, EVENT)).messageId);
  await d.onIdle();
  const ms = performance.now() - t0;
  const { retries } = d.stats();
  await d.close();
  const received = (await rx.stats()).count;
  await rx.stop();
  const twice = [...ended.values()].filter((n) => n > 1).length;
  const missing = [...accepted].filter((id) => !ended.has(id)).length;
  const invariant = twice === 0 && missing === 0 && delivered + failed === accepted.size;
  return {
    id: '7',
    title: 'faults: 10% 5xx, 2% resets, 1% hangs',
    rows: [
      { metric: 'deliveries/s', unit: '/s', dispatcher: (delivered / ms) * 1000 },
      { metric: 'delivered', unit: 'count', dispatcher: delivered },
      { metric: 'failed (attempts used up)', unit: 'count', dispatcher: failed },
      { metric: 'retries', unit: 'count', dispatcher: retries },
      { metric: 'requests the receivers saw', unit: 'count', dispatcher: received },
      { metric: 'ended twice or never', unit: 'count', dispatcher: twice + missing, target: '0', pass: invariant },
    ],
    details: { total, ms },
  };
}
