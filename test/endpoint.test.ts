import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../src/security/address-policy.js';
import { EndpointResolver, ResolvedEndpoint } from '../src/model/endpoint.js';
import { MAX_HEADER_VALUE_LENGTH } from '../src/core/http-fields.js';
import { newSecret, scoped, refusal } from './helpers.js';

/** undici's own check, the one a request's headers meet at dispatch. */
const { isValidHeaderValue } = createRequire(import.meta.url)('undici/lib/core/util.js') as { isValidHeaderValue: (value: string) => boolean };

const secret = newSecret();
const scopedOnce = scoped();
const resolver = (scheme: 'standard-webhooks' | 'timestamped-hex' = 'standard-webhooks', signatureHeader?: string) =>
  new EndpointResolver(scheme, new AddressPolicy(false, []), false, signatureHeader);


const withHeader = (value: string) => ({ url: 'https://example.com/', secret, headers: { 'x-a': value } });

describe('header values are checked as undici checks them', () => {
  /** Strings rich in what undici cares about: controls, DEL, Latin-1, beyond U+00FF, surrogates. */
  const value = fc.string({
    unit: fc.oneof(fc.integer({ min: 0, max: 0x20 }), fc.integer({ min: 0x7e, max: 0x100 }), fc.integer({ min: 0, max: 0xffff })).map((c) => String.fromCharCode(c)),
    maxLength: 20,
  });

  it('accepts a value exactly when undici would send it (up to the length cap)', () => {
    const r = resolver();
    fc.assert(
      fc.property(value, (v) => {
        let accepted = true;
        try {
          r.resolve(withHeader(v));
        } catch (error) {
          expect(error).toMatchObject({ code: 'WD_INVALID_ENDPOINT' });
          accepted = false;
        }
        expect(accepted).toBe(isValidHeaderValue(v));
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['a C0 control', 'a\x01b'],
    ['an escape', 'a\x1bb'],
    ['DEL', 'a\x7fb'],
    ['a character above U+00FF', 'caf\u0113'],
    ['an emoji', 'ok 👍'],
    ['a lone CR', 'a\rb'],
    ['a NUL', 'a\0'],
  ])('send refuses %s with WD_INVALID_ENDPOINT, before any attempt, without echoing the value', async (_name, v) => {
    const error = refusal(() => resolver().resolve(withHeader(v)));
    expect(error.code).toBe('WD_INVALID_ENDPOINT');
    expect(error.message).toContain('header `x-a`');
    expect(error.message).not.toContain(v);
  });

  it('sends tab and Latin-1 values as they are', async () => {
    const { receiver, dispatcher } = scopedOnce;
    const r = await receiver();
    const d = dispatcher();
    await d.send({ url: r.url(), secret, headers: { 'x-name': 'Zoë\tSaldaña' } }, { type: 't', data: 1 });
    await d.onIdle();
    // Node's parser reads header bytes as Latin-1.
    expect(r.requests[0]!.headers['x-name']).toBe('Zoë\tSaldaña');
  });
});

describe('header and URL limits', () => {
  it('refuses a header value over 8 KiB', () => {
    expect(() => resolver().resolve(withHeader('v'.repeat(MAX_HEADER_VALUE_LENGTH)))).not.toThrow();
    expect(refusal(() => resolver().resolve(withHeader('v'.repeat(MAX_HEADER_VALUE_LENGTH + 1)))).message).toBe('Expected header `x-a` to be at most 8192 characters, got 8193');
  });

  it('refuses more than 64 headers, and more than 16 KiB of headers in all', () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`x-h${i}`, 'v']));
    expect(refusal(() => resolver().resolve({ url: 'https://example.com/', secret, headers: many })).message).toBe('Expected `headers` to hold at most 64 headers, got 65');
    const big = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`x-h${i}`, 'v'.repeat(6000)]));
    expect(refusal(() => resolver().resolve({ url: 'https://example.com/', secret, headers: big })).message).toContain('at most 16384 characters of names and values in all');
  });

  it('refuses a URL over 8 KiB, also one that percent-encoding makes longer', () => {
    expect(refusal(() => resolver().resolve({ url: `https://example.com/${'a'.repeat(8200)}`, secret })).message).toContain('at most 8192 characters, got 8220 characters');
    expect(refusal(() => resolver().resolve({ url: `https://example.com/${'é'.repeat(2000)}`, secret })).message).toContain('once encoded');
  });

  it('refuses the same header twice, whatever its case', () => {
    expect(refusal(() => resolver().resolve({ url: 'https://example.com/', secret, headers: { 'X-A': '1', 'x-a': '2' } })).message).toContain('`x-a` twice');
  });
});

