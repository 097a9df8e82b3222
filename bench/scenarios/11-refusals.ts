/**
 * Scenario 11: refusals and big publishes, what a flood costs the caller's event loop.
 *
 * - Refused sends: one host's queue is full (its receiver never answers), and N sends each
 *   reject with `WD_QUEUE_FULL`. µs per refusal, from the first call until every rejection
 *   has been handled; target ≤ 2 µs. Beside it, in alternating rounds, what a hand-written
 *   bounded queue does when full: a rejected promise carrying a `new Error` (with its stack).
 * - `publish` to 100,000 endpoints of one host: the time the call holds the event loop (it
 *   does its work before returning), with room for all of them, and again once that host's
 *   queue is full. Endpoint objects are fresh for every call, as when subscriptions are loaded
 *   from a database per event; one shared object repeated 100,000 times shows the floor.
 */
import { Dispatcher, type Endpoint } from '../../src/index.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { Receivers } from '../lib/receivers.js';
import { gcHeap, median } from '../lib/stats.js';
import { EVENT } from '../lib/workload.js';

const CAPACITY = 100;

/** Calls `call` n times without waiting, then waits until every rejection was handled. µs per call, and how many were `WD_QUEUE_FULL`. */
async function refuse(n: number, call: () => Promise<unknown>): Promise<{ us: number; full: number }> {
  let full = 0;
  gcHeap();
  const onError = (error: unknown) => {
    if ((error as { code?: unknown }).code === 'WD_QUEUE_FULL') full++;
  };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) call().catch(onError);
  await new Promise((resolve) => setImmediate(resolve));
  return { us: ((performance.now() - t0) * 1000) / n, full };
}

/** Milliseconds `publish` held the event loop, and how many endpoints it accepted. */
async function block(d: Dispatcher, endpoints: Endpoint[]): Promise<{ ms: number; accepted: number }> {
  // The previous call's garbage is collected first, so each call pays only for its own.
  gcHeap();
  const t0 = performance.now();
  const pending = d.publish(EVENT, endpoints);
  const ms = performance.now() - t0;
  const results = await pending;
  return { ms, accepted: results.filter((r) => r.ok).length };
}

export async function run(ctx: Context): Promise<ScenarioResult> {
  const refusals = ctx.pick(20_000, 200_000);
  const width = 100_000;
  const rounds = ctx.pick(3, 5);
  // Each publish round holds the loop for seconds: the quick profile takes the mean of two.
  const publishRounds = ctx.pick(2, 5);
  const rx = await Receivers.start(1);
  await rx.configure({ silent: true });
  const fresh = (n: number): Endpoint[] => Array.from({ length: n }, (_, i) => ({ url: rx.url(0, `/e${i}`), secret: ctx.secret }));
  const bar = ctx.progress('refusals and big publishes', rounds + publishRounds + 2);

  // Refused sends: fill one host's queue behind a receiver that never answers.
  const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 1, queueCapacity: CAPACITY, endpointQueueShare: 1, timeoutMs: 600_000 });
  const ep = { url: rx.url(0), secret: ctx.secret };
  for (let i = 0; i < CAPACITY + 10; i++) await d.send(ep, EVENT).catch(() => undefined);
  const message = `Expected room in the queue for ${rx.origin(0)}, got a full queue`;
  const handWritten = () => Promise.reject(Object.assign(new Error(message), { code: 'WD_QUEUE_FULL' }));
  const refused: number[] = [];
  const baseline: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    const ours = await refuse(refusals, () => d.send(ep, EVENT));
    const theirs = await refuse(refusals, handWritten);
    if (ours.full !== refusals) throw new Error(`11: expected ${refusals} WD_QUEUE_FULL refusals, got ${ours.full}`);
    if (r > 0) {
      refused.push(ours.us);
      baseline.push(theirs.us);
    }
    ctx.note(`${r === 0 ? 'warm-up' : `round ${r}/${rounds}`}: refused send ${ours.us.toFixed(2)} µs, hand-written ${theirs.us.toFixed(2)} µs`);
    bar.tick();
  }
  await d.close();

  // publish to `width` endpoints of one host: room for all, then a full queue, then one shared object.
  const distinct: number[] = [];
  const full: number[] = [];
  const shared: number[] = [];
  for (let r = 0; r <= publishRounds; r++) {
    const n = r === 0 ? width / 10 : width;
    const big = new Dispatcher({ allowPrivateNetworks: true, concurrency: 1, queueCapacity: n, endpointQueueShare: 1, timeoutMs: 600_000 });
    const room = await block(big, fresh(n));
    const flood = await block(big, fresh(n));
    await big.close();
    const one = new Dispatcher({ allowPrivateNetworks: true, concurrency: 1, queueCapacity: n, endpointQueueShare: 1, timeoutMs: 600_000 });
    const same = await block(one, new Array<Endpoint>(n).fill(ep));
    await one.close();
    // One message may have left the queue for the connection between the two calls.
    if (room.accepted !== n || flood.accepted > 1 || same.accepted !== n) throw new Error(`11: publish accepted ${room.accepted}, then ${flood.accepted} of ${n}; shared ${same.accepted}`);
    if (r > 0) {
      distinct.push(room.ms);
      full.push(flood.ms);
      shared.push(same.ms);
    }
    ctx.note(`${r === 0 ? 'warm-up' : `round ${r}/${publishRounds}`}: publish to ${n} endpoints ${room.ms.toFixed(0)} ms, full queue ${flood.ms.toFixed(0)} ms, one shared object ${same.ms.toFixed(0)} ms`);
    bar.tick();
  }
  bar.stop();
  await rx.stop();

  const perRefusal = median(refused);
  const n = width.toLocaleString('en-US');
  return {
    id: '11',
    title: 'refusals and big publishes',
    rows: [
      { metric: 'refused send (WD_QUEUE_FULL), per call', unit: 'µs', dispatcher: perRefusal, target: '≤ 2 µs', pass: perRefusal <= 2 },
      { metric: 'hand-written refusal (rejected new Error)', unit: 'µs', dispatcher: median(baseline) },
      { metric: 'refused send ÷ hand-written refusal', unit: '×', dispatcher: median(refused.map((x, i) => x / baseline[i]!)) },
      { metric: `publish to ${n} fresh endpoints of one host: loop blocked`, unit: 'ms', dispatcher: median(distinct) },
      { metric: `publish to ${n} fresh endpoints, queue full: loop blocked`, unit: 'ms', dispatcher: median(full) },
      { metric: `publish to one endpoint object × ${n}: loop blocked`, unit: 'ms', dispatcher: median(shared) },
    ],
    details: { refusals, width, capacity: CAPACITY, rounds: { refused, baseline, distinct, full, shared } },
  };
}
