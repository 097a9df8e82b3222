import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { WebhookError, describe } from './errors.js';
import type { SignatureScheme } from './options.js';

const WHSEC_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
/** A rotation rarely has more than two; the cap keeps one endpoint from costing many HMACs per attempt. */
const MAX_SECRETS = 8;

/** Header names the signature owns: endpoint headers may not replace them. */
export const SIGNATURE_HEADERS: Record<SignatureScheme, readonly string[]> = {
  'standard-webhooks': ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
  'timestamped-hex': ['x-webhook-signature', 'x-webhook-id'],
};

/**
 * Turns one secret into its HMAC key. Keys are `KeyObject`s, so logging one shows its size, never its bytes.
 * The message names the secret's position, never its text.
 */
function parseSecret(scheme: SignatureScheme, secret: unknown, where: string): KeyObject {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new WebhookError('WD_INVALID_ENDPOINT', `Expected ${where} to be a non-empty string, got ${typeof secret === 'string' ? 'an empty string' : describe(secret)}`);
  }
  if (scheme === 'timestamped-hex') return createSecretKey(Buffer.from(secret, 'utf8'));
  if (!secret.startsWith(WHSEC_PREFIX)) {
    throw new WebhookError('WD_INVALID_ENDPOINT', `Expected ${where} to start with \`whsec_\` (standard-webhooks), got a secret without that prefix`);
  }
  const encoded = secret.slice(WHSEC_PREFIX.length);
  if (!BASE64.test(encoded)) {
    throw new WebhookError('WD_INVALID_ENDPOINT', `Expected ${where} to be \`whsec_\` followed by base64, got characters outside base64`);
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
    throw new WebhookError('WD_INVALID_ENDPOINT', `Expected ${where} to hold ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} key bytes, got ${key.length}`);
  }
  return createSecretKey(key);
}

/** Parses `Endpoint.secret` (one or several) into keys. Throws `WD_INVALID_ENDPOINT`. */
export function parseSecrets(scheme: SignatureScheme, secret: unknown): KeyObject[] {
  if (Array.isArray(secret)) {
    if (secret.length === 0 || secret.length > MAX_SECRETS) {
      throw new WebhookError('WD_INVALID_ENDPOINT', `Expected \`secret\` to hold 1 to ${MAX_SECRETS} secrets, got ${secret.length}`);
    }
    return secret.map((s, i) => parseSecret(scheme, s, `\`secret[${i}]\``));
  }
  return [parseSecret(scheme, secret, '`secret`')];
}

function hmac(key: KeyObject, prefix: string, body: Buffer, encoding: 'base64' | 'hex'): string {
  return createHmac('sha256', key).update(prefix).update(body).digest(encoding);
}

/**
 * The signature header value for one attempt.
 * - standard-webhooks: `v1,<base64>` per key, space-separated, over `${id}.${timestamp}.${body}`.
 * - timestamped-hex: `t=<unix>,v1=<hex>[,v1=<hex>…]` over `${timestamp}.${body}`.
 */
export function signatureValue(scheme: SignatureScheme, keys: readonly KeyObject[], eventId: string, unixSeconds: number, body: Buffer): string {
  if (scheme === 'standard-webhooks') {
    const prefix = `${eventId}.${unixSeconds}.`;
    let value = '';
    for (let i = 0; i < keys.length; i++) value += (i === 0 ? 'v1,' : ' v1,') + hmac(keys[i]!, prefix, body, 'base64');
    return value;
  }
  const prefix = `${unixSeconds}.`;
  let value = `t=${unixSeconds}`;
  for (const key of keys) value += `,v1=${hmac(key, prefix, body, 'hex')}`;
  return value;
}

/** Appends the signature headers (undici's flat `[name, value, …]` form) for one attempt. */
export function pushSignatureHeaders(
  headers: string[],
  scheme: SignatureScheme,
  keys: readonly KeyObject[],
  eventId: string,
  unixSeconds: number,
  body: Buffer,
): void {
  const signature = signatureValue(scheme, keys, eventId, unixSeconds, body);
  if (scheme === 'standard-webhooks') {
    headers.push('webhook-id', eventId, 'webhook-timestamp', String(unixSeconds), 'webhook-signature', signature);
  } else {
    headers.push('x-webhook-id', eventId, 'x-webhook-signature', signature);
  }
}