describe('headers the library owns', () => {
  it.each(['Proxy-Authorization', 'proxy-authenticate', 'Proxy-Connection', 'host', 'transfer-encoding', 'webhook-id'])('refuses %s', (name) => {
    expect(refusal(() => resolver().resolve({ url: 'https://example.com/', secret, headers: { [name]: 'x' } })).message).toBe(`Expected \`headers\` not to set \`${name.toLowerCase()}\`: the dispatcher sets it`);
  });

  it("refuses the configured signatureHeader and the endpoint's own scheme's headers", () => {
    const r = resolver('standard-webhooks', 'x-sig');
    const hex = { url: 'https://example.com/', secret: 'plain', signature: 'timestamped-hex' as const };
    expect(refusal(() => r.resolve({ ...hex, headers: { 'X-Sig': '1' } })).message).toContain('not to set `x-sig`');
    expect(refusal(() => r.resolve({ ...hex, headers: { 'x-webhook-id': '1' } })).message).toContain('not to set `x-webhook-id`');
    // The other scheme's names are free: they mean nothing to this endpoint's receiver.
    expect(r.resolve({ ...hex, headers: { 'webhook-id': '1' } }).headers).toEqual(['webhook-id', '1']);
  });
});

describe('Map and Headers as headers', () => {
  it('reads a Map and a fetch Headers as the headers they hold', async () => {
    const { receiver, dispatcher } = scopedOnce;
    const r = await receiver();
    const d = dispatcher();
    await d.send({ url: r.url(), secret, headers: new Map([['Authorization', 'Bearer map']]) as never }, { type: 't', data: 1 });
    await d.send({ url: r.url(), secret, headers: new Headers({ Authorization: 'Bearer fetch' }) as never }, { type: 't', data: 2 });
    await d.onIdle();
    expect(r.requests.map((q) => q.headers.authorization).sort()).toEqual(['Bearer fetch', 'Bearer map']);
  });

  it('refuses other iterables instead of dropping them', () => {
    expect(refusal(() => resolver().resolve({ url: 'https://example.com/', secret, headers: new URLSearchParams('a=b') as never })).message).toContain('a Map or a Headers');
  });

  it('checks a Map like an object', () => {
    expect(refusal(() => resolver().resolve({ url: 'https://example.com/', secret, headers: new Map([['x-a', 'a\x01']]) as never })).code).toBe('WD_INVALID_ENDPOINT');
    expect(refusal(() => resolver().resolve({ url: 'https://example.com/', secret, headers: new Map([[1, 'v']]) as never })).message).toContain('HTTP tokens');
  });
});

describe('the endpoint cache follows content, not identity', () => {
  it('sends a header changed in place: a revoked token is not sent again', async () => {
    const { receiver, dispatcher } = scopedOnce;
    const r = await receiver();
    const d = dispatcher();
    const endpoint = { url: r.url(), secret, headers: { authorization: 'Bearer revoked' } as Record<string, string> };
    await d.send(endpoint, { type: 't', data: 1 });
    await d.onIdle();
    endpoint.headers.authorization = 'Bearer fresh';
    await d.send(endpoint, { type: 't', data: 2 });
    endpoint.headers['x-added'] = 'yes';
    await d.send(endpoint, { type: 't', data: 3 });
    delete endpoint.headers['x-added'];
    await d.send(endpoint, { type: 't', data: 4 });
    await d.onIdle();
    expect(r.requests.map((q) => [q.headers.authorization, q.headers['x-added']])).toEqual([
      ['Bearer revoked', undefined],
      ['Bearer fresh', undefined],
      ['Bearer fresh', 'yes'],
      ['Bearer fresh', undefined],
    ]);
  });

  it('re-reads a Map changed in place, a secret array changed in place and a changed signature', () => {
    const r = resolver();
    const headers = new Map([['x-a', '1']]);
    const secrets = [newSecret(), newSecret()];
    const endpoint: Record<string, unknown> = { url: 'https://example.com/', secret: secrets, headers };
    const first = r.resolve(endpoint);
    expect(r.resolve(endpoint)).toBe(first);
    headers.set('x-a', '2');
    expect(r.resolve(endpoint).headers).toEqual(['x-a', '2']);
    const second = r.resolve(endpoint);
    secrets[1] = newSecret();
    expect(r.resolve(endpoint).secrets()).toEqual(secrets);
    expect(r.resolve(endpoint)).not.toBe(second);
    endpoint.signature = 'timestamped-hex';
    expect(r.resolve(endpoint).scheme).toBe('timestamped-hex');
  });

  it('refuses a header made invalid in place after it was cached', () => {
    const r = resolver();
    const endpoint = { url: 'https://example.com/', secret, headers: { 'x-a': 'ok' } };
    r.resolve(endpoint);
    endpoint.headers['x-a'] = 'bad\x00';
    expect(refusal(() => r.resolve(endpoint)).code).toBe('WD_INVALID_ENDPOINT');
  });
});

