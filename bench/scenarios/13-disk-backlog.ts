/**
 * Scenario 13: a dead host's backlog on disk. A dispatcher with `sqliteStore` (a temporary
 * file, deleted after) accepts messages for one host on 127.0.0.1 that takes connections and
 * never answers (attempt timeout 10 minutes: nothing ends during the run). 1,000 callers send
 * concurrently, each awaiting its own send. With a durable store the host keeps only a window
 * in memory and the rest waits on disk, so the heap must not grow with the backlog.
 *
 * Reported: heap used after acceptance (after a full GC; the whole process, harness included),
 * its growth since the store opened, acceptance rate, and the file size. The quick profile
 * holds 100,000 messages, the full one 1,000,000; nothing is extrapolated.
 * Target: heap used ≤ 64 MiB.
 */
import { Dispatcher } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { MIB, produce, tempStore } from '../lib/durable.js';
import { Receivers } from '../lib/receivers.js';
import { gcHeap } from '../lib/stats.js';

const CALLERS = 1_000;

export async function run(ctx: Context): Promise<ScenarioResult> {
  const total = ctx.pick(100_000, 1_000_000);
  const rx = await Receivers.start(1);
  await rx.configure({ silent: true });
  const file = tempStore('backlog');
  try {
    const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 10, queueCapacity: total + 1, endpointQueueShare: 1, timeoutMs: 600_000, store: file.open() });
    let ended = 0;
    d.on('delivered', () => ended++);
    d.on('failed', () => ended++);
    await d.ready();
    const before = gcHeap();
    const rssBefore = process.memoryUsage().rss;
    const bar = ctx.progress(`backlog of ${total.toLocaleString('en-US')} on disk`, total);
    const t0 = performance.now();
    await produce(d, [{ url: rx.url(0), secret: ctx.secret }], total, CALLERS, (n) => bar.tick(n));
    const acceptMs = performance.now() - t0;
    bar.stop();
    const after = gcHeap();
    const rss = process.memoryUsage().rss;
    const held = d.stats().pending;
    const bytes = file.bytes();
    await d.close();
    if (held !== total || ended !== 0) throw new Error(`13: expected ${total} messages held and none ended, got ${held} held, ${ended} ended`);
    return {
      id: '13',
      title: `dead host, ${total.toLocaleString('en-US')} messages on disk (${ctx.profile} profile)`,
      rows: [
        { metric: 'heap used after acceptance', unit: 'MiB', dispatcher: after / MIB, target: '≤ 64 MiB', pass: after <= 64 * MIB },
        { metric: 'heap growth while accepting', unit: 'MiB', dispatcher: (after - before) / MIB },
        { metric: 'resident set after acceptance (SQLite cache included)', unit: 'MiB', dispatcher: rss / MIB },
        { metric: 'resident set growth while accepting', unit: 'MiB', dispatcher: (rss - rssBefore) / MIB },
        { metric: 'accepted per second (send, committed)', unit: '/s', dispatcher: (total / acceptMs) * 1000 },
        { metric: 'SQLite file and WAL per message', unit: 'B', dispatcher: bytes / total },
      ],
      details: { total, callers: CALLERS, heapBefore: before, heapAfter: after, rssBefore, rss, acceptMs, bytes },
    };
  } finally {
    file.remove();
    await rx.stop();
  }
}
