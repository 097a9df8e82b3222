/** The seams every later feature plugs into: one clock, time-sortable ids, sealed events, a branded error. */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, systemClock } from '../src/core/clock.js';
import { uuidv7, uuidv7Time } from '../src/core/ids.js';
import { Dispatcher, WebhookError, isWebhookError } from '../src/index.js';

describe('system clock', () => {
  afterEach(() => void vi.useRealTimers());

  it('waits past 2^31 ms in steps instead of firing after 1 ms', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    systemClock.setTimer(fired, MAX_TIMER_MS + 5_000, true);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(4_999);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('a cancelled timer never runs, also between two steps', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const timer = systemClock.setTimer(fired, MAX_TIMER_MS * 2, true);
    vi.advanceTimersByTime(MAX_TIMER_MS + 10);
    timer.cancel();
    vi.advanceTimersByTime(MAX_TIMER_MS * 2);
    expect(fired).not.toHaveBeenCalled();
  });
});

describe('ids', () => {
  it('are UUIDv7 strings carrying the clock time, strictly increasing within a process', () => {
    // Ids are process state: each run starts later than anything drawn before it.
    let base = 1_800_000_000_000;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3_000 }), (steps) => {
        base += 1_000_000;
        let now = base;
        let previous = '';
        for (const step of steps) {
          now += step;
          const id = uuidv7(now);
          expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
          expect(id > previous).toBe(true);
          // Carried forward at most by counter overflow: never more than a few ms ahead.
          expect(uuidv7Time(id) - now).toBeLessThanOrEqual(steps.length / 2048 + 1);
          expect(uuidv7Time(id)).toBeGreaterThanOrEqual(now);
          previous = id;
        }
      }),
      { numRuns: 30 },
    );
  });

  it('stay increasing when the wall clock steps back', () => {
    const a = uuidv7(1_900_000_000_000);
    const b = uuidv7(1_800_000_000_000);
    expect(b > a).toBe(true);
  });

  it('do not repeat in 200,000 draws in one millisecond', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) seen.add(uuidv7(2_000_000_000_000));
    expect(seen.size).toBe(200_000);
  });
});

describe('events are the dispatcher’s own', () => {
  it('has no public emit: a caller cannot forge a delivered event', () => {
    const d = new Dispatcher();
    expect((d as unknown as { emit?: unknown }).emit).toBeUndefined();
    expect(Object.keys(d)).toEqual([]);
    void d.close();
  });

  it('a once listener runs once even beside other listeners, and listeners see `this` as the dispatcher', async () => {
    const d = new Dispatcher({ allowPrivateNetworks: true, retry: { attempts: 1 } }, { lookup: (_h, _o, cb) => cb(null, [{ address: '192.0.2.1', family: 4 }]) });
    const calls: string[] = [];
    let self: unknown;
    d.on('failed', function (this: unknown) {
      self = this;
      calls.push('on');
    });
    d.once('failed', () => calls.push('once'));
    // Refused before connecting: 192.0.2.1 (TEST-NET) is reserved, so nothing leaves the machine.
    for (let i = 0; i < 2; i++) await d.send({ url: 'http://hooks.invalid/x', secret: `whsec_${'A'.repeat(43)}=` }, { type: 't', data: i });
    await d.onIdle();
    expect(calls).toEqual(['on', 'once', 'on']);
    expect(self).toBe(d);
    await d.close();
  });

  it('a listener that throws is reported on `error` and the next listener still runs', async () => {
    const d = new Dispatcher({ retry: { attempts: 1 } }, { lookup: (_h, _o, cb) => cb(null, [{ address: '192.0.2.1', family: 4 }]) });
    const errors: unknown[] = [];
    const seen: string[] = [];
    d.on('error', (e) => errors.push(e));
    d.on('failed', () => {
      throw new Error('listener bug');
    });
    d.on('failed', (e) => seen.push(e.reason));
    await d.send({ url: 'http://hooks.invalid/x', secret: `whsec_${'A'.repeat(43)}=` }, { type: 't', data: 1 });
    await d.onIdle();
    expect(seen).toEqual(['blocked']);
    expect(errors).toEqual([new Error('listener bug')]);
    await d.close();
  });
});

describe('WebhookError across copies of the library', () => {
  it('isWebhookError and instanceof recognise an error made by another copy of the module', async () => {
    vi.resetModules();
    const other = await import('../src/core/errors.js');
    expect(other.WebhookError).not.toBe(WebhookError);
    const foreign = new other.WebhookError('WD_CLOSED', 'from the other copy');
    expect(isWebhookError(foreign)).toBe(true);
    expect(foreign instanceof WebhookError).toBe(true);
    expect(other.isWebhookError(new WebhookError('WD_CLOSED', 'x'))).toBe(true);
    expect(isWebhookError(new Error('plain'))).toBe(false);
    expect(isWebhookError({ code: 'WD_CLOSED', name: 'WebhookError' })).toBe(false);
  });
});
