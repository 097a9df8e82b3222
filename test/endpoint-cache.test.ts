import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../src/security/address-policy.js';
import { EndpointResolver } from '../src/model/endpoint.js';
import { EndpointCache } from '../src/model/endpoint-cache.js';
import { verifyWebhook } from '../src/index.js';
import { newSecret, refusal, scoped } from './helpers.js';

const secret = newSecret();
const resolver = (allowPrivate = false) => new EndpointResolver('standard-webhooks', new AddressPolicy(allowPrivate, []), false);
/** A copy of `text` that is another string object, as a row read from a database gives. */
const copy = (text: string) => (' ' + text).slice(1);
const scopedOnce = scoped();

describe('a new endpoint object with content already seen', () => {
  it('resolves to the same resolved endpoint, without parsing or decoding again', () => {
    const r = resolver();
    const first = r.resolve({ url: 'https://example.com/hook?a=1', secret, headers: { 'x-tenant': 't1' } });
    for (let i = 0; i < 5; i++) {
      expect(r.resolve({ url: copy('https://example.com/hook?a=1'), secret: copy(secret), headers: { 'x-tenant': copy('t1') } })).toBe(first);
    }
    // A one-element array holds the same content as the string.
    expect(r.resolve({ url: 'https://example.com/hook?a=1', secret: [secret], headers: { 'x-tenant': 't1' } })).toBe(first);
    expect(r.cached).toEqual({ urls: 1, endpoints: 1 });
  });

  it.each([
    ['another secret', { secret: newSecret() }],
    ['another rotation list', { secret: [secret, newSecret()] }],
    ['the same secrets in another order', { secret: [newSecret(), secret] }],
    ['another header value', { headers: { 'x-tenant': 't2' } }],
    ['another header name', { headers: { 'x-other': 't1' } }],
    ['one header more', { headers: { 'x-tenant': 't1', 'x-more': '1' } }],
    ['no header', { headers: undefined }],
    ['another url', { url: 'https://example.com/hook?a=2' }],
    ['another scheme', { signature: 'timestamped-hex' }],
  ])('is resolved afresh for %s, and that content is what is sent', (_name, change) => {
    const r = resolver();
    const base = { url: 'https://example.com/hook?a=1', secret, headers: { 'x-tenant': 't1' } as Record<string, string> | undefined };
    const first = r.resolve({ ...base });
    const changed = { ...base, ...change } as Record<string, unknown>;
    const second = r.resolve(changed);
    expect(second).not.toBe(first);
    const secrets = Array.isArray(changed.secret) ? changed.secret : [changed.secret];
    expect(second.secrets()).toEqual(secrets);
    expect(second.headers).toEqual(Object.entries((changed.headers as object | undefined) ?? {}).flat());
    expect(second.url).toBe(changed.url);
    expect(second.scheme).toBe(changed.signature ?? 'standard-webhooks');
    // And the first content is still what it was.
    expect(r.resolve({ ...base })).toBe(first);
  });

  it('an endpoint rate limit is part of the content: a new limit gives a new resolved endpoint with that limit', () => {
    const r = resolver();
    const url = 'https://example.com/hooks';
    const none = r.resolve({ url, secret });
    const slow = r.resolve({ url, secret, rateLimit: { perSecond: 1 } });
    const fast = r.resolve({ url, secret, rateLimit: { perSecond: 50, burst: 5 } });
    expect(none.rateLimit).toBeUndefined();
    expect(slow).not.toBe(none);
    expect(slow.rateLimit).toMatchObject({ perSecond: 1 });
    expect(fast.rateLimit).toEqual({ perSecond: 50, burst: 5 });
    // Each content again, from new objects: never another content's limit (the three share a
    // key in the content memo, so the last one remembered is served and the others are misses).
    expect(r.resolve({ url, secret, rateLimit: { perSecond: 1 } }).rateLimit).toMatchObject({ perSecond: 1 });
    expect(r.resolve({ url, secret }).rateLimit).toBeUndefined();
    expect(r.resolve({ url, secret, rateLimit: { perSecond: 50, burst: 5 } }).rateLimit).toEqual({ perSecond: 50, burst: 5 });
  });

  it('sends each new object with its own content: a changed header or secret takes effect at the next send', async () => {
    const rx = await scopedOnce.receiver();
    const d = scopedOnce.dispatcher();
    const rotated = newSecret();
    const rows = [
      { token: 'Bearer a', secret },
      { token: 'Bearer b', secret },
      { token: 'Bearer a', secret: rotated },
      { token: 'Bearer a', secret },
    ];
    for (const [i, row] of rows.entries()) {
      await d.send({ url: rx.url(), secret: copy(row.secret), headers: { authorization: copy(row.token) } }, { type: 't', data: i });
      await d.onIdle();
    }
    expect(rx.requests.map((q) => q.headers.authorization)).toEqual(rows.map((row) => row.token));
    for (const [i, q] of rx.requests.entries()) {
      const other = rows[i]!.secret === secret ? rotated : secret;
      expect(verifyWebhook(q.body, q.headers, rows[i]!.secret).data).toBe(i);
      expect(() => verifyWebhook(q.body, q.headers, other)).toThrow(expect.objectContaining({ code: 'WD_VERIFICATION_FAILED' }));
    }
  });
});

