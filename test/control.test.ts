/**
 * What an app controls per host and per message: pause, resume, cancel, waiting for room after
 * WD_QUEUE_FULL, idempotency keys, and per-message attempts. Driven through the public API
 * with the WebhookRecorder an app's own tests would use.
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher, verifyWebhook, type Failed } from '../src/index.js';
import { WebhookRecorder } from '../src/testing.js';
import { ManualClock } from './support/clock.js';

const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const endpoint = { url: 'https://customer.example/hooks?tenant=1', secret };

/** A dispatcher on a recorder; on a manual clock unless `realTime` (retries then run on real timers). */
function setup(options: ConstructorParameters<typeof Dispatcher>[0] = {}, recorder = new WebhookRecorder(), realTime = false) {
  const clock = new ManualClock();
  const d = new Dispatcher({ retry: { baseDelayMs: 10, maxDelayMs: 10 }, ...options }, realTime ? { transport: recorder.transport } : { clock, transport: recorder.transport });
  const failed: Failed[] = [];
  d.on('failed', (e) => failed.push(e));
  return { d, clock, recorder, failed };
}

describe('WebhookRecorder, for apps that embed the dispatcher', () => {
  it('records signed requests an app can assert on, with no network and no DNS', async () => {
    const { d, recorder } = setup();
    await d.send(endpoint, { type: 'invoice.paid', data: { invoice: 'in_1' } });
    await d.onIdle();
    expect(recorder.requests).toHaveLength(1);
    const [request] = recorder.requests;
    expect(request!.url).toBe(endpoint.url);
    expect(request!.json()).toMatchObject({ type: 'invoice.paid', data: { invoice: 'in_1' } });
    expect(verifyWebhook(request!.body, request!.headers, secret, { now: () => Number(request!.headers['webhook-timestamp']) * 1000 })).toMatchObject({ type: 'invoice.paid' });
    await d.close();
  });

  it('answers as told, so an app can test its failed-webhook handling', async () => {
    const { d, recorder, failed } = setup({ retry: { attempts: 2, baseDelayMs: 0, maxDelayMs: 0 } }, new WebhookRecorder(() => 503), true);
    await d.send(endpoint, { type: 't', data: 1 });
    await d.onIdle();
    expect(recorder.requests).toHaveLength(2);
    expect(failed.map((f) => [f.reason, f.status])).toEqual([['exhausted', 503]]);
    await d.close();
  });
});

