import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dispatcher, verifyWebhook, WebhookError } from '../src/index.js';
import { newSecret, Terminals, testDispatcher } from './helpers.js';
import { Receiver, status } from './receiver.js';

const CODES = new Set(['WD_INVALID_OPTIONS', 'WD_INVALID_ENDPOINT', 'WD_INVALID_EVENT', 'WD_PAYLOAD_TOO_LARGE', 'WD_QUEUE_FULL', 'WD_BLOCKED_DESTINATION', 'WD_CLOSED', 'WD_VERIFICATION_FAILED']);
let r: Receiver;
beforeAll(async () => {
  r = await Receiver.start();
});
afterAll(() => r.stop());

const secret = newSecret();
const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;

describe('bad events', () => {
  it.each([
    ['no type', { data: 1 }, 'WD_INVALID_EVENT', 'Expected `type` to be a string of 1 to 256 characters, got `undefined`'],
    ['an empty type', { type: '', data: 1 }, 'WD_INVALID_EVENT', 'got `""` (string)'],
    ['a type too long', { type: 'x'.repeat(257), data: 1 }, 'WD_INVALID_EVENT', '1 to 256 characters'],
    ['an id with a dot', { type: 't', id: 'evt.1', data: 1 }, 'WD_INVALID_EVENT', '(no `.`)'],
    ['an invalid timestamp', { type: 't', data: 1, timestamp: new Date('nope') }, 'WD_INVALID_EVENT', 'valid Date'],
    ['cyclic data', { type: 't', data: cyclic }, 'WD_INVALID_EVENT', 'serializable as JSON'],
    ['BigInt data', { type: 't', data: { n: 10n } }, 'WD_INVALID_EVENT', 'serializable as JSON'],
    ['a function inside data', { type: 't', data: { f: () => 1 } }, 'WD_INVALID_EVENT', 'got a function'],
    ['a symbol inside data', { type: 't', data: [Symbol('s')] }, 'WD_INVALID_EVENT', 'got a symbol'],
    ['undefined data', { type: 't' }, 'WD_INVALID_EVENT', 'Expected `data` to be a JSON value'],
    ['a huge payload', { type: 't', data: 'x'.repeat(2_000) }, 'WD_PAYLOAD_TOO_LARGE', 'at most 1024 bytes'],
    ['not an object', 'event', 'WD_INVALID_EVENT', 'Expected the event to be an object, got `"event"` (string)'],
  ])('refuses %s', async (_name, event, code, message) => {
    const d = testDispatcher({ maxPayloadBytes: 1024 });
    const t = new Terminals(d);
    await expect(d.send({ url: r.url(), secret }, event as never)).rejects.toMatchObject({ code, message: expect.stringContaining(message) });
    expect(t.total).toBe(0);
    expect(d.stats().accepted).toBe(0);
    await d.close();
  });
});

