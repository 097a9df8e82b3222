import { createPrivateKey, createPublicKey, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair, publicKeyOf, verifyWebhook, WebhookError } from '../src/index.js';
import { parsePublicKey, parseSecretKey, signEd25519 } from '../src/signing/ed25519.js';
import { sqliteStore } from '../src/stores/sqlite/sqlite-store.js';
import { newSecret, refusal, scoped, signatureHeaders } from './helpers.js';

const { receiver, dispatcher } = scoped();

// RFC 8032, section 7.1, TEST 2: a one-byte message (0x72, "r"). Ed25519 is deterministic, so
// these bytes pin our key parsing and signing to the standard, not only to node:crypto's view of itself.
const RFC_SEED = Buffer.from('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', 'hex');
const RFC_PUBLIC = Buffer.from('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', 'hex');
const RFC_SIGNATURE = Buffer.from(
  '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  'hex',
);
const rfcSecretKey = `whsk_${Buffer.concat([RFC_SEED, RFC_PUBLIC]).toString('base64')}`;
const rfcPublicKey = `whpk_${RFC_PUBLIC.toString('base64')}`;

const body = Buffer.from('{"id":"evt_1","type":"t","timestamp":"2026-01-01T00:00:00.000Z","data":{}}');
const ts = 1_800_000_000;
const at = { now: () => ts * 1000 };

/** The spec's construction, computed independently: a JWK-built key, `sign(null, "${id}.${ts}.${body}")`. */
function specSignature(seed: Buffer, pub: Buffer, id: string, unix: number, payload: Buffer): string {
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: seed.toString('base64url'), x: pub.toString('base64url') }, format: 'jwk' });
  return sign(null, Buffer.concat([Buffer.from(`${id}.${unix}.`), payload]), key).toString('base64');
}

describe('keys in the Standard Webhooks format', () => {
  it('signs the RFC 8032 vector with a whsk_ key of seed and public key, and of the seed alone', () => {
    for (const text of [rfcSecretKey, `whsk_${RFC_SEED.toString('base64')}`]) {
      const key = parseSecretKey(text);
      if (typeof key === 'string') throw new Error(key);
      expect(signEd25519(key, 'r', Buffer.alloc(0))).toBe(RFC_SIGNATURE.toString('base64'));
    }
    expect(publicKeyOf(rfcSecretKey)).toBe(rfcPublicKey);
  });

  it('generates a pair: whsk_ + 64 bytes, whpk_ + the 32 public bytes of that seed', () => {
    const a = generateSigningKeyPair();
    const b = generateSigningKeyPair();
    expect(a.secretKey).toMatch(/^whsk_[A-Za-z0-9+/]{86}==$/);
    expect(a.publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(a.secretKey).not.toBe(b.secretKey);
    expect(publicKeyOf(a.secretKey)).toBe(a.publicKey);
    const bytes = Buffer.from(a.secretKey.slice(5), 'base64');
    const derived = createPublicKey(createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: bytes.subarray(0, 32).toString('base64url'), x: bytes.subarray(32).toString('base64url') }, format: 'jwk' }));
    expect(derived.export({ format: 'jwk' }).x).toBe(Buffer.from(a.publicKey.slice(5), 'base64').toString('base64url'));
  });

  it.each([
    ['too short', `whsk_${randomBytes(31).toString('base64')}`, /of 31 bytes/],
    ['not base64', 'whsk_!!!!', /not canonical padded base64/],
    ['unpadded', `whsk_${Buffer.concat([RFC_SEED, RFC_PUBLIC]).toString('base64').replace(/=+$/, '')}`, /not canonical/],
    ['another pair\'s public half', `whsk_${Buffer.concat([RFC_SEED, randomBytes(32)]).toString('base64')}`, /not the public key of its seed/],
  ])('refuses a secret key that is %s', (_name, text, reason) => {
    expect(parseSecretKey(text)).toMatch(reason);
  });

  it('refuses a public key of the wrong size', () => {
    expect(parsePublicKey(`whpk_${randomBytes(33).toString('base64')}`)).toMatch(/of 33 bytes/);
    expect(typeof parsePublicKey(rfcPublicKey)).toBe('object');
  });
});

