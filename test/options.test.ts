import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dispatcher, DEFAULTS, WebhookError } from '../src/index.js';
import { LIMITS, OPTION_KEYS } from '../src/config/options.js';
import { resolveCloseOptions, resolveOptions } from '../src/config/resolve-options.js';
import { editDistance, nearest } from '../src/core/option-checks.js';
import { newSecret, refusal } from './helpers.js';

const DAY = 86_400_000;


describe('options', () => {
  it('fills in the documented defaults', () => {
    const o = resolveOptions(undefined);
    expect(o.host).toEqual({ concurrency: DEFAULTS.concurrency, queueCapacity: DEFAULTS.queueCapacity, endpointQueueShare: 0.5, rateLimit: undefined, ordered: false, breaker: DEFAULTS.breaker });
    expect(o.retry).toEqual(DEFAULTS.retry);
    expect(o.signature).toBe('standard-webhooks');
    expect(o.signatureHeader).toBe('x-webhook-signature');
    expect(o.maxHosts).toBe(Infinity);
    expect(o.allowPrivateNetworks).toBe(false);
  });

  it.each([
    [{ concurrency: 0 }, 'Expected `concurrency` to be an integer from 1 to 10_000, got `0` (number)'],
    [{ concurrency: 1.5 }, 'Expected `concurrency` to be an integer from 1 to 10_000, got `1.5` (number)'],
    [{ queueCapacity: '10' }, 'Expected `queueCapacity` to be an integer from 1 to 2_147_483_647, got `"10"` (string)'],
    [{ rateLimit: { perSecond: 0 } }, 'Expected `rateLimit.perSecond` to be a finite number from 0.01 to 1_000_000, got `0` (number)'],
    [{ rateLimit: { perSecond: 10, burst: -1 } }, 'Expected `rateLimit.burst` to be a finite number from 0 to 1_000_000, got `-1` (number)'],
    [{ retry: { attempts: 0 } }, 'Expected `retry.attempts` to be an integer from 1 to 2_147_483_647, got `0` (number)'],
    [{ breaker: { cooldownMs: -5 } }, 'Expected `breaker.cooldownMs` to be an integer from 1 to 1_789_569_705, got `-5` (number)'],
    [{ signature: 'md5' }, "Expected `signature` to be `'standard-webhooks'` or `'timestamped-hex'`, got `\"md5\"` (string)"],
    [{ allowedNetworks: ['10.0.0.0/33'] }, 'Expected `allowedNetworks[0]` to be a CIDR such as `10.1.0.0/16` or `fd00:1::/32` (IPv4 as four decimal octets), got `"10.0.0.0/33"` (string)'],
    [{ allowedNetworks: [5] }, 'Expected `allowedNetworks[0]` to be a CIDR string such as `10.1.0.0/16`, got `5` (number)'],
    [{ hosts: { 'not a url': {} } }, 'Expected `hosts` to be keyed by origins such as `https://api.example.com`, got `"not a url"` (string)'],
    [{ hosts: { 'https://a.example': { concurrency: -1 } } }, 'Expected `hosts["https://a.example"].concurrency` to be an integer from 1 to 10_000, got `-1` (number)'],
    [{ ordered: 'yes' }, 'Expected `ordered` to be a boolean, got `"yes"` (string)'],
    [{ timeoutMs: Infinity }, 'Expected `timeoutMs` to be an integer from 1 to 2_147_483_647, got `Infinity` (number)'],
    [{ responseBodyBytes: -0 }, 'Expected `responseBodyBytes` to be an integer from 0 to 1_048_576, got `-0` (number)'],
    [{ maxHosts: 0 }, 'Expected `maxHosts` to be an integer from 1 to 2_147_483_647, or `Infinity` for no cap, got `0` (number)'],
    [{ maxHosts: -Infinity }, 'Expected `maxHosts` to be an integer from 1 to 2_147_483_647, or `Infinity` for no cap, got `-Infinity` (number)'],
    [null, 'Expected `options` to be an object, got `null`'],
    [{ hosts: new Map([['https://a.example', { concurrency: 1 }]]) }, 'Expected `hosts` to be a plain object (not a Map or other iterable), got an object'],
  ])('refuses %j with a WD_INVALID_OPTIONS error that says what was expected and what arrived', (options, message) => {
    expect(() => new Dispatcher(options as never)).toThrow(WebhookError);
    expect(() => new Dispatcher(options as never)).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message }));
  });

  it('applies hosts overrides to their origin only, normalizing the key', () => {
    const o = resolveOptions({ concurrency: 4, hosts: { 'https://API.example.com:443/': { concurrency: 1, ordered: true } } });
    expect(o.hosts.get('https://api.example.com')).toMatchObject({ concurrency: 1, ordered: true, queueCapacity: DEFAULTS.queueCapacity });
    expect(o.host.concurrency).toBe(4);
  });

  it('defaults a rate limit burst to one refill (a tenth of the rate, at least 1)', () => {
    expect(resolveOptions({ rateLimit: { perSecond: 500 } }).host.rateLimit).toEqual({ perSecond: 500, burst: 50 });
    expect(resolveOptions({ rateLimit: { perSecond: 2 } }).host.rateLimit).toEqual({ perSecond: 2, burst: 1 });
  });

  it('refuses bad close options', async () => {
    const d = new Dispatcher();
    await expect(d.close({ timeoutMs: -1 })).rejects.toMatchObject({ code: 'WD_INVALID_OPTIONS' });
    await expect(d.close({ timeout: 5 } as never)).rejects.toMatchObject({ code: 'WD_INVALID_OPTIONS', message: 'Unknown option `timeout`; did you mean `timeoutMs`?' });
    await d.close();
  });
});