describe('pause and resume', () => {
  it('hold one origin while others flow, then send its queue in order', async () => {
    const { d, recorder } = setup();
    d.pause('https://customer.example');
    for (let i = 0; i < 3; i++) await d.send(endpoint, { type: 't', data: i });
    await d.send({ url: 'https://other.example/h', secret }, { type: 'other', data: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorder.requests.map((r) => r.origin)).toEqual(['https://other.example']);
    expect(d.stats().hosts['https://customer.example']).toMatchObject({ paused: true, queued: 3 });
    d.resume('https://customer.example/any/path');
    await d.onIdle();
    expect(recorder.requests.slice(1).map((r) => r.json().data)).toEqual([0, 1, 2]);
    await d.close();
  });

  it('refuse a target that is not an http(s) origin with WD_INVALID_OPTIONS', () => {
    const { d } = setup();
    expect(() => d.pause('customer.example')).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS' }));
    expect(() => d.resume(42 as never)).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS' }));
    void d.close();
  });
});

describe('cancel', () => {
  it('by message ids ends exactly those with reason cancelled', async () => {
    const { d, failed } = setup();
    d.pause('https://customer.example');
    const receipts = [];
    for (let i = 0; i < 4; i++) receipts.push(await d.send(endpoint, { type: 't', data: i }));
    expect(d.cancel([receipts[1]!.messageId, receipts[3]!.messageId, 'no-such-id'])).toBe(2);
    expect(failed.map((f) => [f.messageId, f.reason])).toEqual([
      [receipts[1]!.messageId, 'cancelled'],
      [receipts[3]!.messageId, 'cancelled'],
    ]);
    expect(d.stats().pending).toBe(2);
    expect(d.cancel({ origin: 'https://customer.example' })).toBe(2);
    expect(d.stats().pending).toBe(0);
    await d.close();
  });
});

describe('onRoom', () => {
  it('after WD_QUEUE_FULL, resolves once the host has room again', async () => {
    // One endpoint may hold the whole queue here: the host's room is what is waited for.
    const { d } = setup({ queueCapacity: 2, concurrency: 1, endpointQueueShare: 1 });
    d.pause(endpoint.url);
    await d.send(endpoint, { type: 't', data: 0 });
    await d.send(endpoint, { type: 't', data: 1 });
    await expect(d.send(endpoint, { type: 't', data: 2 })).rejects.toMatchObject({ code: 'WD_QUEUE_FULL' });
    let room = false;
    const waiting = d.onRoom(new URL(endpoint.url).origin).then(() => (room = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(room).toBe(false);
    d.resume(endpoint.url);
    await waiting;
    await expect(d.send(endpoint, { type: 't', data: 2 })).resolves.toMatchObject({ origin: 'https://customer.example' });
    await d.close();
  });

  it("given an endpoint's URL, waits for that endpoint's share, not only the host's room", async () => {
    const { d } = setup({ queueCapacity: 4, concurrency: 1 });
    d.pause(endpoint.url);
    await d.send(endpoint, { type: 't', data: 0 });
    await d.send(endpoint, { type: 't', data: 1 });
    // The host has room for 2 more; this endpoint holds its share (0.5 of 4).
    await expect(d.send(endpoint, { type: 't', data: 2 })).rejects.toMatchObject({ code: 'WD_QUEUE_FULL' });
    await d.onRoom(new URL(endpoint.url).origin);
    let room = false;
    const waiting = d.onRoom(endpoint.url).then(() => (room = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(room).toBe(false);
    d.resume(endpoint.url);
    await waiting;
    await expect(d.send(endpoint, { type: 't', data: 2 })).resolves.toMatchObject({ origin: 'https://customer.example' });
    await d.close();
  });
});

describe('per-message options', () => {
  it('an idempotency key returns the first receipt while that message is pending, and accepts anew once it ended', async () => {
    const { d, recorder } = setup();
    d.pause(endpoint.url);
    const first = await d.send(endpoint, { type: 't', data: 1 }, { idempotencyKey: 'order-42' });
    const again = await d.send(endpoint, { type: 't', data: 1 }, { idempotencyKey: 'order-42' });
    expect(again).toEqual(first);
    expect(d.stats().accepted).toBe(1);
    d.resume(endpoint.url);
    await d.onIdle();
    const later = await d.send(endpoint, { type: 't', data: 1 }, { idempotencyKey: 'order-42' });
    expect(later.messageId).not.toBe(first.messageId);
    await d.onIdle();
    expect(recorder.requests).toHaveLength(2);
    await d.close();
  });

  it('attempts and ttlMs override the dispatcher defaults for one message; bad ones are WD_INVALID_OPTIONS', async () => {
    const { d, failed } = setup({ retry: { attempts: 8, baseDelayMs: 0, maxDelayMs: 0 } }, new WebhookRecorder(() => 500));
    await d.send(endpoint, { type: 't', data: 1 }, { attempts: 1 });
    await d.onIdle();
    expect(failed.map((f) => [f.reason, f.attempts])).toEqual([['exhausted', 1]]);
    for (const bad of [{ attempts: 0 }, { ttlMs: -1 }, { idempotencyKey: '' }, { retries: 3 }, 'x']) {
      await expect(d.send(endpoint, { type: 't', data: 1 }, bad as never)).rejects.toMatchObject({ code: 'WD_INVALID_OPTIONS' });
    }
    await d.close();
  });
});
