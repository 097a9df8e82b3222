/**
 * Fair to every endpoint of a host: turns between endpoint URLs (counted on a fake transport,
 * no wall clock), room per endpoint (real receivers on 127.0.0.1, and a durable backlog on
 * disk), ordered hosts keeping acceptance order, and every accepted message ending once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dispatcher, type DispatcherOptions, type WebhookError } from '../src/index.js';
import { MemoryStore } from '../src/stores/memory/memory-store.js';
import { ManualClock } from './support/clock.js';
import { FakeTransport } from './support/fake-transport.js';
import { newSecret, scoped } from './helpers.js';

const secret = newSecret();
const HOST = 'http://hooks.test';

function fake(options: DispatcherOptions = {}) {
  const clock = new ManualClock();
  const transport = new FakeTransport();
  const d = new Dispatcher({ allowPrivateNetworks: true, ...options }, { clock, transport: () => transport });
  const ended = new Map<string, number>();
  const end = (e: { messageId: string }) => ended.set(e.messageId, (ended.get(e.messageId) ?? 0) + 1);
  d.on('delivered', end);
  d.on('failed', end);
  return { d, clock, transport, ended };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Answers the oldest open request and lets its answer land. */
async function answerOne(transport: FakeTransport, status = 200) {
  const [first] = transport.open;
  first!.answer({ status });
  await settle();
}

describe('fair turns', () => {
  it('a message to a quiet endpoint goes within one turn of a backlog of 3,000 on another', async () => {
    const { d, transport } = fake({ concurrency: 1 });
    for (let i = 0; i < 3_000; i++) await d.send({ url: `${HOST}/flood`, secret }, { type: 't', data: i });
    await d.send({ url: `${HOST}/quiet`, secret }, { type: 't', data: 'q' });
    for (let i = 0; i < 3; i++) await answerOne(transport);
    // The first /flood was in flight when /quiet came, and /flood's turn came before /quiet
    // joined the turns: /quiet is third (one turn), not 3,001st.
    expect(transport.requests.slice(0, 3).map((r) => r.path)).toEqual(['/flood', '/flood', '/quiet']);
    await d.close();
  });

  it('endpoints take turns one message each, and a due retry goes to the front of its own endpoint', async () => {
    const { d, transport, clock } = fake({ concurrency: 1, retry: { baseDelayMs: 1_000, maxDelayMs: 1_000 } });
    for (let i = 0; i < 3; i++) await d.send({ url: `${HOST}/a`, secret }, { type: 't', data: `a${i}` });
    for (let i = 0; i < 3; i++) await d.send({ url: `${HOST}/b`, secret }, { type: 't', data: `b${i}` });
    await answerOne(transport, 500); // a0 fails: waits for its retry; a1 goes (/a's turn came before /b joined)
    await answerOne(transport); // a1 answered: b0 goes
    clock.advance(1_000); // a0 is due: first in /a's queue
    for (let i = 0; i < 5; i++) await answerOne(transport);
    const sent = transport.requests.map((r) => (JSON.parse(r.body) as { data: string }).data);
    expect(sent).toEqual(['a0', 'a1', 'b0', 'a0', 'b1', 'a2', 'b2']);
    expect(sent).toHaveLength(7);
    await d.close();
  });

  it('an ordered host keeps acceptance order across endpoints', async () => {
    const { d, transport } = fake({ ordered: true, concurrency: 4 });
    const order = ['a', 'a', 'a', 'b', 'b', 'c', 'a'];
    for (const [i, p] of order.entries()) await d.send({ url: `${HOST}/${p}`, secret }, { type: 't', data: i });
    for (let i = 0; i < order.length; i++) await answerOne(transport);
    expect(transport.requests.map((r) => r.path)).toEqual(order.map((p) => `/${p}`));
    await d.close();
  });
});

