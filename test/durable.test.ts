/**
 * The dispatcher on a durable store, with the store's own semantics simulated by a durable
 * in-memory store shared between "processes" (dispatchers made one after the other): accepted
 * means committed, a new dispatcher recovers what an earlier one left, schedules survive, a
 * backlog waits on disk, and a store that fails refuses sends instead of losing them.
 * The SQLite store runs the same paths for real in its own tests.
 */
import { describe, expect, it } from 'vitest';
import { Dispatcher, type DispatcherOptions, type Failed } from '../src/index.js';
import type { StoreOp } from '../src/persistence/store.js';
import { MemoryStore } from '../src/stores/memory/memory-store.js';
import { WebhookRecorder, type Responder } from '../src/testing.js';
import { ManualClock } from './support/clock.js';

const secret = `whsec_${Buffer.alloc(32, 4).toString('base64')}`;
const endpoint = { url: 'https://hooks.example.com/in', secret };
const ORIGIN = 'https://hooks.example.com';

function run(store: MemoryStore, options: DispatcherOptions = {}, respond: Responder = () => 200, clock = new ManualClock()) {
  const recorder = new WebhookRecorder(respond);
  const d = new Dispatcher({ store, ...options }, { clock, transport: recorder.transport });
  const delivered: string[] = [];
  const failed: Failed[] = [];
  d.on('delivered', (e) => delivered.push(e.messageId));
  d.on('failed', (e) => failed.push(e));
  return { d, recorder, delivered, failed, clock };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('accepted means durable', () => {
  it('send resolves only once the message is in the store, and the store sees it end', async () => {
    const store = new MemoryStore({ durable: true });
    const { d, delivered } = run(store);
    const receipt = await d.send(endpoint, { type: 't', data: 1 });
    expect(await store.get(receipt.messageId)).toMatchObject({ id: receipt.messageId, origin: ORIGIN });
    await d.onIdle();
    expect(delivered).toEqual([receipt.messageId]);
    expect(await d.history(receipt.messageId)).toMatchObject({ state: 'delivered', attempts: [{ status: 200 }] });
    await d.close();
  });

  it('a store that cannot write refuses the send with WD_STORE_UNAVAILABLE, emits nothing, and the dispatcher keeps working', async () => {
    const store = new MemoryStore({ durable: true });
    const write = store.write.bind(store);
    let broken = true;
    store.write = (ops: readonly StoreOp[]) => (broken && ops.some((o) => o.op === 'accept') ? Promise.reject(new Error('disk I/O error')) : write(ops));
    const { d, recorder, delivered, failed } = run(store);
    await expect(d.send(endpoint, { type: 't', data: 1 })).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('disk I/O error') });
    broken = false;
    await d.send(endpoint, { type: 't', data: 2 });
    await d.onIdle();
    expect(recorder.requests.map((r) => r.json().data)).toEqual([2]);
    expect(delivered).toHaveLength(1);
    expect(failed).toEqual([]);
    expect(d.stats()).toMatchObject({ accepted: 1, pending: 0 });
    await d.close();
  });
});

describe('recovery', () => {
  it('a new dispatcher on the same store delivers what the first one left, and the terminal events fire there', async () => {
    const store = new MemoryStore({ durable: true });
    const first = run(store);
    first.d.pause(ORIGIN);
    const receipts = [];
    for (let i = 0; i < 5; i++) receipts.push(await first.d.send(endpoint, { type: 't', data: i }));
    // Closed without draining: with a durable store nothing fails, it waits in the store.
    await first.d.close();
    expect(first.failed).toEqual([]);
    expect(first.recorder.requests).toEqual([]);

    const second = run(store);
    await second.d.ready();
    expect(second.d.stats()).toMatchObject({ accepted: 5, pending: 5 });
    await second.d.onIdle();
    expect(second.recorder.requests.map((r) => r.json().data)).toEqual([0, 1, 2, 3, 4]);
    expect(second.delivered).toEqual(receipts.map((r) => r.messageId));
    // The same webhook-id: receivers deduplicate on it.
    expect(second.recorder.requests.map((r) => r.headers['webhook-id'])).toEqual(receipts.map((r) => r.eventId));
    await second.d.close();
  });

  it('keeps a retry scheduled 10 minutes ahead: not sent at once after the restart', async () => {
    const store = new MemoryStore({ durable: true });
    const clock = new ManualClock(1_800_000_000_000, [0.999]);
    const first = run(store, { retry: { baseDelayMs: 600_000, maxDelayMs: 600_000 }, breaker: false }, () => 503, clock);
    await first.d.send(endpoint, { type: 't', data: 1 });
    while (first.d.stats().retries === 0) await tick();
    await first.d.close();
    const later = new ManualClock(clock.now() + 60_000);
    const second = run(store, { retry: { baseDelayMs: 600_000, maxDelayMs: 600_000 }, breaker: false }, () => 200, later);
    await second.d.ready();
    await tick();
    expect(second.recorder.requests).toHaveLength(0);
    expect(second.d.stats().hosts[ORIGIN]).toMatchObject({ waiting: 1 });
    later.advance(600_000);
    await second.d.onIdle();
    expect(second.recorder.requests).toHaveLength(1);
    expect(second.delivered).toHaveLength(1);
    await second.d.close();
  });
  it("keeps an endpoint's own rateLimit after the restart: the recovered backlog is not sent at once", async () => {
    const store = new MemoryStore({ durable: true });
    const limited = { ...endpoint, rateLimit: { perSecond: 1, burst: 1 } };
    const first = run(store);
    first.d.pause(ORIGIN);
    for (let i = 0; i < 6; i++) await first.d.send(limited, { type: 't', data: i });
    await first.d.close();

    const clock = new ManualClock();
    const second = run(store, {}, () => 200, clock);
    await second.d.ready();
    for (let i = 0; i < 5; i++) await tick();
    // 1/s with a burst of 1: what the bucket holds now (at most 1 + 1), then one a second.
    const now = second.recorder.requests.length;
    expect(now).toBeGreaterThanOrEqual(1);
    expect(now).toBeLessThanOrEqual(2);
    clock.advance(1_000);
    for (let i = 0; i < 5; i++) await tick();
    expect(second.recorder.requests).toHaveLength(now + 1);
    clock.advance(10_000);
    await second.d.onIdle();
    expect(second.recorder.requests.map((r) => r.json().data)).toEqual([0, 1, 2, 3, 4, 5]);
    await second.d.close();
  });
});

