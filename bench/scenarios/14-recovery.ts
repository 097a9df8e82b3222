/**
 * Scenario 14: recovery. A first dispatcher with `sqliteStore` (a temporary file, deleted
 * after) accepts N messages for 10 hosts that take connections and never answer, and closes:
 * with a durable store nothing fails, the unfinished messages stay in the file. The receivers
 * then answer 200, and a new dispatcher on the same file is timed from its construction until
 * every recovered message is delivered (`ready()`, then `onIdle()`, then `close()` writing the
 * last ends). Every message must arrive; the ones cut in flight at the first close are sent
 * again (at least once), and the receivers count only the second dispatcher's requests.
 * N is 20,000 in the quick profile, 200,000 in the full one.
 */
import { Dispatcher } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { costOf, produce, tempStore } from '../lib/durable.js';
import { Receivers } from '../lib/receivers.js';
import { gcHeap } from '../lib/stats.js';

const HOSTS = 10;
const PER_HOST = 8;
const CALLERS = 1_000;

export async function run(ctx: Context): Promise<ScenarioResult> {
  const total = ctx.pick(20_000, 200_000);
  const rx = await Receivers.start(HOSTS);
  const endpoints = rx.ports.map((_, i) => ({ url: rx.url(i), secret: ctx.secret }));
  const file = tempStore('recovery');
  try {
    // The run that leaves N messages behind.
    await rx.configure({ silent: true });
    const bar = ctx.progress(`recovering ${total.toLocaleString('en-US')}`, total * 2);
    const first = new Dispatcher({ allowPrivateNetworks: true, concurrency: PER_HOST, queueCapacity: total + 1, endpointQueueShare: 1, timeoutMs: 600_000, store: file.open() });
    await produce(first, endpoints, total, CALLERS, (n) => bar.tick(n));
    const left = first.stats().pending;
    await first.close();
    if (left !== total) throw new Error(`14: expected ${total} messages pending at the first close, got ${left}`);

    await rx.configure({}, { secret: ctx.secret, verifyEvery: 97 });
    await rx.reset();
    gcHeap();
    let delivered = 0;
    let failed = 0;
    let readyMs = 0;
    const { cost } = await costOf(async () => {
      const t0 = performance.now();
      const second = new Dispatcher({ allowPrivateNetworks: true, concurrency: PER_HOST, queueCapacity: total + 1, endpointQueueShare: 1, store: file.open() });
      second.on('delivered', () => {
        if (++delivered % 1_000 === 0) bar.tick(1_000);
      });
      second.on('failed', () => failed++);
      await second.ready();
      readyMs = performance.now() - t0;
      await second.onIdle();
      await second.close();
    });
    bar.stop();
    const stats = await rx.stats();
    if (failed > 0 || delivered !== total || stats.count !== total) throw new Error(`14: ${total} left, recovered and delivered ${delivered}, failed ${failed}, received ${stats.count}`);
    if (stats.verifyFailed > 0 || stats.verified === 0) throw new Error(`14: ${stats.verifyFailed} of ${stats.verified + stats.verifyFailed} sampled signatures failed`);
    return {
      id: '14',
      title: `recovery of ${total.toLocaleString('en-US')} pending messages (${HOSTS} hosts)`,
      rows: [
        { metric: 'reopen and deliver all', unit: 's', dispatcher: cost.ms / 1000 },
        { metric: 'reopen until ready()', unit: 'ms', dispatcher: readyMs },
        { metric: 'recovered deliveries/s', unit: '/s', dispatcher: (total / cost.ms) * 1000 },
        { metric: 'CPU per recovered message', unit: 'µs', dispatcher: cost.cpuUs / total },
      ],
      details: { total, hosts: HOSTS, perHost: PER_HOST, ms: cost.ms, readyMs },
    };
  } finally {
    file.remove();
    await rx.stop();
  }
}
