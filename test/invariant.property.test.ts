import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSecret, Terminals, testDispatcher } from './helpers.js';
import { Receiver, status, type Reply } from './receiver.js';

const HOSTS = 3;
const receivers: Receiver[] = [];
beforeAll(async () => {
  for (let i = 0; i < HOSTS; i++) receivers.push(await Receiver.start());
});
afterAll(async () => {
  for (const r of receivers) await r.stop();
});

const reply: fc.Arbitrary<Reply> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(200, 201, 204).map((s) => status(s)) },
  { weight: 1, arbitrary: fc.constantFrom(400, 404, 410, 302).map((s) => status(s)) },
  { weight: 2, arbitrary: fc.constantFrom(500, 502, 503, 408).map((s) => status(s)) },
  { weight: 1, arbitrary: fc.constant(status(429, { 'retry-after': '0' })) },
  { weight: 1, arbitrary: fc.constant<Reply>({ kind: 'reset' }) },
  { weight: 1, arbitrary: fc.constant<Reply>({ kind: 'reset-after-headers' }) },
  { weight: 1, arbitrary: fc.constant<Reply>({ kind: 'hang' }) },
);

describe('terminal-event invariant', () => {
  it('every accepted message ends in exactly one delivered or failed, and the dispatcher returns to zero', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(reply, { minLength: 1, maxLength: 8 }), { minLength: HOSTS, maxLength: HOSTS }),
        fc.array(fc.nat(HOSTS - 1), { minLength: 1, maxLength: 40 }),
        fc.record({ ordered: fc.boolean(), breaker: fc.boolean(), concurrency: fc.integer({ min: 1, max: 4 }), attempts: fc.integer({ min: 1, max: 4 }) }),
        async (scripts, targets, opts) => {
          receivers.forEach((r, i) => {
            const script = scripts[i]!;
            r.handler = (_req, n) => script[n % script.length]!;
          });
          const d = testDispatcher({
            timeoutMs: 80,
            concurrency: opts.concurrency,
            ordered: opts.ordered,
            breaker: opts.breaker ? { failureThreshold: 2, cooldownMs: 20 } : false,
            retry: { attempts: opts.attempts, baseDelayMs: 2, maxDelayMs: 10, maxRetryAfterMs: 10 },
          });
          const t = new Terminals(d);
          const secret = newSecret();
          const accepted = new Set<string>();
          for (const target of targets) {
            const receipt = await d.send({ url: receivers[target]!.url(), secret }, { type: 't', data: target });
            accepted.add(receipt.messageId);
          }
          await d.onIdle();
          expect(t.duplicates()).toEqual([]);
          expect(new Set(t.byMessage.keys())).toEqual(accepted);
          const stats = d.stats();
          expect(stats.pending).toBe(0);
          expect(stats.delivered + stats.failed).toBe(accepted.size);
          for (const h of Object.values(stats.hosts)) expect([h.queued, h.inFlight, h.waiting]).toEqual([0, 0, 0]);
          // Every delivered message really reached a receiver with a 2xx.
          for (const e of t.delivered) expect(e.status).toBeGreaterThanOrEqual(200);
          await d.close();
          expect(t.total).toBe(accepted.size);
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