describe('misspelled options', () => {
  it.each([
    [{ retries: { attempts: 3 } }, 'Unknown option `retries`; did you mean `retry`?'],
    [{ retry: { maxAttempts: 3 } }, 'Unknown option `retry.maxAttempts`; did you mean `retry.attempts`?'],
    [{ Concurrency: 3 }, 'Unknown option `Concurrency`; did you mean `concurrency`?'],
    [{ timeout: 3 }, 'Unknown option `timeout`; did you mean `timeoutMs`?'],
    [{ rateLimit: { perSec: 3 } }, 'Unknown option `rateLimit.perSec`; did you mean `rateLimit.perSecond`?'],
    [{ breaker: { threshold: 3 } }, 'Unknown option `breaker.threshold`; did you mean `breaker.failureThreshold`?'],
    [{ hosts: { 'https://a.example': { concurency: 3 } } }, 'Unknown option `hosts["https://a.example"].concurency`; did you mean `hosts["https://a.example"].concurrency`?'],
    [{ hosts: { 'https://a.example': { retry: {} } } }, 'Unknown option `hosts["https://a.example"].retry`; expected one of'],
    [{ allowPrivateNetwork: true }, 'Unknown option `allowPrivateNetwork`; did you mean `allowPrivateNetworks`?'],
    [{ zzz: 1 }, 'Unknown option `zzz`; expected one of `concurrency`, `queueCapacity`'],
  ])('refuses %j naming the key and the nearest valid one', (options, message) => {
    expect(refusal(() => new Dispatcher(options as never))).toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining(message) });
  });

  it('accepts every listed key at every level, the ones still to come included', () => {
    const o = resolveOptions({ store: { kind: 'x' }, retention: 1, cluster: 'c', telemetry: { openTelemetry: false }, maxHosts: 5, signatureHeader: 'x-sig' });
    expect(o).toMatchObject({ store: { kind: 'x' }, retention: 1, cluster: 'c', telemetry: { openTelemetry: false, hostAttributes: false }, maxHosts: 5, signatureHeader: 'x-sig' });
    for (const key of OPTION_KEYS.top) expect(() => resolveOptions({ [key]: undefined })).not.toThrow();
  });

  it('suggests a valid key for any one-letter slip of a key of length 5 or more', () => {
    const all = Object.values(OPTION_KEYS).flat().filter((k) => k.length >= 5);
    fc.assert(
      fc.property(fc.constantFrom(...all), fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (key, at, ch) => {
        const i = at % key.length;
        const slipped = key.slice(0, i) + ch + key.slice(i + 1);
        const level = Object.values(OPTION_KEYS).find((keys) => (keys as readonly string[]).includes(key))!;
        const guess = nearest(slipped, level);
        expect(guess).toBeDefined();
        expect(editDistance(slipped, guess!)).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('numeric options', () => {
  /** Every numeric option and its documented range. */
  const NUMERIC: [string, (v: unknown) => unknown, number, number][] = [
    ['concurrency', (v) => ({ concurrency: v }), 1, LIMITS.concurrency],
    ['queueCapacity', (v) => ({ queueCapacity: v }), 1, LIMITS.count],
    ['hosts[…].concurrency', (v) => ({ hosts: { 'https://a.example': { concurrency: v } } }), 1, LIMITS.concurrency],
    ['rateLimit.perSecond', (v) => ({ rateLimit: { perSecond: v } }), 0.01, LIMITS.perSecond],
    ['rateLimit.burst', (v) => ({ rateLimit: { perSecond: 1, burst: v } }), 0, LIMITS.perSecond],
    ['breaker.failureThreshold', (v) => ({ breaker: { failureThreshold: v } }), 1, LIMITS.count],
    ['breaker.cooldownMs', (v) => ({ breaker: { cooldownMs: v } }), 1, LIMITS.cooldownMs],
    ['retry.attempts', (v) => ({ retry: { attempts: v } }), 1, LIMITS.count],
    ['retry.baseDelayMs', (v) => ({ retry: { baseDelayMs: v } }), 0, LIMITS.timerMs],
    ['retry.maxDelayMs', (v) => ({ retry: { maxDelayMs: v } }), 0, LIMITS.timerMs],
    ['retry.maxRetryAfterMs', (v) => ({ retry: { maxRetryAfterMs: v } }), 0, LIMITS.timerMs],
    ['timeoutMs', (v) => ({ timeoutMs: v }), 1, LIMITS.timerMs],
    ['ttlMs', (v) => ({ ttlMs: v }), 1, LIMITS.longWaitMs],
    ['maxPayloadBytes', (v) => ({ maxPayloadBytes: v }), 1, LIMITS.maxPayloadBytes],
    ['idleTimeoutMs', (v) => ({ idleTimeoutMs: v }), 1, LIMITS.timerMs],
    ['responseBodyBytes', (v) => ({ responseBodyBytes: v }), 0, LIMITS.responseBodyBytes],
    ['maxHosts', (v) => ({ maxHosts: v }), 1, LIMITS.count],
  ];

  it.each(NUMERIC)('%s refuses NaN, -Infinity, strings, -0, out-of-range and huge values, and accepts its bounds', (_name, make, min, max) => {
    for (const bad of [NaN, -Infinity, '5', -0, -1, min - 0.5, max + 1, 2 ** 53, 1e300, null, {}]) {
      if (bad === -0 && min > 0) continue; // below the minimum anyway; the -0 case is the zero-minimum options'
      expect(refusal(() => resolveOptions(make(bad))), `${String(bad)}`).toMatchObject({ code: 'WD_INVALID_OPTIONS' });
    }
    expect(() => resolveOptions(make(min))).not.toThrow();
    expect(() => resolveOptions(make(max))).not.toThrow();
  });

  it('refuses durations that would be one timer of 2^31 ms or more (Node fires those after 1 ms)', () => {
    for (const make of [(v: number) => ({ timeoutMs: v }), (v: number) => ({ idleTimeoutMs: v }), (v: number) => ({ retry: { maxDelayMs: v } }), (v: number) => ({ retry: { maxRetryAfterMs: v } }), (v: number) => ({ retry: { baseDelayMs: v } })]) {
      expect(refusal(() => resolveOptions(make(2 ** 31))).message).toContain('to 2_147_483_647');
    }
    // The breaker adds up to 20% to its cooldown.
    expect(LIMITS.cooldownMs * 1.2).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  it('allows a ttlMs and a close timeout longer than one timer, up to 365 days', () => {
    expect(resolveOptions({ ttlMs: 30 * DAY }).ttlMs).toBe(30 * DAY);
    expect(resolveOptions({ ttlMs: 365 * DAY }).ttlMs).toBe(365 * DAY);
    expect(refusal(() => resolveOptions({ ttlMs: 366 * DAY })).message).toBe('Expected `ttlMs` to be an integer from 1 to 31_536_000_000, got `31622400000` (number)');
    expect(resolveCloseOptions({ timeoutMs: 30 * DAY }).timeoutMs).toBe(30 * DAY);
    expect(() => resolveCloseOptions({ timeoutMs: 366 * DAY })).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS' }));
  });

  it('takes Infinity as "no cap" for maxHosts', () => {
    expect(resolveOptions({ maxHosts: Infinity }).maxHosts).toBe(Infinity);
    expect(resolveOptions({ maxHosts: 3 }).maxHosts).toBe(3);
  });
});

describe('string options', () => {
  it.each([
    ['x-signature', true],
    ['x-webhook-signature', true],
    ['X-Signature', false],
    ['x signature', false],
    ['', false],
    ['content-type', false],
    ['host', false],
    ['user-agent', false],
    ['x-webhook-id', false],
    ['webhook-signature', false],
    ['proxy-authorization', false],
    ['x'.repeat(65), false],
    [5, false],
  ])('signatureHeader %j accepted: %s', (value, ok) => {
    if (ok) expect(resolveOptions({ signatureHeader: value }).signatureHeader).toBe(value);
    else expect(refusal(() => resolveOptions({ signatureHeader: value }))).toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('lower-case HTTP token') });
  });

  it('refuses a userAgent undici would refuse, and one over 8 KiB', () => {
    for (const bad of ['a\x01b', 'a\x7fb', 'a\rb', 'naïve ☃', 'x'.repeat(8193), 7]) {
      expect(refusal(() => resolveOptions({ userAgent: bad }))).toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('userAgent') });
    }
    expect(resolveOptions({ userAgent: 'naïve/1.0\t(tab ok)' }).userAgent).toBe('naïve/1.0\t(tab ok)');
  });
});

describe('unreadable and inherited options', () => {
  const boom = new Error('getter exploded');
  const throwing = (key: string) => Object.defineProperty({}, key, { enumerable: true, get: () => { throw boom; } });

  it.each([
    ['a top-level getter', () => throwing('concurrency'), 'concurrency'],
    ['a nested getter', () => ({ retry: throwing('attempts') }), 'retry.attempts'],
    ['a hosts entry getter', () => ({ hosts: throwing('https://a.example') }), 'hosts.https://a.example'],
    ['an allowedNetworks element getter', () => ({ allowedNetworks: Object.defineProperty([], 0, { get: () => { throw boom; } }) }), 'allowedNetworks'],
    ['a Proxy whose ownKeys throws', () => new Proxy({}, { ownKeys: () => { throw boom; } }), 'options'],
    ['a Proxy whose get throws', () => new Proxy({ concurrency: 1 }, { get: () => { throw boom; } }), 'concurrency'],
  ])('%s gives WD_INVALID_OPTIONS with the error as cause', (_name, make, where) => {
    const error = refusal(() => new Dispatcher(make() as never));
    expect(error).toMatchObject({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining(`\`${where}\` to be readable`), cause: boom });
  });

  it('close options with a throwing getter give WD_INVALID_OPTIONS', async () => {
    const d = new Dispatcher();
    await expect(d.close(throwing('drain') as never)).rejects.toMatchObject({ code: 'WD_INVALID_OPTIONS', cause: boom });
    await d.close();
  });

  it('a revoked Proxy gives WD_INVALID_OPTIONS', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(refusal(() => new Dispatcher(proxy as never))).toMatchObject({ code: 'WD_INVALID_OPTIONS' });
  });

  it('reads own properties only: a polluted Object.prototype.allowPrivateNetworks does not open loopback', async () => {
    const proto = Object.prototype as Record<string, unknown>;
    let d: Dispatcher | undefined;
    try {
      proto.allowPrivateNetworks = true;
      proto.allowedNetworks = ['127.0.0.0/8'];
      proto.retry = { attempts: 0 };
      d = new Dispatcher({});
      await expect(d.send({ url: 'http://127.0.0.1:9/hook', secret: newSecret() }, { type: 't', data: 1 })).rejects.toMatchObject({ code: 'WD_BLOCKED_DESTINATION' });
    } finally {
      delete proto.allowPrivateNetworks;
      delete proto.allowedNetworks;
      delete proto.retry;
    }
    await d?.close();
  });
});