describe('bad endpoints', () => {
  it.each([
    ['a relative url', { url: '/hook', secret }, 'WD_INVALID_ENDPOINT', 'absolute http(s) URL'],
    ['an ftp url', { url: 'ftp://example.com/', secret }, 'WD_INVALID_ENDPOINT', 'scheme `ftp:`'],
    ['credentials in the url', { url: 'https://user:pw@example.com/', secret }, 'WD_INVALID_ENDPOINT', 'without credentials'],
    ['no secret', { url: 'https://example.com/' }, 'WD_INVALID_ENDPOINT', 'Expected `secret` to be a non-empty string, got `undefined`'],
    ['an empty secret list', { url: 'https://example.com/', secret: [] }, 'WD_INVALID_ENDPOINT', '1 to 8 secrets'],
    ['a CRLF header value', { url: 'https://example.com/', secret, headers: { 'x-a': 'v\r\nx-evil: 1' } }, 'WD_INVALID_ENDPOINT', 'no CR, LF, NUL or other control character'],
    ['a proxy-authorization header', { url: 'https://example.com/', secret, headers: { 'Proxy-Authorization': 'Basic x' } }, 'WD_INVALID_ENDPOINT', 'not to set `proxy-authorization`'],
    ['a header value above U+00FF', { url: 'https://example.com/', secret, headers: { 'x-a': '\u2603' } }, 'WD_INVALID_ENDPOINT', 'nothing above U+00FF'],
    ['a header name with a space', { url: 'https://example.com/', secret, headers: { 'x a': 'v' } }, 'WD_INVALID_ENDPOINT', 'HTTP tokens'],
    ['a signature header', { url: 'https://example.com/', secret, headers: { 'Webhook-Signature': 'v1,forged' } }, 'WD_INVALID_ENDPOINT', 'not to set `webhook-signature`'],
    ['a host header', { url: 'https://example.com/', secret, headers: { Host: 'internal' } }, 'WD_INVALID_ENDPOINT', 'not to set `host`'],
    ['a content-length header', { url: 'https://example.com/', secret, headers: { 'Content-Length': '1' } }, 'WD_INVALID_ENDPOINT', 'not to set `content-length`'],
    ['a non-string header', { url: 'https://example.com/', secret, headers: { 'x-n': 5 } }, 'WD_INVALID_ENDPOINT', 'got `5` (number)'],
  ])('refuses %s', async (_name, endpoint, code, message) => {
    const d = new Dispatcher();
    await expect(d.send(endpoint as never, { type: 't', data: 1 })).rejects.toMatchObject({ code, message: expect.stringContaining(message) });
    await d.close();
  });
});

describe('hostile receivers', () => {
  it('keeps only a prefix of a huge error body and frees the slot', async () => {
    const huge = await Receiver.start(() => ({ kind: 'huge', status: 500, bytes: 20 * 1024 * 1024 }));
    const d = testDispatcher({ retry: { attempts: 1 }, responseBodyBytes: 100 });
    const t = new Terminals(d);
    await d.send({ url: huge.url(), secret }, { type: 't', data: 1 });
    await d.onIdle();
    expect(t.failed[0]).toMatchObject({ reason: 'exhausted', status: 500, responseBody: 'y'.repeat(100) });
    await d.close();
    await huge.stop();
  });

  it('cuts a receiver that trickles its answer at timeoutMs', async () => {
    const slow = await Receiver.start(() => ({ kind: 'trickle', status: 500, everyMs: 50, bytes: 100_000 }));
    const d = testDispatcher({ retry: { attempts: 1 }, timeoutMs: 200 });
    const attempts: number[] = [];
    d.on('attempt', (e) => attempts.push(e.latencyMs));
    const t = new Terminals(d);
    await d.send({ url: slow.url(), secret }, { type: 't', data: 1 });
    await d.onIdle();
    expect(t.failed).toHaveLength(1);
    // Bounded by the deadline, not by the 5,000 s the trickle would take.
    expect(attempts[0]).toBeLessThan(2_000);
    await d.close();
    await slow.stop();
  });
});

