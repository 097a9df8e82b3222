/**
 * Soak: the fault mix for a while (SOAK_SECONDS, default 180) at a steady rate (SOAK_RATE,
 * default 2,000/s) across 20 hosts. Prints deliveries/s, retries, terminal-event accounting
 * and heap every 10 s. Exits non-zero if a message ends twice or never, or if the heap keeps
 * growing. `npm run soak`.
 */
import { Dispatcher } from '../src/index.js';
import { createContext } from './lib/context.js';
import { Receivers } from './lib/receivers.js';
import { gcHeap } from './lib/stats.js';
import { EVENT } from './lib/workload.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 180);
const rate = Number(process.env.SOAK_RATE ?? 2_000);
const hosts = 20;
const ctx = createContext('quick');

const rx = await Receivers.start(hosts);
await rx.configure({ error: 0.1, reset: 0.02, hang: 0.01 });
const d = new Dispatcher({
  allowPrivateNetworks: true,
  concurrency: 8,
  timeoutMs: 1_000,
  retry: { attempts: 8, baseDelayMs: 20, maxDelayMs: 1_000 },
  breaker: { failureThreshold: 10, cooldownMs: 500 },
  ttlMs: 60_000,
});
const pending = new Set<string>();
let twice = 0;
let delivered = 0;
let failed = 0;
const end = (id: string) => {
  if (!pending.delete(id)) twice++;
};
d.on('delivered', (e) => {
  delivered++;
  end(e.messageId);
});
d.on('failed', (e) => {
  failed++;
  end(e.messageId);
});
const endpoints = Array.from({ length: hosts }, (_, i) => ({ url: rx.url(i), secret: ctx.secret }));

console.log(`soak: ${seconds} s at ${rate}/s over ${hosts} hosts; faults 10% 503, 2% resets, 1% hangs`);
console.log('   t  deliveries/s  retries  accepted  delivered  failed  pending  refused  heap MiB');
const heaps: number[] = [];
let accepted = 0;
let refused = 0;
let sent = 0;
let lastDelivered = 0;
const t0 = performance.now();
const report = setInterval(() => {
  const t = (performance.now() - t0) / 1000;
  const heap = gcHeap() / 2 ** 20;
  heaps.push(heap);
  const s = d.stats();
  console.log(`${t.toFixed(0).padStart(4)}  ${((delivered - lastDelivered) / 10).toFixed(0).padStart(12)}  ${String(s.retries).padStart(7)}  ${String(accepted).padStart(8)}  ${String(delivered).padStart(9)}  ${String(failed).padStart(6)}  ${String(s.pending).padStart(7)}  ${String(refused).padStart(7)}  ${heap.toFixed(1).padStart(8)}`);
  lastDelivered = delivered;
}, 10_000);
await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const elapsed = performance.now() - t0;
    const due = Math.floor((Math.min(elapsed, seconds * 1000) * rate) / 1000);
    for (; sent < due; sent++) {
      d.send(endpoints[sent % hosts]!, EVENT).then(
        (r) => {
          accepted++;
          pending.add(r.messageId);
        },
        () => refused++,
      );
    }
    if (elapsed >= seconds * 1000) {
      clearInterval(tick);
      resolve();
    }
  }, 5);
});
await d.close({ drain: true, timeoutMs: 30_000 });
clearInterval(report);
await rx.stop();

// The heap "keeps growing" when the last third of the samples sits well above the first third.
const third = Math.max(1, Math.floor(heaps.length / 3));
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const early = avg(heaps.slice(0, third));
const late = avg(heaps.slice(-third));
const growing = heaps.length >= 6 && late > early * 1.5 && late - early > 32;
const lost = pending.size;
console.log(`\naccepted ${accepted}, delivered ${delivered}, failed ${failed}, refused ${refused}; ended twice ${twice}, never ${lost}; heap ${early.toFixed(1)} → ${late.toFixed(1)} MiB`);
if (twice > 0 || lost > 0 || delivered + failed !== accepted) {
  console.error('FAIL: the terminal-event invariant broke');
  process.exit(1);
}
if (growing) {
  console.error('FAIL: the heap kept growing');
  process.exit(1);
}
console.log('ok');
process.exit(0);