describe('refusals are never remembered', () => {
  it('a refused URL, secret or header is refused again, the same way, and nothing is cached for it', () => {
    const r = resolver();
    const bad = [
      { url: 'http://10.0.0.1/hook', secret },
      { url: 'https://localhost/hook', secret },
      { url: 'https://example.com/hook', secret: 'whsec_short' },
      { url: 'https://example.com/hook', secret, headers: { 'x-a': 'bad\n' } },
      { url: 'https://example.com/hook', secret, headers: { 'webhook-id': 'mine' } },
    ];
    // The URL of the last three is valid: once it is remembered, their secret and headers are still checked.
    r.resolve({ url: 'https://example.com/hook', secret });
    for (const endpoint of bad) {
      const first = refusal(() => r.resolve({ ...endpoint }));
      const again = refusal(() => r.resolve({ ...endpoint }));
      expect([again.code, again.message]).toEqual([first.code, first.message]);
      expect(refusal(() => resolver().resolve({ ...endpoint })).message).toBe(first.message);
    }
    expect(refusal(() => r.resolve({ url: 'http://10.0.0.1/hook', secret })).code).toBe('WD_BLOCKED_DESTINATION');
    expect(r.cached).toEqual({ urls: 1, endpoints: 1 });
  });

  it('a new object runs the same getters, in the same order, with a warm cache as with a cold one', () => {
    const log: string[] = [];
    const traced = (target: object, name: string): object =>
      new Proxy(target, {
        get: (t, key, receiver) => (log.push(`${name}.get ${String(key)}`), Reflect.get(t, key, receiver)),
        getOwnPropertyDescriptor: (t, key) => (log.push(`${name}.own ${String(key)}`), Reflect.getOwnPropertyDescriptor(t, key)),
        ownKeys: (t) => (log.push(`${name}.keys`), Reflect.ownKeys(t)),
        has: (t, key) => (log.push(`${name}.has ${String(key)}`), Reflect.has(t, key)),
      });
    const make = () => traced({ url: 'https://example.com/hook', secret: traced([secret], 'secret'), headers: traced({ 'x-a': '1' }, 'headers') }, 'endpoint');
    const reads = (r: EndpointResolver) => {
      log.length = 0;
      r.resolve(make());
      return [...log];
    };
    const cold = reads(resolver());
    const warm = resolver();
    reads(warm);
    expect(reads(warm)).toEqual(cold);
    expect(cold.length).toBeGreaterThan(4);
  });

  it('hostile objects with content already seen give the same errors as with a cold cache', () => {
    const boom = new Error('getter exploded');
    const thrower = (o: object, key: string) => Object.defineProperty(o, key, { enumerable: true, get: () => { throw boom; } });
    const hostile = [
      () => thrower({ url: 'https://example.com/hook' }, 'secret'),
      () => ({ url: 'https://example.com/hook', secret, headers: thrower({}, 'x-a') }),
      () => ({ url: 'https://example.com/hook', secret: thrower([secret], '0') }),
      // The URL is refused before the headers are read: their getter never runs.
      () => ({ url: 'ftp://example.com/hook', secret, headers: thrower({}, 'x-a') }),
      () => new Proxy({ url: 'https://example.com/hook', secret }, { getOwnPropertyDescriptor: () => { throw boom; } }),
    ];
    const warm = resolver();
    warm.resolve({ url: 'https://example.com/hook', secret });
    warm.resolve({ url: 'https://example.com/hook', secret, headers: { 'x-a': '1' } });
    for (const make of hostile) {
      const cold = refusal(() => resolver().resolve(make()));
      const hot = refusal(() => warm.resolve(make()));
      expect([hot.code, hot.message, hot.cause]).toEqual([cold.code, cold.message, cold.cause]);
    }
  });
});