describe('per-endpoint signature scheme', () => {
  it("overrides the dispatcher's scheme, and parses the secret for it", () => {
    const r = resolver('standard-webhooks');
    expect(r.resolve({ url: 'https://example.com/', secret }).scheme).toBe('standard-webhooks');
    const hex = r.resolve({ url: 'https://example.com/', secret: 'any non-empty secret', signature: 'timestamped-hex' } as never);
    expect(hex.scheme).toBe('timestamped-hex');
    expect(refusal(() => resolver('timestamped-hex').resolve({ url: 'https://example.com/', secret: 'plain', signature: 'standard-webhooks' } as never)).message).toContain('whsec_');
  });

  it('refuses an unknown scheme', () => {
    expect(refusal(() => resolver().resolve({ url: 'https://example.com/', secret, signature: 'md5' } as never)).message).toBe(
      "Expected `signature` to be `'standard-webhooks'` or `'timestamped-hex'`, got `\"md5\"` (string)",
    );
  });
});

describe('a resolved endpoint shows no secret and no header value', () => {
  it('in JSON, String, Object.keys, spreading, entries or util.inspect, in any encoding of the key', () => {
    const secrets = [newSecret(), newSecret(48)];
    const hexSecret = 'hex-secret-text-0123456789';
    const token = 'tok_live_do_not_leak';
    const resolved = resolver().resolve({ url: 'https://example.com/hook?x=1', secret: secrets, headers: { authorization: `Bearer ${token}`, 'x-tenant': 'tenant-credential-7' } });
    const hex = resolver('timestamped-hex').resolve({ url: 'https://example.com/', secret: hexSecret });
    const forbidden: string[] = [token, 'tenant-credential-7', hexSecret, Buffer.from(hexSecret).toString('hex'), Buffer.from(hexSecret).toString('base64')];
    for (const s of secrets) {
      const key = Buffer.from(s.slice('whsec_'.length), 'base64');
      forbidden.push(s, key.toString('base64'), key.toString('base64url'), key.toString('hex'), key.toString('latin1'), createHash('sha256').update(key).digest('hex'));
    }
    const views = (e: ResolvedEndpoint) => [
      JSON.stringify(e),
      JSON.stringify({ nested: [e] }),
      String(e),
      `${e}`,
      JSON.stringify(Object.keys(e)),
      JSON.stringify(Object.entries(e)),
      JSON.stringify({ ...e }),
      inspect(e),
      inspect(e, { showHidden: true, depth: Infinity }),
      inspect(e, { customInspect: false, showHidden: true, depth: Infinity }),
      inspect({ ...e }, { showHidden: true, depth: Infinity }),
      inspect([e], { depth: Infinity }),
      JSON.stringify(Object.getOwnPropertyNames(e).map((k) => (e as unknown as Record<string, unknown>)[k])),
    ];
    const dump = [...views(resolved), ...views(hex)].join('\n');
    for (const text of forbidden) expect(dump).not.toContain(text);
    expect(resolved.toJSON()).toEqual({ url: 'https://example.com/hook?x=1', origin: 'https://example.com', headers: ['authorization', 'x-tenant'], secrets: 2 });
    expect(dump).toContain('authorization');
  });

  it('hands the raw secrets and header values to whoever asks by name (the store)', () => {
    const secrets = [newSecret(), newSecret()];
    const resolved = resolver().resolve({ url: 'https://example.com/', secret: secrets, headers: { authorization: 'Bearer t' } });
    expect(resolved.secrets()).toEqual(secrets);
    expect(resolved.headers).toEqual(['authorization', 'Bearer t']);
    expect(Object.isFrozen(resolved.secrets())).toBe(true);
    expect(resolver('timestamped-hex').resolve({ url: 'https://example.com/', secret: 'one' }).secrets()).toEqual(['one']);
  });
});