describe('fuzzing', () => {
  /** Strings that could name a real outside host are kept out: nothing here may leave the machine. */
  const url = fc.oneof(
    fc.constant(`__receiver__`),
    fc.string().filter((s) => !/^\s*https?:/i.test(s)),
    fc.constantFrom('http://127.0.0.1/', 'http://[::1]/', 'http://10.0.0.1/', 'ftp://x/', 'http://', 'https://user:pw@127.0.0.1/'),
    fc.anything(),
  );
  const endpoint = fc.oneof(
    fc.record({ url, secret: fc.oneof(fc.constant(secret), fc.string(), fc.array(fc.string()), fc.anything()), headers: fc.option(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.anything())), { nil: undefined }) }, { requiredKeys: [] }),
    fc.anything(),
  );
  const event = fc.oneof(
    fc.record({ type: fc.oneof(fc.string(), fc.anything()), data: fc.anything(), id: fc.option(fc.oneof(fc.string(), fc.anything()), { nil: undefined }), timestamp: fc.option(fc.oneof(fc.date(), fc.anything()), { nil: undefined }) }, { requiredKeys: [] }),
    fc.anything(),
  );

  it('send and publish either accept or reject with a known WebhookError, and the dispatcher keeps working', async () => {
    const d = testDispatcher({ allowPrivateNetworks: false, allowedNetworks: ['127.0.0.1/32'], breaker: false, retry: { attempts: 1 } });
    const t = new Terminals(d);
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(endpoint, event, async (ep, ev) => {
        const fixed = typeof ep === 'object' && ep !== null && (ep as { url?: unknown }).url === '__receiver__' ? { ...ep, url: r.url() } : ep;
        try {
          await d.send(fixed as never, ev as never);
          accepted++;
        } catch (error) {
          expect(error).toBeInstanceOf(WebhookError);
          expect(CODES.has((error as WebhookError).code)).toBe(true);
        }
        try {
          const results = await d.publish(ev as never, [fixed as never]);
          for (const res of results) if (res.ok) accepted++;
          else expect(CODES.has(res.error.code)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(WebhookError);
        }
      }),
      { numRuns: 400 },
    );
    await d.send({ url: r.url(), secret }, { type: 'after.fuzz', data: 1 });
    await d.onIdle();
    expect(t.total).toBe(accepted + 1);
    expect(t.delivered.at(-1)).toMatchObject({ eventType: 'after.fuzz' });
    await d.close();
  });

  it('verifyWebhook returns or throws WD_VERIFICATION_FAILED (WD_INVALID_OPTIONS for a bad secret), whatever it is given', () => {
    const headers = fc.oneof(
      fc.dictionary(fc.constantFrom('webhook-id', 'webhook-timestamp', 'webhook-signature', 'x-webhook-signature', 'other'), fc.oneof(fc.string(), fc.array(fc.string()))),
      fc.anything(),
    );
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.uint8Array().map((a) => Buffer.from(a)), fc.anything()), headers, fc.oneof(fc.constant(secret), fc.string(), fc.anything()), fc.constantFrom('standard-webhooks' as const, 'timestamped-hex' as const), (body, h, s, signature) => {
        try {
          verifyWebhook(body as never, h as never, s as never, { signature });
        } catch (error) {
          // A bad secret is the receiver's own configuration: WD_INVALID_OPTIONS, never for a good one.
          expect(error).toMatchObject({ code: s === secret ? 'WD_VERIFICATION_FAILED' : expect.stringMatching(/^WD_(VERIFICATION_FAILED|INVALID_OPTIONS)$/) });
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('secrets never leave', () => {
  it('appear in no event, error, stats or inspected object of a run', async () => {
    const secrets = [newSecret(), newSecret()];
    const keyTexts = secrets.map((s) => s.slice('whsec_'.length));
    const bad = await Receiver.start((_req, i) => (i % 2 === 0 ? status(500, {}, 'nope') : status(200)));
    const d = testDispatcher({ breaker: { failureThreshold: 1, cooldownMs: 1 }, retry: { attempts: 3 } });
    const seen: unknown[] = [];
    for (const name of ['delivered', 'failed', 'attempt', 'retry', 'breaker', 'gone', 'error'] as const) d.on(name, (e: unknown) => seen.push(e));
    for (let i = 0; i < 10; i++) await d.send({ url: bad.url(), secret: secrets, headers: { authorization: 'Bearer tok_live_123' } }, { type: 't', data: i });
    const errors: unknown[] = [];
    await d.send({ url: bad.url(), secret: `${secrets[0]}!` }, { type: 't', data: 1 }).catch((e) => errors.push(e));
    await d.send({ url: bad.url(), secret: 'not-whsec-' + keyTexts[0] }, { type: 't', data: 1 }).catch((e) => errors.push(e));
    await d.onIdle();
    expect(errors).toHaveLength(2);
    const dump = [
      JSON.stringify(seen),
      ...errors.map((e) => `${String(e)} ${(e as Error).stack} ${inspect(e, { depth: 10 })}`),
      JSON.stringify(d.stats()),
      inspect(d, { depth: Infinity, showHidden: true }),
    ].join('\n');
    for (const text of [...secrets, ...keyTexts, 'tok_live_123']) expect(dump).not.toContain(text);
    await d.close();
    await bad.stop();
  });
});