describe('v1a in webhook-signature', () => {
  it('is the spec\'s ed25519 signature of "${id}.${timestamp}.${body}", base64', () => {
    const headers = signatureHeaders(rfcSecretKey, ts, body, 'evt_42');
    expect(headers['webhook-signature']).toBe(`v1a,${specSignature(RFC_SEED, RFC_PUBLIC, 'evt_42', ts, body)}`);
    expect(verifyWebhook(body, headers, rfcPublicKey, at).id).toBe('evt_1');
  });

  it('sits beside v1 during a migration: one entry per key, in the caller\'s order', () => {
    const hmac = newSecret();
    const pair = generateSigningKeyPair();
    const value = signatureHeaders([hmac, pair.secretKey], ts, body)['webhook-signature']!;
    const [v1, v1a, ...rest] = value.split(' ');
    expect(rest).toEqual([]);
    expect(v1).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(v1a).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
  });

  it('refuses a tampered body, another key, a stale timestamp, and a non-canonical signature', () => {
    const pair = generateSigningKeyPair();
    const headers = signatureHeaders(pair.secretKey, ts, body);
    expect(refusal(() => verifyWebhook(Buffer.concat([body, Buffer.from(' ')]), headers, pair.publicKey, at)).message).toMatch(/no signature matches/);
    expect(refusal(() => verifyWebhook(body, headers, generateSigningKeyPair().publicKey, at)).code).toBe('WD_VERIFICATION_FAILED');
    expect(refusal(() => verifyWebhook(body, headers, pair.publicKey, { now: () => (ts + 301) * 1000 })).message).toMatch(/too old/);
    const sig = headers['webhook-signature']!;
    expect(refusal(() => verifyWebhook(body, { ...headers, 'webhook-signature': sig.slice(0, -2) }, pair.publicKey, at)).message).toMatch(/no signature matches/);
    expect(refusal(() => verifyWebhook(body, { ...headers, 'webhook-signature': `${sig},x` }, pair.publicKey, at)).message).toMatch(/no signature matches/);
    // A v1a signature is no v1 signature: an HMAC receiver finds nothing to check.
    expect(refusal(() => verifyWebhook(body, headers, newSecret(), at)).message).toMatch(/no signature matches/);
  });

  it('a receiver holding a whsec_ secret and a whpk_ key verifies either kind', () => {
    const hmac = newSecret();
    const pair = generateSigningKeyPair();
    expect(verifyWebhook(body, signatureHeaders(hmac, ts, body), [hmac, pair.publicKey], at).type).toBe('t');
    expect(verifyWebhook(body, signatureHeaders(pair.secretKey, ts, body), [hmac, pair.publicKey], at).type).toBe('t');
  });
});

