/**
 * Scenario 5: rate accuracy. Four backlogged hosts limited to 10, 100, 1,000 and 5,000 per
 * second at once: achieved rate ÷ configured rate, and the most requests the receiver saw in
 * any one-second window, against `perSecond + burst`.
 */
import { Dispatcher } from '../../src/index.js';
import type { Context, ScenarioResult, Row } from '../lib/context.js';
import { Receivers } from '../lib/receivers.js';
import { rateAccuracy } from '../lib/stats.js';
import { EVENT } from '../lib/workload.js';

export async function run(ctx: Context): Promise<ScenarioResult> {
  const limits = [10, 100, 1_000, 5_000];
  const seconds = ctx.pick(5, 20);
  const rx = await Receivers.start(limits.length);
  await rx.configure({}, { recordTimes: true });
  const hosts = Object.fromEntries(limits.map((perSecond, i) => [rx.origin(i), { rateLimit: { perSecond } }]));
  const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 16, queueCapacity: 1_000_000, hosts });
  for (let i = 0; i < limits.length; i++) {
    const ep = { url: rx.url(i), secret: ctx.secret };
    const backlog = Math.ceil(limits[i]! * seconds * 1.2) + 10;
    for (let n = 0; n < backlog; n++) await d.send(ep, EVENT);
  }
  const bar = ctx.progress('backlogged, rate-limited', seconds);
  for (let s = 0; s < seconds; s++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    bar.tick();
  }
  bar.stop();
  const stats = await rx.stats();
  await d.close();
  await rx.stop();

  const rows: Row[] = [];
  const details: Record<string, unknown> = { seconds };
  limits.forEach((perSecond, i) => {
    const burst = Math.max(1, perSecond / 10);
    const times = (stats.times[rx.ports[i]!] ?? []).sort((a, b) => a - b);
    const { achieved, span, worst } = rateAccuracy(times, perSecond);
    details[`${perSecond}/s`] = { arrivals: times.length, span, worst };
    rows.push(
      { metric: `${perSecond}/s: achieved ÷ configured`, unit: '%', dispatcher: achieved, target: '≥ 95%', pass: achieved >= 0.95 },
      { metric: `${perSecond}/s: most in any 1 s (limit ${perSecond + burst})`, unit: 'count', dispatcher: worst, target: `≤ ${perSecond + burst}`, pass: worst <= perSecond + burst },
    );
  });
  return { id: '5', title: 'rate accuracy', rows, details };
}
