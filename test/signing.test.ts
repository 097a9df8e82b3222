import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyWebhook } from '../src/index.js';
import { attemptHeaders, decodeSecretKey, parseSecrets, signatureValue } from '../src/signing/signatures.js';
import { newSecret, signatureHeaders } from './helpers.js';

const body = Buffer.from('{"id":"evt_1","type":"t","timestamp":"2026-01-01T00:00:00.000Z","data":{}}');
const now = 1_800_000_000_000;
const ts = now / 1000;
const at = { now: () => now };

/** The headers our sender puts on a request, as a receiver's record. */
function signed(secrets: string | string[], id = 'evt_1', unix = ts, payload = body, scheme: 'standard-webhooks' | 'timestamped-hex' = 'standard-webhooks'): Record<string, string> {
  return signatureHeaders(secrets, unix, payload, id, scheme);
}

/** Does `verify` accept? Any throw is a refusal. */
function accepts(verify: () => unknown): boolean {
  try {
    verify();
    return true;
  } catch {
    return false;
  }
}

// The references read Date.now; fake only the date, no timers.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(now);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the sender', () => {
  it('computes what the reference package computes', () => {
    const secret = newSecret();
    expect(signatureValue('standard-webhooks', parseSecrets('standard-webhooks', secret), 'evt_1', ts, body)).toBe(new Webhook(secret).sign('evt_1', new Date(now), body.toString()));
  });

  it.each([24, 32, 64])('signs requests that standardwebhooks and svix verify (%i-byte key, every rotated secret)', (bytes) => {
    const [a, b] = [newSecret(bytes), newSecret()];
    const headers = signed([a, b]);
    for (const s of [a, b]) {
      expect(new Webhook(s).verify(body, headers)).toEqual(JSON.parse(body.toString()));
      expect(new SvixWebhook(s).verify(body, headers)).toEqual(JSON.parse(body.toString()));
    }
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow('No matching signature');
  });

  it('takes secrets in the forms the references take (no prefix, no padding), with the same key', () => {
    const key = randomBytes(32);
    const forms = [`whsec_${key.toString('base64')}`, key.toString('base64'), `whsec_${key.toString('base64').replace(/=+$/, '')}`];
    const values = forms.map((s) => signatureValue('standard-webhooks', parseSecrets('standard-webhooks', s), 'evt_1', ts, body));
    expect(new Set(values).size).toBe(1);
    expect(new Webhook(forms[0]!).verify(body, { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': values[0]! })).toBeTruthy();
  });

  it.each([
    ['', /non-empty string/],
    ['whsec_!!!!', /outside base64/],
    [`whsec_${randomBytes(32).toString('base64')}\n`, /outside base64/],
    [`whsec_${randomBytes(24).toString('base64')}A`, /impossible length/],
    ['whsec_AAAA===', /impossible length/],
    // The receiver takes these (the references do); a sender refuses to put a weak key into use.
    [`whsec_${Buffer.alloc(16).toString('base64')}`, /24 to 64 key bytes, got 16/],
    [`whsec_${Buffer.alloc(65).toString('base64')}`, /24 to 64 key bytes, got 65/],
  ])('refuses %j with WD_INVALID_ENDPOINT, without quoting it', (secret, message) => {
    expect(() => parseSecrets('standard-webhooks', secret)).toThrow(expect.objectContaining({ code: 'WD_INVALID_ENDPOINT', message: expect.stringMatching(message) }));
    try {
      parseSecrets('standard-webhooks', secret);
    } catch (error) {
      if (secret.length > 8) expect((error as Error).message).not.toContain(secret.slice(6, 20));
    }
  });

  it('names the timestamped-hex signature header when asked, and keeps x-webhook-signature by default', () => {
    const flat = attemptHeaders('test', [], 'timestamped-hex', parseSecrets('timestamped-hex', 's1'), 'evt_1', ts, body, 'stripe-signature').slice(4);
    expect(flat.filter((_, i) => i % 2 === 0)).toEqual(['x-webhook-id', 'stripe-signature']);
    expect(Object.keys(signed('s1', 'evt_1', ts, body, 'timestamped-hex'))).toEqual(['x-webhook-id', 'x-webhook-signature']);
    const headers = { 'stripe-signature': flat[3]! };
    expect(verifyWebhook(body, headers, 's1', { ...at, signature: 'timestamped-hex', header: 'stripe-signature' })).toMatchObject({ id: 'evt_1' });
  });
});

describe('the receiver against the references', () => {
  it.each([
    ['whsec_ and padded base64, 32 bytes', newSecret()],
    ['no whsec_ prefix', randomBytes(32).toString('base64')],
    ['unpadded base64', `whsec_${randomBytes(32).toString('base64').replace(/=+$/, '')}`],
    ['a 16-byte key', newSecret(16)],
    ['a 1-byte key', 'whsec_AA=='],
  ])('verifies what standardwebhooks and svix sign, with %s', (_name, secret) => {
    for (const sign of [new Webhook(secret), new SvixWebhook(secret)]) {
      const signature = sign.sign('msg_1', new Date(now), body.toString());
      const envelope = verifyWebhook(body, { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': signature }, secret, at);
      expect(envelope).toEqual(JSON.parse(body.toString()));
    }
  });

  it('reads a secret exactly as standardwebhooks does, or refuses it only for its documented accidents', () => {
    const text = fc.string({ unit: fc.constantFrom(...'AB9+/=-_ \n!'.split(''), 'whsec_'), maxLength: 14 });
    fc.assert(
      fc.property(text, (secret) => {
        const ours = decodeSecretKey(secret);
        let theirs: Uint8Array | undefined;
        try {
          theirs = (new Webhook(secret) as unknown as { key: Uint8Array }).key;
        } catch {
          theirs = undefined;
        }
        if (typeof ours !== 'string' && ours.length > 0) {
          expect(theirs && Buffer.from(theirs).equals(ours)).toBe(true);
        } else if (theirs !== undefined) {
          // They skip a lone last character unread (length 1 mod 4): we refuse such a secret.
          const unprefixed = secret.startsWith('whsec_') ? secret.slice(6) : secret;
          expect(unprefixed.replace(/=+$/, '').length % 4).toBe(1);
        }
      }),
      { numRuns: 3000 },
    );
  });

  const secret = newSecret();
  const valid = signed(secret);
  const sig = valid['webhook-signature']!;
  const bytes = Buffer.from(sig.slice(3), 'base64');
  const other = signed(newSecret())['webhook-signature']!;
  const tweak = (change: Partial<Record<string, string>>): Record<string, string> => Object.fromEntries(Object.entries({ ...valid, ...change }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const lastChar = sig.at(-2)!;
  const nonCanonical = `${sig.slice(0, -2)}${String.fromCharCode(lastChar.charCodeAt(0) + 1)}=`;

  it.each<[string, Record<string, string>, boolean]>([
    ['a valid request', valid, true],
    ['upper-case header names', Object.fromEntries(Object.entries(valid).map(([k, v]) => [k.toUpperCase(), v])), true],
    ['the matching entry after a bogus one', tweak({ 'webhook-signature': `v1,AAAA ${other} ${sig}` }), true],
    ['a leading space and a double space', tweak({ 'webhook-signature': ` ${other}  ${sig}` }), true],
    ['an unknown version next to v1', tweak({ 'webhook-signature': `v2,xyz ${sig}` }), true],
    ['trailing junk after the base64', tweak({ 'webhook-signature': `${sig}!!` }), false],
    ['the base64 without its padding', tweak({ 'webhook-signature': sig.replace(/=$/, '') }), false],
    ['an extra padding character', tweak({ 'webhook-signature': `${sig}=` }), false],
    ['non-canonical last base64 bits', tweak({ 'webhook-signature': nonCanonical }), false],
    ['the bytes in base64url', tweak({ 'webhook-signature': `v1,${bytes.toString('base64url')}` }), false],
    ['a truncated signature (16 bytes)', tweak({ 'webhook-signature': `v1,${bytes.subarray(0, 16).toString('base64')}` }), false],
    ['a v2 entry only', tweak({ 'webhook-signature': sig.replace('v1,', 'v2,') }), false],
    ['V1 in capitals', tweak({ 'webhook-signature': sig.replace('v1,', 'V1,') }), false],
    ['a space after the comma', tweak({ 'webhook-signature': sig.replace('v1,', 'v1, ') }), false],
    ['tab-separated entries', tweak({ 'webhook-signature': `${sig}\t${other}` }), false],
    ['another key\'s signature', tweak({ 'webhook-signature': other }), false],
    ['an empty webhook-id', tweak({ 'webhook-id': '' }), false],
    ['no webhook-signature', tweak({ 'webhook-signature': undefined }), false],
    ['no webhook-timestamp', tweak({ 'webhook-timestamp': undefined }), false],
    ['another id', tweak({ 'webhook-id': 'evt_2' }), false],
    ['a timestamp 300 s old', signed(secret, 'evt_1', ts - 300), true],
    ['a timestamp 301 s old', signed(secret, 'evt_1', ts - 301), false],
    ['a timestamp 300 s ahead', signed(secret, 'evt_1', ts + 300), true],
    ['a timestamp 301 s ahead', signed(secret, 'evt_1', ts + 301), false],
    ['a timestamp one second off the signed one', tweak({ 'webhook-timestamp': String(ts + 1) }), false],
  ])('agrees with standardwebhooks and svix on %s', (_name, headers, expected) => {
    expect(accepts(() => new Webhook(secret).verify(body, headers))).toBe(expected);
    expect(accepts(() => new SvixWebhook(secret).verify(body, headers))).toBe(expected);
    expect(accepts(() => verifyWebhook(body, headers, secret, at))).toBe(expected);
  });

  // Accidents of the references' parsing (parseInt, split(',') then destructuring): no sender
  // writes these, and taking them would give one signed request several spellings.
  it.each<[string, Record<string, string>]>([
    ['a third comma field after the signature', tweak({ 'webhook-signature': `${sig},junk` })],
    ['junk after the timestamp digits', tweak({ 'webhook-timestamp': `${ts}abc` })],
    ['a timestamp with a leading zero', tweak({ 'webhook-timestamp': `0${ts}` })],
    ['a timestamp with a sign', tweak({ 'webhook-timestamp': `+${ts}` })],
  ])('refuses, where the references accept, %s', (_name, headers) => {
    expect(accepts(() => new Webhook(secret).verify(body, headers))).toBe(true);
    expect(() => verifyWebhook(body, headers, secret, at)).toThrow(expect.objectContaining({ code: 'WD_VERIFICATION_FAILED' }));
  });
});

describe('signing, as a property', () => {
  const secretArb = fc.uint8Array({ minLength: 24, maxLength: 64 }).map((k) => `whsec_${Buffer.from(k).toString('base64')}`);
  const idArb = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }).filter((s) => s.trim() === s && s.length > 0);
  const envelopeArb = fc.record({ id: fc.string(), type: fc.string(), timestamp: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), data: fc.jsonValue() });
  const tsArb = fc.integer({ min: ts - 300, max: ts + 300 });

  it('what we sign verifies with ours and with standardwebhooks; flipping a byte of body, id, timestamp or signature fails both', () => {
    fc.assert(
      fc.property(secretArb, idArb, tsArb, envelopeArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (secret, id, unix, envelope, where, flip) => {
        const payload = Buffer.from(JSON.stringify(envelope));
        const headers = signed(secret, id, unix, payload);
        expect(verifyWebhook(payload, headers, secret, at)).toEqual(JSON.parse(payload.toString()));
        expect(accepts(() => new Webhook(secret).verify(payload, headers))).toBe(true);

        const flipped = Buffer.from(payload);
        flipped[where % flipped.length]! ^= flip;
        const changeChar = (text: string, from = 0): string => {
          const i = from + (where % (text.length - from));
          const c = text.charCodeAt(i);
          return text.slice(0, i) + String.fromCharCode(c === 0x7e ? 0x21 : c + 1) + text.slice(i + 1);
        };
        const variants: [Buffer, Record<string, string>][] = [
          [flipped, headers],
          [payload, { ...headers, 'webhook-id': changeChar(id) }],
          [payload, { ...headers, 'webhook-timestamp': String(unix + (where % 2 === 0 ? 1 : -1) * (1 + (where % 300))) }],
          [payload, { ...headers, 'webhook-signature': changeChar(headers['webhook-signature']!, 3) }],
        ];
        for (const [b, h] of variants) {
          expect(accepts(() => verifyWebhook(b, h, secret, at))).toBe(false);
          // standardwebhooks decodes a Buffer as UTF-8: a flipped byte may land in U+FFFD, so
          // it is asked about text bodies only.
          if (b === payload) expect(accepts(() => new Webhook(secret).verify(b, h))).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('any UTF-8 body signs the same way as standardwebhooks, and ours refuses a non-envelope only after the signature held', () => {
    fc.assert(
      fc.property(secretArb, idArb, fc.string({ unit: 'binary' }), (secret, id, text) => {
        const headers = signed(secret, id, ts, Buffer.from(text));
        expect(headers['webhook-signature']).toBe(new Webhook(secret).sign(id, new Date(now), text));
        try {
          verifyWebhook(text, headers, secret, at);
        } catch (error) {
          expect((error as Error).message).toContain('is signed but is not a webhook envelope');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('timestamped-hex is HMAC-SHA256 hex of "t.body" under the secret text', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), tsArb, (secret, unix) => {
        const value = signed(secret, 'evt_1', unix, body, 'timestamped-hex')['x-webhook-signature'];
        expect(value).toBe(`t=${unix},v1=${createHmac('sha256', secret).update(`${unix}.`).update(body).digest('hex')}`);
      }),
    );
  });
});
