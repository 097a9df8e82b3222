/**
 * Red team, input edges: hostile inputs that once broke the contract, each kept as a
 * regression test of the behaviour the contract asks for. The sweep in inputs.test.ts feeds
 * every hostile value to every position; these check the exact code, the `cause`, and the
 * state a refusal leaves behind (no host actor, no message past the queue's capacity).
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher, isWebhookError, type WebhookEvent } from '../../src/index.js';
import { newSecret } from '../helpers.js';
import { expectRefusal, recordingTransport, thrownBy } from './hostile.js';

const secret = newSecret();
const event: WebhookEvent = { type: 'red.team', data: { ok: true } };

describe('refusals at the edges of the input checks', () => {
  const url = 'http://127.0.0.1:1/hook';
  const make = (options: Record<string, unknown> = {}) => new Dispatcher({ allowPrivateNetworks: true, ...options }, { transport: recordingTransport() });

  // `Array.isArray` throws the engine's TypeError on a revoked Proxy: the endpoints check must
  // run guarded, so publish rejects with a WebhookError that keeps the TypeError as cause.
  it('publish(event, revoked Proxy) rejects with WD_INVALID_ENDPOINT, the TypeError as cause', async () => {
    const d = make();
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    const error = await d.publish(event, proxy).catch((e: unknown) => e);
    await d.close();
    expectRefusal(error, undefined, 'WD_INVALID_ENDPOINT');
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  // Reading `.message` of what a toJSON threw may itself throw (null, a throwing getter): the
  // refusal must describe the thrown value without reading it, and keep it as cause.
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

  // JSON.stringify writes NaN and ±Infinity as null without a word: the same silent change
  // that refusing functions and symbols avoids.
  it('data holding NaN or Infinity is refused with WD_INVALID_EVENT, not sent as null', async () => {
    const d = make();
    const errors = await Promise.all([Number.NaN, Infinity, -Infinity].map((n) => d.send({ url, secret }, { type: 't', data: { amount: n } }).catch((e: unknown) => e)));
    await d.close();
    for (const error of errors) expectRefusal(error, undefined, 'WD_INVALID_EVENT');
    expect((errors[0] as Error).message).toContain('NaN');
  });

  it('on() with a listener that is not a function throws WD_INVALID_OPTIONS, not a TypeError', () => {
    const d = make();
    expectRefusal(thrownBy(() => d.on('delivered', 5 as never)), undefined, 'WD_INVALID_OPTIONS');
  });

  // An unknown key is quoted in the message: cut to 40 characters, as the constructor's options are.
  it('an unknown send option with a 1 MiB name is refused with a message of bounded length', async () => {
    const d = make();
    const error = await d.send({ url, secret }, event, { ['k'.repeat(1024 * 1024)]: 1 } as never).catch((e: unknown) => e);
    await d.close();
    expectRefusal(error, undefined, 'WD_INVALID_OPTIONS');
    expect(error.message).toMatch(/`k{40}…`/);
  });

  // A host actor is made only for an accepted message: an actor made for a refused one would
  // hold a `maxHosts` slot (for `idleTimeoutMs`) and refuse the next good origin with WD_QUEUE_FULL.
  it('a refused event leaves no host actor behind to take a maxHosts slot', async () => {
    const d = make({ maxHosts: 1 });
    try {
      await expect(d.send({ url, secret }, { type: 't', data: 1n })).rejects.toMatchObject({ code: 'WD_INVALID_EVENT' });
      expect(Object.keys(d.stats().hosts)).toEqual([]);
      await d.send({ url: 'http://127.0.0.2:1/hook', secret }, event);
      expect(Object.keys(d.stats().hosts)).toEqual(['http://127.0.0.2:1']);
    } finally {
      await d.close();
    }
  });

  // The event's getters run between the room check and the enqueue: a getter that sends to the
  // same host fills the queue in between, so the room is checked again right before enqueueing.
  it('a send made from inside an event getter cannot push a host past queueCapacity', async () => {
    const d = make({ queueCapacity: 1 });
    d.pause(url);
    const inner: Promise<unknown>[] = [];
    const outer = { get type() { inner.push(d.send({ url, secret }, event).catch((e: unknown) => e)); return 'outer'; }, data: 1 };
    const first = await d.send({ url, secret }, outer).catch((e: unknown) => e);
    const results = [first, ...(await Promise.all(inner))];
    const queued = d.stats().hosts['http://127.0.0.1:1']!.queued;
    await d.close();
    expect(queued).toBe(1);
    expect(results.filter((r) => isWebhookError(r) && r.code === 'WD_QUEUE_FULL')).toHaveLength(1);
  });
});
