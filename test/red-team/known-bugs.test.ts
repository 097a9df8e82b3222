/**
 * Red team, known bugs: hostile inputs that break the contract in files this suite may not
 * change. Each test states the contract and fails today (`it.fails`); the comment above it
 * names the file, the cause and the fix. Once a fix lands, vitest reports its `it.fails` as
 * failing: turn it into an `it`.
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher, isWebhookError, type WebhookEvent } from '../../src/index.js';
import { newSecret } from '../helpers.js';
import { expectRefusal, recordingTransport, thrownBy } from './hostile.js';

const secret = newSecret();
const event: WebhookEvent = { type: 'red.team', data: { ok: true } };

describe('known bugs (it.fails until fixed)', () => {
  const url = 'http://127.0.0.1:1/hook';
  const make = (options: Record<string, unknown> = {}) => new Dispatcher({ allowPrivateNetworks: true, ...options }, { transport: recordingTransport() });

  // BUG src/dispatcher.ts publish(): `Array.isArray(endpoints)` runs outside any guard, and on a
  // revoked Proxy it throws the engine's TypeError, which publish rejects with as is.
  // Fix: `if (!guarded('WD_INVALID_ENDPOINT', '`endpoints`', () => Array.isArray(endpoints)))`.
  it('publish(event, revoked Proxy) rejects with WD_INVALID_ENDPOINT, not a raw TypeError', async () => {
    const d = make();
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    const error = await d.publish(event, proxy).catch((e: unknown) => e);
    await d.close();
    expectRefusal(error, undefined, 'WD_INVALID_ENDPOINT');
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  // BUG src/envelope.ts prepareEvent(): the JSON.stringify catch reads `(error as Error).message`;
  // for a thrown null (or a value whose `message` getter throws) that read throws, and the
  // WebhookError carries that TypeError as cause instead of what data threw.
  // Fix: `const reason = error instanceof Error ? error.message : \`it threw ${describe(error)}\``.
  it('a toJSON that throws a non-Error keeps what it threw as cause', async () => {
    const d = make();
    const tricky = [null, 'text', { get message(): string { throw new Error('message getter'); } }];
    const errors = await Promise.all(tricky.map((thrown) => d.send({ url, secret }, { type: 't', data: { toJSON: () => { throw thrown; } } }).catch((e: unknown) => e)));
    await d.close();
    errors.forEach((error, i) => {
      expectRefusal(error, undefined, 'WD_INVALID_EVENT');
      expect(error.cause).toBe(tricky[i]);
    });
  });

  // BUG src/envelope.ts assertJsonValues(): NaN and ±Infinity pass, and JSON.stringify sends
  // them as null without a word, the very silent change that refusing functions and symbols avoids.
  // Fix: first in assertJsonValues, `if (type === 'number' && !Number.isFinite(value)) throw …`.
  it('data holding NaN or Infinity is refused with WD_INVALID_EVENT, not sent as null', async () => {
    const d = make();
    const errors = await Promise.all([Number.NaN, Infinity, -Infinity].map((n) => d.send({ url, secret }, { type: 't', data: { amount: n } }).catch((e: unknown) => e)));
    await d.close();
    for (const error of errors) expectRefusal(error, undefined, 'WD_INVALID_EVENT');
  });

  // BUG src/event-stream.ts add() (via Dispatcher.on/once): a listener that is not a function
  // throws a plain TypeError. Fix: throw `new WebhookError('WD_INVALID_OPTIONS', …describe(listener))`.
  it('on() with a listener that is not a function throws WD_INVALID_OPTIONS', () => {
    const d = make();
    expectRefusal(thrownBy(() => d.on('delivered', 5 as never)), undefined, 'WD_INVALID_OPTIONS');
  });

  // BUG src/send-options.ts resolveSendOptions(): an unknown key is echoed in full. Fix: cut it
  // to 40 characters and `…`, as option-checks.ts unknownOption() does.
  it('an unknown send option with a 1 MiB name is refused with a message of bounded length', async () => {
    const d = make();
    const error = await d.send({ url, secret }, event, { ['k'.repeat(1024 * 1024)]: 1 } as never).catch((e: unknown) => e);
    await d.close();
    expectRefusal(error, undefined, 'WD_INVALID_OPTIONS');
  });

  // BUG src/dispatcher.ts send(): #route() creates the origin's host actor before the event is
  // validated, so a refused event leaves an actor behind; under `maxHosts` it holds a slot (for
  // idleTimeoutMs) and the next good origin is refused with WD_QUEUE_FULL. Fix: #route() only
  // looks up an existing actor (`this.#router.get(origin)`) and checks its room; #enqueue()
  // makes a missing one with `actorFor` (WD_QUEUE_FULL past maxHosts).
  it('a refused event leaves no host actor behind to take a maxHosts slot', async () => {
    const d = make({ maxHosts: 1 });
    try {
      await expect(d.send({ url, secret }, { type: 't', data: 1n })).rejects.toMatchObject({ code: 'WD_INVALID_EVENT' });
      expect(Object.keys(d.stats().hosts)).toEqual([]);
      await d.send({ url: 'http://127.0.0.2:1/hook', secret }, event);
    } finally {
      await d.close();
    }
  });

  // BUG src/dispatcher.ts #enqueue(): the room check happens in #route(), before the event's
  // getters run; a getter that sends to the same host fills the queue in between, and the outer
  // message is accepted past queueCapacity. Fix: #enqueue() checks `actor.hasRoom` again, next
  // to its second #assertOpen().
  it('a send made from inside an event getter cannot push a host past queueCapacity', async () => {
    const d = make({ queueCapacity: 1 });
    d.pause(url);
    const inner: Promise<unknown>[] = [];
    const outer = { get type() { inner.push(d.send({ url, secret }, event).catch((e: unknown) => e)); return 'outer'; }, data: 1 };
    const first = await d.send({ url, secret }, outer).catch((e: unknown) => e);
    const results = [first, ...(await Promise.all(inner))];
    const queued = d.stats().hosts['http://127.0.0.1:1']!.queued;
    await d.close();
    expect(queued).toBeLessThanOrEqual(1);
    expect(results.filter((r) => isWebhookError(r) && r.code === 'WD_QUEUE_FULL')).toHaveLength(1);
  });
});