describe('bad keys', () => {
  it('a sender refuses malformed whsk_ keys and a whpk_ key with WD_INVALID_ENDPOINT, never quoting them', async () => {
    const d = dispatcher();
    const pair = generateSigningKeyPair();
    const bad = [`whsk_${randomBytes(40).toString('base64')}`, pair.publicKey, `${pair.secretKey.slice(0, -4)}AAA=`];
    for (const secret of bad) {
      const error = (await d.send({ url: 'http://127.0.0.1:9/hook', secret }, { type: 't', data: {} }).catch((e: unknown) => e)) as WebhookError;
      expect(error.code).toBe('WD_INVALID_ENDPOINT');
      expect(error.message).not.toContain(secret.slice(5, 25));
    }
    const inArray = (await d.send({ url: 'http://127.0.0.1:9/hook', secret: [newSecret(), bad[0]!] }, { type: 't', data: {} }).catch((e: unknown) => e)) as WebhookError;
    expect(inArray.message).toMatch(/`secret\[1\]`/);
  });

  it('a receiver refuses a malformed whpk_ key and a whsk_ key with WD_INVALID_OPTIONS, never quoting them', () => {
    const pair = generateSigningKeyPair();
    const headers = signatureHeaders(pair.secretKey, ts, body);
    const short = `whpk_${randomBytes(31).toString('base64')}`;
    const e1 = refusal(() => verifyWebhook(body, headers, short, at));
    expect([e1.code, e1.message]).toEqual(['WD_INVALID_OPTIONS', expect.stringMatching(/ed25519 public key of 31 bytes/)]);
    const e2 = refusal(() => verifyWebhook(body, headers, pair.secretKey, at));
    expect([e2.code, e2.message]).toEqual(['WD_INVALID_OPTIONS', expect.stringMatching(/belongs to the sender only/)]);
    expect(e2.message).not.toContain(pair.secretKey.slice(5, 25));
  });

  it('timestamped-hex keeps every secret as text, whsk_ prefix or not (PayMongo-style HMAC secrets)', () => {
    const secret = 'whsk_paymongo_style_secret';
    const headers = signatureHeaders(secret, ts, body, 'evt_1', 'timestamped-hex');
    expect(headers['x-webhook-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(body, headers, secret, { ...at, signature: 'timestamped-hex' }).id).toBe('evt_1');
  });
});

describe('through a dispatcher to a real receiver', () => {
  it('verifies with the public key alone, and refuses one signed by another key', async () => {
    const r = await receiver();
    const d = dispatcher();
    const pair = generateSigningKeyPair();
    await d.send({ url: r.url(), secret: pair.secretKey }, { type: 'invoice.paid', data: { n: 1 } });
    await d.onIdle();
    const request = r.requests[0]!;
    expect(verifyWebhook<{ n: number }>(request.body, request.headers, pair.publicKey).data).toEqual({ n: 1 });
    expect(refusal(() => verifyWebhook(request.body, request.headers, generateSigningKeyPair().publicKey)).code).toBe('WD_VERIFICATION_FAILED');
  });

  it('migration and rotation: whsec_ and two whsk_ keys send v1 and two v1a; each key verifies, and standardwebhooks still verifies v1', async () => {
    const r = await receiver();
    const d = dispatcher();
    const hmac = newSecret();
    const [oldPair, newPair] = [generateSigningKeyPair(), generateSigningKeyPair()];
    await d.send({ url: r.url(), secret: [hmac, oldPair.secretKey, newPair.secretKey] }, { type: 't', data: {} });
    await d.onIdle();
    const { body: raw, headers } = r.requests[0]!;
    expect(String(headers['webhook-signature']).split(' ').map((e) => e.slice(0, e.indexOf(',')))).toEqual(['v1', 'v1a', 'v1a']);
    for (const key of [hmac, oldPair.publicKey, newPair.publicKey]) expect(verifyWebhook(raw, headers, key).id).toMatch(/./);
    expect(new Webhook(hmac).verify(raw, headers as Record<string, string>)).toMatchObject({ type: 't' });
  });
});

describe('through a durable store', () => {
  it('a whsk_ key sealed in SQLite signs after a restart, and the public key verifies it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wd-asym-'));
    try {
      const r = await receiver();
      const pair = generateSigningKeyPair();
      const key = randomBytes(32);
      const open = () => dispatcher({ store: sqliteStore({ path: join(dir, 'db'), encryptionKey: key }) });
      const first = open();
      await first.ready();
      first.pause(r.origin);
      await first.send({ url: r.url(), secret: [newSecret(), pair.secretKey] }, { type: 'after.restart', data: {} });
      await first.close();
      expect(r.requests).toHaveLength(0);
      const second = open();
      await second.ready();
      await second.onIdle();
      const request = r.requests[0]!;
      expect(verifyWebhook(request.body, request.headers, pair.publicKey).type).toBe('after.restart');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
