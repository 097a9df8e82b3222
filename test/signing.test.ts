import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { verifyWebhook } from '../src/index.js';
import { parseSecrets, signatureValue } from '../src/signing.js';
import { newSecret } from './helpers.js';

const body = Buffer.from('{"id":"evt_1","type":"t","timestamp":"2026-01-01T00:00:00.000Z","data":{}}');
const now = 1_800_000_000_000;
const ts = now / 1000;

function standardHeaders(secrets: string[], id = 'evt_1', unix = ts): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(unix), 'webhook-signature': signatureValue('standard-webhooks', parseSecrets('standard-webhooks', secrets), id, unix, body) };
}

describe('standard-webhooks signatures', () => {
  it('match what the reference package computes', () => {
    const secret = newSecret();
    const ours = signatureValue('standard-webhooks', parseSecrets('standard-webhooks', secret), 'evt_1', ts, body);
    expect(ours).toBe(new Webhook(secret).sign('evt_1', new Date(now), body.toString()));
  });

  it('verify with verifyWebhook for each rotated secret, and not for another', () => {
    const [a, b] = [newSecret(), newSecret()];
    const headers = standardHeaders([a, b]);
    for (const s of [a, b]) expect(() => verifyWebhook(body, headers, s, { now: () => now })).not.toThrow();
    expect(() => verifyWebhook(body, headers, [newSecret(), b], { now: () => now })).not.toThrow();
    expect(() => verifyWebhook(body, headers, newSecret(), { now: () => now })).toThrow(expect.objectContaining({ code: 'WD_VERIFICATION_FAILED' }));
  });

  it.each([
    ['missing id', (h: Record<string, string>) => ({ ...h, 'webhook-id': '' }), 'missing webhook-id'],
    ['missing signature', (h: Record<string, string>) => ({ 'webhook-id': h['webhook-id']!, 'webhook-timestamp': h['webhook-timestamp']! }), 'missing webhook-signature'],
    ['stale', (h: Record<string, string>) => ({ ...h, 'webhook-timestamp': String(ts - 301) }), 'too old'],
    ['future', (h: Record<string, string>) => ({ ...h, 'webhook-timestamp': String(ts + 301) }), 'future'],
    ['malformed timestamp', (h: Record<string, string>) => ({ ...h, 'webhook-timestamp': '12abc' }), 'malformed'],
    ['no v1', (h: Record<string, string>) => ({ ...h, 'webhook-signature': 'v2,abc' }), 'no v1'],
    ['other id', (h: Record<string, string>) => ({ ...h, 'webhook-id': 'evt_2' }), 'no signature matches'],
  ])('rejects a request with %s', (_name, change, reason) => {
    const secret = newSecret();
    const headers = change(standardHeaders([secret]));
    expect(() => verifyWebhook(body, headers, secret, { now: () => now })).toThrow(reason);
  });

  it('rejects a tampered body', () => {
    const secret = newSecret();
    const tampered = Buffer.from(body.toString().replace('{}', '{"x":1}'));
    expect(() => verifyWebhook(tampered, standardHeaders([secret]), secret, { now: () => now })).toThrow('no signature matches');
  });

  it('accepts Headers objects and mixed-case header records', () => {
    const secret = newSecret();
    const h = standardHeaders([secret]);
    expect(() => verifyWebhook(body, new Headers(h), secret, { now: () => now })).not.toThrow();
    const mixed = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toUpperCase(), v]));
    expect(() => verifyWebhook(body.toString(), mixed, secret, { now: () => now })).not.toThrow();
  });
});

describe('timestamped-hex signatures', () => {
  it('sign t.body with HMAC-SHA256 hex and verify', () => {
    const value = signatureValue('timestamped-hex', parseSecrets('timestamped-hex', ['s1', 's2']), 'ignored', ts, body);
    expect(value).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    const headers = { 'x-webhook-signature': value };
    for (const s of ['s1', 's2']) expect(() => verifyWebhook(body, headers, s, { signature: 'timestamped-hex', now: () => now })).not.toThrow();
    expect(() => verifyWebhook(body, headers, 's3', { signature: 'timestamped-hex', now: () => now })).toThrow('no signature matches');
    expect(() => verifyWebhook(body, headers, 's1', { signature: 'timestamped-hex', now: () => now + 400_000 })).toThrow('too old');
  });
});

describe('secrets', () => {
  it.each([
    ['', /non-empty string/],
    ['abc', /start with `whsec_`/],
    ['whsec_!!!!', /base64/],
    [`whsec_${Buffer.alloc(8).toString('base64')}`, /24 to 64 key bytes, got 8/],
    [`whsec_${Buffer.alloc(65).toString('base64')}`, /24 to 64 key bytes, got 65/],
  ])('refuses %j with WD_INVALID_ENDPOINT', (secret, message) => {
    expect(() => parseSecrets('standard-webhooks', secret)).toThrow(expect.objectContaining({ code: 'WD_INVALID_ENDPOINT', message: expect.stringMatching(message) }));
  });

  it('never puts the secret text in the error', () => {
    const secret = 'not-a-whsec-but-very-secret-value';
    try {
      parseSecrets('standard-webhooks', secret);
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(secret);
    }
  });
});
