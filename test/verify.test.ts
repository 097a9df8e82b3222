import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { verifyWebhook, type VerifyOptions, type WebhookEnvelope } from '../src/index.js';
import { newSecret, scoped, signatureHeaders } from './helpers.js';

// Every comparison goes through the real timingSafeEqual; the spy only counts.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const now = 1_800_000_000_000;
const ts = now / 1000;
const at = { now: () => now };
const envelope = { id: 'evt_1', type: 'invoice.paid', timestamp: '2027-01-15T08:00:00.000Z', data: { amount: 42 } };
const body = Buffer.from(JSON.stringify(envelope));
const VERIFICATION = { code: 'WD_VERIFICATION_FAILED' };
const OPTIONS = { code: 'WD_INVALID_OPTIONS' };

function signed(secrets: string | string[], unix = ts, payload: Buffer = body, id = 'evt_1'): Record<string, string> {
  return signatureHeaders(secrets, unix, payload, id);
}

/** The thrown error, for asserting on its code, message and cause together. */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

const secret = newSecret();
const headers = signed(secret);
const { receiver, dispatcher } = scoped();

describe('verifyWebhook returns the envelope', () => {
  it('parsed from the verified body, typed by the caller', () => {
    const result: WebhookEnvelope<{ amount: number }> = verifyWebhook<{ amount: number }>(body, headers, secret, at);
    expect(result).toEqual(envelope);
    expect(result.data.amount).toBe(42);
    expect(verifyWebhook(new Uint8Array(body), headers, secret, at)).toEqual(envelope);
    expect(verifyWebhook(body.toString(), headers, secret, at)).toEqual(envelope);
  });

  it.each([
    ['not JSON', 'hello', /not a webhook envelope.*JSON/],
    ['a JSON array', '[1,2]', /got an array/],
    ['JSON null', 'null', /got `null`/],
    ['no timestamp', JSON.stringify({ id: 'a', type: 't', data: 1 }), /`timestamp` to be a string, got `undefined`/],
    ['a numeric id', JSON.stringify({ id: 1, type: 't', timestamp: 'x', data: 1 }), /`id` to be a string, got `1` \(number\)/],
    ['no data', JSON.stringify({ id: 'a', type: 't', timestamp: 'x' }), /`data` is missing/],
  ])('or refuses a signed body that is %s, with the reason', (_name, text, reason) => {
    const error = thrown(() => verifyWebhook(text, signed(secret, ts, Buffer.from(text)), secret, at));
    expect(error).toMatchObject(VERIFICATION);
    expect(error.message).toMatch(/is signed but/);
    expect(error.message).toMatch(reason);
  });

  it('refuses a signed body that is not UTF-8, with the decoder error as cause', () => {
    const bad = Buffer.from([0x7b, 0xff, 0x7d]);
    const error = thrown(() => verifyWebhook(bad, signed(secret, ts, bad), secret, at));
    expect(error).toMatchObject(VERIFICATION);
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('never reads an envelope field from a polluted Object.prototype', () => {
    const partial = Buffer.from(JSON.stringify({ type: 't', timestamp: 'x', data: 1 }));
    Object.defineProperty(Object.prototype, 'id', { value: 'evt_forged', configurable: true, writable: true });
    try {
      expect(() => verifyWebhook(partial, signed(secret, ts, partial), secret, at)).toThrow(/`id` to be a string, got `undefined`/);
    } finally {
      delete (Object.prototype as { id?: unknown }).id;
    }
  });

  it('does not parse a body whose signature fails', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(() => verifyWebhook('{"id":', headers, secret, at)).toThrow('no signature matches');
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });
});

describe('what a receiver decides', () => {
  it('refuses replays outside the tolerance and timestamps from the future, at the edges', () => {
    expect(verifyWebhook(body, signed(secret, ts - 300), secret, at).id).toBe('evt_1');
    expect(() => verifyWebhook(body, signed(secret, ts - 301), secret, at)).toThrow('timestamp too old');
    expect(verifyWebhook(body, signed(secret, ts + 300), secret, at).id).toBe('evt_1');
    expect(() => verifyWebhook(body, signed(secret, ts + 301), secret, at)).toThrow('in the future');
    expect(() => verifyWebhook(body, signed(secret, ts - 1), secret, { ...at, toleranceSeconds: 0 })).toThrow('too old');
    expect(verifyWebhook(body, signed(secret, ts - 3600), secret, { ...at, toleranceSeconds: 3600 }).id).toBe('evt_1');
  });

  it('verifies when any one signature entry matches any one secret (rotation on both sides)', () => {
    const [a, b, c] = [newSecret(), newSecret(), newSecret()];
    const both = signed([a, b]);
    expect(verifyWebhook(body, both, b, at).id).toBe('evt_1');
    expect(verifyWebhook(body, both, [c, a], at).id).toBe('evt_1');
    expect(() => verifyWebhook(body, both, [c], at)).toThrow('no signature matches');
  });

  it('compares every candidate against every key in full, with no early exit, and never across lengths', () => {
    const spy = vi.mocked(crypto.timingSafeEqual);
    const [a, b] = [newSecret(), newSecret()];
    const value = `${signed(a)['webhook-signature']} ${signed(newSecret())['webhook-signature']} ${signed(newSecret())['webhook-signature']} v1,AAAA`;
    spy.mockClear();
    verifyWebhook(body, { ...headers, 'webhook-signature': value }, [a, b], at);
    // The first candidate matches the first key, yet 3 well-formed candidates × 2 keys all run;
    // the malformed `v1,AAAA` is never compared (its length would throw).
    expect(spy).toHaveBeenCalledTimes(6);
    for (const [x, y] of spy.mock.calls) expect((x as Buffer).length).toBe((y as Buffer).length);
  });

  it('treats a one-element header array as the header, and refuses repeated headers as ambiguous', () => {
    const asArrays = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
    expect(verifyWebhook(body, asArrays, secret, at).id).toBe('evt_1');
    const other = signed(newSecret())['webhook-signature']!;
    expect(() => verifyWebhook(body, { ...headers, 'webhook-signature': [headers['webhook-signature']!, other] }, secret, at)).toThrow('`webhook-signature` was given more than once');
    expect(() => verifyWebhook(body, { ...headers, 'Webhook-Id': 'evt_2' }, secret, at)).toThrow('`webhook-id` was given more than once');
    expect(() => verifyWebhook(body, { ...headers, 'webhook-id': [] }, secret, at)).toThrow('missing webhook-id');
  });

  it('reads headers from a fetch Headers and from a real Node request', async () => {
    expect(verifyWebhook(body, new Headers(headers), secret, at).id).toBe('evt_1');
    const r = await receiver();
    const d = dispatcher();
    const s = newSecret();
    await d.send({ url: r.url(), secret: s }, { type: 'invoice.paid', data: { amount: 42 }, id: 'evt_9' });
    await d.onIdle();
    const req = r.requests[0]!;
    expect(verifyWebhook(req.body, req.headers, s)).toEqual({ id: 'evt_9', type: 'invoice.paid', timestamp: expect.any(String), data: { amount: 42 } });
  });
});

describe('timestamped-hex and Stripe-style headers', () => {
  const stripeSecret = 'whsec_test_stripe_style_secret';
  const hmacHex = (t: number, key = stripeSecret): string => crypto.createHmac('sha256', key).update(`${t}.${body.toString()}`).digest('hex');
  const hex = { ...at, signature: 'timestamped-hex' } as const;

  it('verifies a stripe-signature header made by hand per Stripe\'s scheme, v0 and extra v1 entries included', () => {
    const value = `t=${ts},v1=${hmacHex(ts, 'rolled-secret')},v1=${hmacHex(ts)},v0=${'0'.repeat(64)}`;
    const options: VerifyOptions = { ...hex, header: 'Stripe-Signature' };
    expect(verifyWebhook(body, { 'stripe-signature': value }, stripeSecret, options)).toEqual(envelope);
    expect(verifyWebhook(body, new Headers({ 'Stripe-Signature': value }), stripeSecret, options).id).toBe('evt_1');
    expect(() => verifyWebhook(body, { 'stripe-signature': value }, stripeSecret, hex)).toThrow('missing x-webhook-signature');
  });

  it.each([
    ['a stale t', `t=${ts - 301},v1=${hmacHex(ts - 301)}`, 'too old'],
    ['two t entries', `t=${ts},t=${ts - 1000},v1=${hmacHex(ts)}`, 'more than one t='],
    ['no t', `v1=${hmacHex(ts)}`, 'missing timestamp'],
    ['upper-case hex', `t=${ts},v1=${hmacHex(ts).toUpperCase()}`, 'no signature matches'],
    ['junk after the hex', `t=${ts},v1=${hmacHex(ts)}!!`, 'no signature matches'],
    ['a v0 entry only', `t=${ts},v0=${hmacHex(ts)}`, 'no v1 signature'],
    ['a signature over another t', `t=${ts},v1=${hmacHex(ts - 1)}`, 'no signature matches'],
  ])('refuses %s', (_name, value, reason) => {
    expect(() => verifyWebhook(body, { 'x-webhook-signature': value }, stripeSecret, hex)).toThrow(reason);
  });
});

describe('the receiver\'s own options and secret: WD_INVALID_OPTIONS', () => {
  it.each<[string, unknown, RegExp]>([
    ['NaN tolerance (an unset env var)', { toleranceSeconds: Number(undefined) }, /Expected `toleranceSeconds` to be a finite number >= 0, got `NaN` \(number\)/],
    ['an object tolerance', { toleranceSeconds: {} }, /got an object/],
    ['a string tolerance', { toleranceSeconds: '300' }, /got `"300"` \(string\)/],
    ['a negative tolerance', { toleranceSeconds: -1 }, /got `-1`/],
    ['an infinite tolerance', { toleranceSeconds: Infinity }, /got `Infinity`/],
    ['a null tolerance', { toleranceSeconds: null }, /got `null`/],
    ['a mistyped scheme', { signature: 'standard_webhooks' }, /Expected `signature` to be `'standard-webhooks'` or `'timestamped-hex'`/],
    ['an unknown key', { tolerance: 300 }, /Unknown verifyWebhook option `tolerance`/],
    ['a header with standard-webhooks', { header: 'stripe-signature' }, /`header` to be given only with `signature: 'timestamped-hex'`/],
    ['a header that is no token', { signature: 'timestamped-hex', header: 'bad header' }, /`header` to be a header name/],
    ['a clock that is no function', { now: 5 }, /`now` to be a function/],
    ['a clock that returns NaN', { now: () => Number.NaN }, /`now\(\)` to be milliseconds/],
    ['null options', null, /Expected `options` to be an object, got `null`/],
    ['array options', [], /got an array/],
  ])('refuses %s', (_name, options, message) => {
    const error = thrown(() => verifyWebhook(body, headers, secret, options as VerifyOptions));
    expect(error).toMatchObject(OPTIONS);
    expect(error.message).toMatch(message);
  });

  it('keeps the underlying error as cause when an option getter, a Proxy trap or the clock throws', () => {
    const boom = new Error('boom');
    const getter = Object.defineProperty({}, 'toleranceSeconds', { enumerable: true, get: () => { throw boom; } });
    const proxy = new Proxy({}, { ownKeys: () => { throw boom; } });
    for (const options of [getter, proxy, { now: () => { throw boom; } }]) {
      expect(thrown(() => verifyWebhook(body, headers, secret, options as VerifyOptions))).toMatchObject({ ...OPTIONS, cause: boom });
    }
  });

  it('reads own keys only: a polluted Object.prototype changes neither options nor headers', () => {
    // A planted `get` would make every plain record look like a Headers object.
    const planted = { toleranceSeconds: 1e12, signature: 'timestamped-hex', header: 'webhook-id', now: () => 0, get: () => 'x', 'webhook-id': 'evt_forged' };
    const outcomes: unknown[] = [];
    try {
      // Null-prototype descriptors: an ordinary one would inherit the planted `get`.
      for (const [k, v] of Object.entries(planted)) Object.defineProperty(Object.prototype, k, { __proto__: null, value: v, configurable: true, writable: true } as PropertyDescriptor);
      // Assertions wait until the prototype is clean: the test runner itself reads descriptors.
      outcomes.push(verifyWebhook(body, { ...headers }, secret, { ...at }).id);
      outcomes.push(thrown(() => verifyWebhook(body, signed(secret, ts - 301), secret, { ...at })).message);
      const { 'webhook-id': _, ...noId } = headers;
      outcomes.push(thrown(() => verifyWebhook(body, noId, secret, at)).message);
    } finally {
      for (const k of Object.keys(planted)) delete (Object.prototype as Record<string, unknown>)[k];
    }
    expect(outcomes).toEqual(['evt_1', expect.stringContaining('too old'), expect.stringContaining('missing webhook-id')]);
  });

  it.each<[string, unknown, RegExp]>([
    ['null', null, /`secret` to be a non-empty string, got `null`/],
    ['a number', 42, /got `42` \(number\)/],
    ['an empty list', [], /1 to 8 secrets, got 0/],
    ['nine secrets', Array.from({ length: 9 }, () => newSecret()), /1 to 8 secrets, got 9/],
    ['a bad entry in a list', [newSecret(), 5], /`secret\[1\]` to be a non-empty string/],
    ['junk', 'whsec_this-is-secret!', /outside base64/],
    ['a trailing newline', `${newSecret(24)}\n`, /outside base64/],
  ])('refuses a secret that is %s, without quoting it', (_name, bad, message) => {
    const error = thrown(() => verifyWebhook(body, headers, bad as string, at));
    expect(error).toMatchObject(OPTIONS);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('this-is-secret');
  });

  it('reports a secret list whose reading throws as WD_INVALID_OPTIONS with the cause', () => {
    const boom = new Error('boom');
    const list = new Proxy([secret], { get: (t, k) => (k === '0' ? (() => { throw boom; })() : Reflect.get(t, k)) });
    expect(thrown(() => verifyWebhook(body, headers, list, at))).toMatchObject({ ...OPTIONS, cause: boom });
  });
});

describe('hostile request input: WD_VERIFICATION_FAILED, never a raw throw', () => {
  const boom = new Error('boom');
  it.each<[string, unknown, RegExp]>([
    ['a numeric id', { ...headers, 'webhook-id': 5 }, /header `webhook-id` to be a string, got `5` \(number\)/],
    ['an array of numbers', { ...headers, 'webhook-signature': [1, 2] }, /got `1` \(number\)/],
    ['an object value', { ...headers, 'webhook-timestamp': { toString: () => String(ts) } }, /got an object/],
    ['null headers', null, /headers to be an object/],
    ['string headers', 'webhook-id: x', /headers to be an object/],
  ])('refuses %s', (_name, bad, message) => {
    const error = thrown(() => verifyWebhook(body, bad as Record<string, string>, secret, at));
    expect(error).toMatchObject(VERIFICATION);
    expect(error.message).toMatch(message);
  });

  it.each<[string, () => unknown]>([
    ['a throwing getter', () => Object.defineProperty({ ...headers }, 'webhook-id', { enumerable: true, get: () => { throw boom; } })],
    ['a Proxy whose ownKeys throws', () => new Proxy({ ...headers }, { ownKeys: () => { throw boom; } })],
    ['a Proxy whose get throws', () => new Proxy({ ...headers }, { get: () => { throw boom; } })],
    ['a Headers-like whose get throws', () => ({ get: () => { throw boom; } })],
  ])('refuses %s, with the error as cause', (_name, make) => {
    expect(thrown(() => verifyWebhook(body, make() as Record<string, string>, secret, at))).toMatchObject({ ...VERIFICATION, cause: boom });
  });

  it('refuses a revoked Proxy and a body that is not bytes', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(thrown(() => verifyWebhook(body, proxy, secret, at))).toMatchObject({ ...VERIFICATION, cause: expect.any(TypeError) });
    expect(() => verifyWebhook(JSON.parse(body.toString()) as string, headers, secret, at)).toThrow(/body to be the raw bytes received/);
  });
});