describe('unreadable and inherited endpoints', () => {
  const boom = new Error('getter exploded');
  const getter = (o: object, key: string) => Object.defineProperty(o, key, { enumerable: true, get: () => { throw boom; } });

  it.each([
    ['a throwing url getter', () => getter({ secret }, 'url'), '`url` of the endpoint to be readable'],
    ['a throwing headers getter', () => getter({ url: 'https://example.com/', secret }, 'headers'), '`headers` of the endpoint to be readable'],
    ['a throwing header value getter', () => ({ url: 'https://example.com/', secret, headers: getter({}, 'x-a') }), '`headers` to be readable'],
    ['a throwing secret element', () => ({ url: 'https://example.com/', secret: getter([], '0') }), '`secret` to be readable'],
    ['a Proxy endpoint whose get throws', () => new Proxy({ url: 'x', secret }, { get: () => { throw boom; } }), 'to be readable'],
    ['a Proxy headers whose ownKeys throws', () => ({ url: 'https://example.com/', secret, headers: new Proxy({}, { ownKeys: () => { throw boom; } }) }), '`headers` to be readable'],
    ['a Proxy endpoint whose getOwnPropertyDescriptor throws', () => new Proxy({ url: 'x', secret }, { getOwnPropertyDescriptor: () => { throw boom; } }), 'to be readable'],
  ])('%s gives WD_INVALID_ENDPOINT with the error as cause', (_name, make, message) => {
    const error = refusal(() => resolver().resolve(make()));
    expect(error).toMatchObject({ code: 'WD_INVALID_ENDPOINT', message: expect.stringContaining(message), cause: boom });
  });

  it('a throwing getter on a cached endpoint also gives WD_INVALID_ENDPOINT', () => {
    const r = resolver();
    const headers: Record<string, string> = { 'x-a': '1' };
    const endpoint = { url: 'https://example.com/', secret, headers };
    r.resolve(endpoint);
    getter(headers, 'x-a');
    expect(refusal(() => r.resolve(endpoint))).toMatchObject({ code: 'WD_INVALID_ENDPOINT', cause: boom });
  });

  it('a revoked Proxy gives WD_INVALID_ENDPOINT', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(refusal(() => resolver().resolve(proxy)).code).toBe('WD_INVALID_ENDPOINT');
    expect(refusal(() => resolver().resolve({ url: 'https://example.com/', secret, headers: proxy })).code).toBe('WD_INVALID_ENDPOINT');
  });

  it('publish reports a throwing endpoint as that endpoint refused, not as a rejection', async () => {
    const d = scopedOnce.dispatcher();
    const results = await d.publish({ type: 't', data: 1 }, [getter({ secret }, 'url') as never]);
    expect(results).toEqual([{ ok: false, error: expect.objectContaining({ code: 'WD_INVALID_ENDPOINT', cause: boom }) }]);
  });

  it('reads own properties only: nothing on Object.prototype becomes a url, secret, signature or header', () => {
    const proto = Object.prototype as Record<string, unknown>;
    try {
      proto.headers = { authorization: 'Bearer injected' };
      proto.signature = 'timestamped-hex';
      const resolved = resolver().resolve({ url: 'https://example.com/', secret });
      expect(resolved.headers).toEqual([]);
      expect(resolved.scheme).toBe('standard-webhooks');
      proto.url = 'https://attacker.example/';
      expect(refusal(() => resolver().resolve({ secret })).message).toContain('got `undefined`');
    } finally {
      delete proto.headers;
      delete proto.signature;
      delete proto.url;
    }
  });
});

describe('url errors', () => {
  it.each([
    'https://user:hunter2-secret@exa mple.com/',
    'https://:hunter2-secret@[::1/',
    'http://admin:hunter2-secret@host:99999/',
    'user:hunter2-secret@example.com',
    'https://u:hunter2-secret@@@x y/',
  ])('never echo the password of a URL that fails to parse: %s', (url) => {
    const error = refusal(() => resolver().resolve({ url, secret }));
    expect(error.code).toBe('WD_INVALID_ENDPOINT');
    expect(`${error.message} ${inspect(error, { depth: Infinity })}`).not.toContain('hunter2');
  });
});