describe('backlog on disk', () => {
  it('a paused host holds only a window in memory, counts the rest, and delivers all in order when it resumes', async () => {
    const store = new MemoryStore({ durable: true });
    const { d, recorder } = run(store, { concurrency: 2, queueCapacity: 1_000, endpointQueueShare: 1 });
    d.pause(ORIGIN);
    for (let i = 0; i < 1_000; i++) await d.send(endpoint, { type: 't', data: i });
    expect(d.stats().hosts[ORIGIN]).toMatchObject({ queued: 1_000 });
    await expect(d.send(endpoint, { type: 't', data: 'over' })).rejects.toMatchObject({ code: 'WD_QUEUE_FULL' });
    d.resume(ORIGIN);
    await d.onIdle();
    expect(recorder.requests.map((r) => r.json().data)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    await d.close();
  });

  it('messages that vanish from the backlog on disk (ended elsewhere) give back their endpoint\'s share and are not waited for', async () => {
    const store = new MemoryStore({ durable: true });
    // Window 64; the endpoint's share of the queue is 100.
    const { d, recorder } = run(store, { concurrency: 2, queueCapacity: 200, endpointQueueShare: 0.5 });
    d.pause(ORIGIN);
    const receipts = [];
    for (let i = 0; i < 100; i++) receipts.push(await d.send(endpoint, { type: 't', data: i }));
    await expect(d.send(endpoint, { type: 't', data: 'over' })).rejects.toMatchObject({ code: 'WD_QUEUE_FULL' });
    // The last 36 wait on disk only; something else ends them behind the dispatcher's back.
    await store.write(receipts.slice(64).map((r) => ({ op: 'end' as const, id: r.messageId, at: 0, attempt: null, attempts: 1, outcome: { state: 'delivered' as const, status: 200 } })));
    d.resume(ORIGIN);
    // Not waited for: onIdle resolves once the 64 in memory are delivered.
    await d.onIdle();
    expect(recorder.requests).toHaveLength(64);
    expect(d.stats()).toMatchObject({ accepted: 100, delivered: 64, pending: 0 });
    // The endpoint holds nothing now: its whole share is free again (100 more, not 64).
    d.pause(ORIGIN);
    for (let i = 0; i < 100; i++) await d.send(endpoint, { type: 't', data: 100 + i });
    await expect(d.send(endpoint, { type: 't', data: 'over' })).rejects.toMatchObject({ code: 'WD_QUEUE_FULL' });
    d.resume(ORIGIN);
    await d.onIdle();
    expect(recorder.requests).toHaveLength(164);
    await d.close();
  });

  it('close() resolves with a backlog still on disk, and a new dispatcher delivers all of it', async () => {
    const store = new MemoryStore({ durable: true });
    const first = run(store, { concurrency: 2, queueCapacity: 1_000 });
    first.d.pause(ORIGIN);
    for (let i = 0; i < 500; i++) await first.d.send(endpoint, { type: 't', data: i });
    // Past the window (125 here: an eighth of the capacity): most of the 500 were never paged in; they are released too.
    await first.d.close();
    expect(first.d.stats()).toMatchObject({ accepted: 500, pending: 0 });
    expect(first.failed).toEqual([]);

    const second = run(store, { concurrency: 2, queueCapacity: 1_000 });
    await second.d.ready();
    await second.d.onIdle();
    expect(second.recorder.requests.map((r) => r.json().data)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    await second.d.close();
  });
});

describe('dead letters, history and replay (the default memory store)', () => {
  it('a 400 is a dead letter with its reason and answer; replayed after the fix it is delivered, and history shows both', async () => {
    let fixed = false;
    const { d, recorder, delivered } = run(undefined as never, {}, () => (fixed ? 200 : { status: 400, body: 'unknown field' }));
    const receipt = await d.send(endpoint, { type: 'order.paid', data: { id: 7 } });
    await d.onIdle();
    const { items } = await d.deadLetters({ reason: 'rejected' });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ messageId: receipt.messageId, reason: 'rejected', status: 400, responseBody: 'unknown field', origin: ORIGIN });
    expect(items[0]!.failedAt).toBeInstanceOf(Date);
    fixed = true;
    const [result] = await d.replay([receipt.messageId]);
    expect(result).toMatchObject({ ok: true });
    await d.onIdle();
    const replayed = result!.ok ? result!.receipt : undefined;
    expect(replayed!.messageId).not.toBe(receipt.messageId);
    expect(replayed!.eventId).toBe(receipt.eventId);
    expect(delivered).toEqual([replayed!.messageId]);
    expect(recorder.requests.map((r) => r.headers['webhook-id'])).toEqual([receipt.eventId, receipt.eventId]);
    expect(await d.history(receipt.messageId)).toMatchObject({ state: 'failed', attempts: [{ status: 400 }] });
    const unknown = await d.replay(['no-such-message']);
    expect(unknown).toMatchObject([{ ok: false, error: { code: 'WD_INVALID_OPTIONS' } }]);
    await d.close();
  });
});