describe('room per endpoint', () => {
  const { receiver, dispatcher } = scoped();

  it('a quiet endpoint is accepted while another endpoint of its host holds its full share', async () => {
    const rx = await receiver(() => ({ kind: 'hang' }));
    const d = dispatcher({ concurrency: 1, queueCapacity: 1_000, timeoutMs: 60_000 });
    const flood = await Promise.allSettled(Array.from({ length: 1_000 }, (_, i) => d.send({ url: rx.url('/flood'), secret }, { type: 't', data: i })));
    const refused = flood.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as WebhookError);
    // Half of 1,000 held, plus the one in flight (not held).
    expect(flood.length - refused.length).toBe(501);
    expect(refused[0]!.code).toBe('WD_QUEUE_FULL');
    expect(refused[0]!.message).toContain('`endpointQueueShare` 0.5 of `queueCapacity` 1000: 500 messages');
    expect(refused[0]!.message).toContain('/flood');
    const quiet = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => d.send({ url: rx.url('/quiet'), secret }, { type: 't', data: i })));
    expect(quiet.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
  });

  it('counts an endpoint share through the disk backlog (a paused durable host)', async () => {
    const clock = new ManualClock();
    const transport = new FakeTransport();
    const d = new Dispatcher({ allowPrivateNetworks: true, store: new MemoryStore({ durable: true }), queueCapacity: 1_000, endpointQueueShare: 0.3 }, { clock, transport: () => transport });
    d.pause(HOST);
    let accepted = 0;
    for (let i = 0; i < 400; i++) {
      try {
        await d.send({ url: `${HOST}/flood`, secret }, { type: 't', data: i });
        accepted++;
      } catch (error) {
        expect((error as WebhookError).code).toBe('WD_QUEUE_FULL');
      }
    }
    // Past the in-memory window (128 here) the rest wait on disk, and still count.
    expect(accepted).toBe(300);
    expect(d.stats().hosts[HOST]).toMatchObject({ queued: 300 });
    for (let i = 0; i < 10; i++) await d.send({ url: `${HOST}/quiet`, secret }, { type: 't', data: i });
    await d.close();
  });

  it('rejects an endpointQueueShare out of range with the usual message', () => {
    expect(() => new Dispatcher({ endpointQueueShare: 0 })).toThrow('Expected `endpointQueueShare` to be a finite number from 0.01 to 1, got `0` (number)');
  });
});

describe('every accepted message ends exactly once', () => {
  it('with turns, retries and cancels mixed', async () => {
    type Op = { kind: 'send'; ep: number } | { kind: 'answer'; status: number } | { kind: 'cancel'; ep: number } | { kind: 'advance'; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), ep: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('answer' as const), status: fc.constantFrom(200, 200, 500, 429, 400) }),
      fc.record({ kind: fc.constant('cancel' as const), ep: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 5_000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const { d, transport, clock, ended } = fake({ concurrency: 2, queueCapacity: 20, retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 }, breaker: false });
        const accepted: string[] = [];
        for (const o of ops) {
          if (o.kind === 'send') {
            try {
              accepted.push((await d.send({ url: `${HOST}/e${o.ep}`, secret }, { type: 't', data: 1 })).messageId);
            } catch (error) {
              expect((error as WebhookError).code).toBe('WD_QUEUE_FULL');
            }
          } else if (o.kind === 'answer') {
            const [first] = transport.open;
            if (first !== undefined) first.answer({ status: o.status });
            await settle();
          } else if (o.kind === 'cancel') d.cancel(o.ep === 0 ? { origin: HOST } : accepted.filter((_, i) => i % (o.ep + 1) === 0));
          else clock.advance(o.ms);
        }
        // Drain: answer everything, let every retry come due.
        for (let i = 0; i < 500 && d.stats().pending > 0; i++) {
          for (const r of [...transport.open]) r.answer({ status: 200 });
          await settle();
          clock.advance(1_000);
        }
        expect(d.stats().pending).toBe(0);
        for (const id of accepted) expect(ended.get(id)).toBe(1);
        expect([...ended.values()].every((n) => n === 1)).toBe(true);
        await d.close();
      }),
      { numRuns: 40 },
    );
  });
});
