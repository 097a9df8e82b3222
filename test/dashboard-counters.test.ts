/**
 * The dashboard's bounded counters and its redaction, as pure functions of their input: seconds
 * are passed in, so no clock is involved.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostActivity, RATE_SECONDS, SecondCounters } from '../src/dashboard/counters.js';
import { redactText, redactUrl } from '../src/dashboard/redact.js';

describe('SecondCounters', () => {
  it('holds exactly the events of the last `size` seconds, however far and however unevenly time moves', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        // Steps between events: mostly small, sometimes a long gap, sometimes the clock stepping back.
        fc.array(fc.tuple(fc.integer({ min: -3, max: 40 }), fc.integer({ min: 0, max: 1 })), { maxLength: 200 }),
        (size, steps) => {
          const counters = new SecondCounters(2, size);
          const events: [number, number][] = [];
          let second = 1_000;
          let head = -Infinity;
          for (const [step, series] of steps) {
            second += step;
            head = Math.max(head, second);
            counters.add(series, second);
            // What a counter can still hold: seconds inside the window of the newest second seen.
            if (second > head - size) events.push([second, series]);
          }
          const to = Number.isFinite(head) ? head : second;
          for (const series of [0, 1]) {
            const expected = Array.from({ length: size }, (_, i) => events.filter(([s, k]) => k === series && s === to - size + 1 + i).length);
            expect(counters.range(series, to - size + 1, to)).toEqual(expected);
          }
        },
      ),
    );
  });

  it('reads seconds outside its window as zero, and a read far ahead clears what is older', () => {
    const counters = new SecondCounters(1, 5);
    counters.add(0, 100);
    counters.add(0, 100);
    counters.add(0, 104);
    expect(counters.range(0, 98, 104)).toEqual([0, 0, 2, 0, 0, 0, 1]);
    expect(counters.range(0, 105, 109)).toEqual([0, 0, 0, 0, 0]);
    expect(counters.sum(0, 100, 104)).toBe(0);
    counters.add(0, 100);
    expect(counters.sum(0, 90, 109)).toBe(0);
  });
});

describe('HostActivity', () => {
  it(`rates a host by its deliveries over the last ${RATE_SECONDS} complete seconds`, () => {
    const activity = new HostActivity(true);
    for (let s = 0; s < 30; s++) for (let i = 0; i < 3; i++) activity.delivered('https://a.example', 1_000 + s);
    expect(activity.rate('https://a.example', 1_029)).toBe(3);
    // The current second (1_029) is not complete: only 1_019 to 1_028 count.
    expect(activity.rate('https://a.example', 1_030)).toBe(3);
    expect(activity.rate('https://a.example', 1_035)).toBe(1.5);
    expect(activity.rate('https://a.example', 1_045)).toBe(0);
    expect(activity.rate('https://unknown.example', 1_045)).toBe(0);
  });

  it('keeps the last error, and no rates when perHostRates is off', () => {
    const activity = new HostActivity(false);
    activity.delivered('https://a.example', 10);
    activity.failed('https://a.example', 10_500, 'HTTP 503 · will retry');
    activity.failed('https://a.example', 11_500, 'ECONNRESET: socket hang up · exhausted');
    expect(activity.rate('https://a.example', 12)).toBeUndefined();
    expect(activity.lastError('https://a.example')).toEqual({ at: 11_500, text: 'ECONNRESET: socket hang up · exhausted' });
  });

  it('tracks at most maxHosts hosts, dropping the least recently active first', () => {
    const activity = new HostActivity(true, 3);
    activity.delivered('https://a.example', 1);
    activity.delivered('https://b.example', 2);
    activity.delivered('https://c.example', 3);
    activity.failed('https://a.example', 4_000, 'HTTP 500');
    activity.delivered('https://d.example', 5);
    expect(activity.size).toBe(3);
    expect(activity.lastError('https://a.example')).toEqual({ at: 4_000, text: 'HTTP 500' });
    expect(activity.rate('https://b.example', 6)).toBe(0);
    expect(activity.rate('https://c.example', 6)).toBe(0.1);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 300 }), (touches) => {
        const bounded = new HostActivity(true, 7);
        touches.forEach(([host, failed], i) => (failed ? bounded.failed(`https://h${host}.example`, i * 1000, 'x') : bounded.delivered(`https://h${host}.example`, i)));
        expect(bounded.size).toBeLessThanOrEqual(7);
      }),
    );
  });
});

describe('redaction', () => {
  it('cuts query strings, fragments and credentials from URLs', () => {
    expect(redactUrl('https://a.example/hook?token=abc')).toBe('https://a.example/hook?…');
    expect(redactUrl('https://user:pw@a.example/hook#x')).toBe('https://a.example/hook?…');
    expect(redactUrl('https://a.example/hook')).toBe('https://a.example/hook');
    expect(redactUrl('not a url?token=abc')).toBe('not a url?…');
    expect(redactText('failed: connect to https://a.example/x?sig=abc and "http://b.example/?k=v", then gave up')).toBe('failed: connect to https://a.example/x?… and "http://b.example/?… then gave up');
  });

  it('never lets a query value through, whatever the URL and the text around it', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9]{12,24}$/);
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: false, withFragments: false }), token, fc.string({ maxLength: 20 }), (url, secret, around) => {
        const withToken = `${url}?token=${secret}`;
        expect(redactUrl(withToken)).not.toContain(secret);
        expect(redactText(`${around} ${withToken} ${around}`)).not.toContain(`token=${secret}`);
      }),
    );
  });
});