describe('bounds and secrecy', () => {
  it('holds at most its capacity, forgetting the oldest first', () => {
    const cache = new EndpointCache(3);
    const r = resolver();
    const resolved = Array.from({ length: 5 }, (_, i) => r.resolve({ url: `https://example.com/${i}`, secret }));
    for (const e of resolved) cache.remember(e);
    expect(cache.size.endpoints).toBe(3);
    expect(cache.endpoint('https://example.com/0', 'standard-webhooks', [], [secret], undefined)).toBeUndefined();
    expect(cache.endpoint('https://example.com/4', 'standard-webhooks', [], [secret], undefined)).toBe(resolved[4]);
    // The endpoint's rate limit is part of its content.
    expect(cache.endpoint('https://example.com/4', 'standard-webhooks', [], [secret], { perSecond: 1, burst: 1 })).toBeUndefined();
    for (let i = 0; i < 5; i++) cache.rememberUrl(`https://example.com/${i}`, { href: `https://example.com/${i}`, origin: 'https://example.com', path: `/${i}` });
    expect(cache.size.urls).toBe(3);
  });

  it('holds at most its budget of characters: an endpoint too large for it is resolved every time, correctly', () => {
    const cache = new EndpointCache(100, 1_000);
    const r = resolver();
    const big = r.resolve({ url: 'https://example.com/big', secret, headers: { 'x-big': 'v'.repeat(2_000) } });
    cache.remember(big);
    expect(cache.size.endpoints).toBe(0);
    const small = Array.from({ length: 20 }, (_, i) => r.resolve({ url: `https://example.com/${i}`, secret }));
    for (const e of small) cache.remember(e);
    expect(cache.size.endpoints).toBeLessThan(20);
    expect(cache.size.endpoints).toBeGreaterThan(0);
  });

  it("a dispatcher's resolver holds at most 10,000 endpoints", () => {
    const r = resolver();
    for (let i = 0; i < 10_050; i++) r.resolve({ url: `https://example.com/${i % 10}`, secret: newSecret() });
    expect(r.cached).toEqual({ urls: 10, endpoints: 10_000 });
  });

  it('shows no secret and no header value when the resolver is inspected or serialized', () => {
    const r = resolver();
    const token = 'tok_live_do_not_leak';
    r.resolve({ url: 'https://example.com/hook', secret, headers: { authorization: `Bearer ${token}` } });
    const dump = [inspect(r, { showHidden: true, depth: Infinity }), inspect(r, { customInspect: false, showHidden: true, depth: Infinity }), JSON.stringify(r), String(r), JSON.stringify(r.cached)].join('\n');
    for (const text of [secret, secret.slice('whsec_'.length), token]) expect(dump).not.toContain(text);
  });
});
