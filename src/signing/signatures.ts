import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { WebhookError, describe } from '../core/errors.js';
import type { SignatureScheme } from '../signing/scheme.js';
import { PUBLIC_KEY_PREFIX, SECRET_KEY_PREFIX, parseSecretKey, signEd25519 } from './ed25519.js';

const WHSEC_PREFIX = 'whsec_';
/** Base64 characters without padding; padding is counted apart (see {@link decodeSecretKey}). */
const BASE64_BODY = /^[A-Za-z0-9+/]*$/;
/** The Standard Webhooks spec: keys SHOULD be 24 to 64 bytes. A sender refuses anything else. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
/** A rotation rarely has more than two; the cap keeps one endpoint from costing many HMACs per attempt. */
export const MAX_SECRETS = 8;
/** The `'timestamped-hex'` signature header unless another name is given. */
export const DEFAULT_SIGNATURE_HEADER = 'x-webhook-signature';

/** Header names the signature owns: endpoint headers may not replace them. */
export const SIGNATURE_HEADERS: Record<SignatureScheme, readonly string[]> = {
  'standard-webhooks': ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
  'timestamped-hex': [DEFAULT_SIGNATURE_HEADER, 'x-webhook-id'],
};

/**
 * Decodes a standard-webhooks secret the way the reference libraries (`standardwebhooks`,
 * `svix`) read one, so a secret they accept works here too: an optional `whsec_` prefix, then
 * base64 with or without its `=` padding, at least 4 characters. Two of their accidents are
 * refused: a lone trailing character (length 1 mod 4), which they skip without checking it
 * (so `whsec_…\n` passes there), and any character outside base64. Returns the key bytes, or
 * why the text is not a key (never quoting the text: it is a secret).
 */
export function decodeSecretKey(text: string): Buffer | string {
  const encoded = text.startsWith(WHSEC_PREFIX) ? text.slice(WHSEC_PREFIX.length) : text;
  let end = encoded.length;
  while (end > 0 && encoded.charCodeAt(end - 1) === 0x3d /* = */) end--;
  const body = encoded.slice(0, end);
  if (!BASE64_BODY.test(body)) return 'characters outside base64';
  if (encoded.length - end > 2 || encoded.length < 4 || body.length % 4 === 1) return `a base64 text of impossible length or padding (${encoded.length} characters)`;
  // Buffer.from ignores a missing or short padding, as the references do; the bits left over
  // in a last partial character are dropped by both.
  return Buffer.from(body, 'base64');
}

/**
 * A `whsk_` ed25519 secret key (Standard Webhooks `v1a`) as a private `KeyObject`. A `whpk_`
 * public key is refused by name: it verifies, it cannot sign.
 */
function parseAsymmetric(secret: string, where: string): KeyObject {
  if (secret.startsWith(PUBLIC_KEY_PREFIX)) {
    throw new WebhookError('WD_INVALID_ENDPOINT', `Expected ${where} to be a secret (\`whsec_\` or \`whsk_\`), got a \`whpk_\` public key: it is for receivers, it cannot sign`);
  }
  const key = parseSecretKey(secret);
  if (typeof key === 'string') throw new WebhookError('WD_INVALID_ENDPOINT', `Expected ${where} to be a \`whsk_\` ed25519 secret key, got ${key}`);
  return key;
}

/**
 * Turns one secret into its key: an HMAC key, or for a `whsk_` key (standard-webhooks only) an
 * ed25519 private key, which signs `v1a`. Keys are `KeyObject`s, so logging one shows its size,
 * never its bytes. The message names the secret's position, never its text.
 */
function parseSecret(scheme: SignatureScheme, secret: unknown, where: string): KeyObject {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new WebhookError('WD_INVALID_ENDPOINT', `Expected ${where} to be a non-empty string, got ${typeof secret === 'string' ? 'an empty string' : describe(secret)}`);
  }
  // Timestamped-hex secrets are text, whatever they start with (PayMongo's HMAC secrets start with `whsk_`).
  if (scheme === 'timestamped-hex') return createSecretKey(Buffer.from(secret, 'utf8'));
  // `_` is no base64 character, so these prefixes were never valid `whsec_`-less secrets.
  if (secret.startsWith(SECRET_KEY_PREFIX) || secret.startsWith(PUBLIC_KEY_PREFIX)) return parseAsymmetric(secret, where);
  const key = decodeSecretKey(secret);
  if (typeof key === 'string') {
    throw new WebhookError('WD_INVALID_ENDPOINT', `Expected ${where} to be base64 key bytes, optionally after \`whsec_\` (standard-webhooks), got ${key}`);
  }
  // Receivers accept shorter keys (see verifyWebhook); a sender is where keys are born, so it
  // holds them to the spec's range and a weak key never goes into use.
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

/** HMAC-SHA256 over `prefix` then `body`, the 32 raw bytes. `key` is a secret (HMAC) key. */
export function signedDigest(key: KeyObject, prefix: string, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(prefix).update(body).digest();
}

function hmac(key: KeyObject, prefix: string, body: Buffer, encoding: 'base64' | 'hex'): string {
  return createHmac('sha256', key).update(prefix).update(body).digest(encoding);
}

/**
 * `String(unixSeconds)` of the second last signed: the attempts of one second share it, in
 * the signed text and in the timestamp header alike.
 */
let lastSeconds = Number.NaN;
let lastSecondsText = '';

function secondsText(unixSeconds: number): string {
  if (unixSeconds !== lastSeconds) {
    lastSeconds = unixSeconds;
    lastSecondsText = String(unixSeconds);
  }
  return lastSecondsText;
}

/** One standard-webhooks entry: `v1,<HMAC>` for a secret key, `v1a,<ed25519>` for a private one. */
function standardEntry(key: KeyObject, prefix: string, body: Buffer): string {
  return key.type === 'secret' ? 'v1,' + hmac(key, prefix, body, 'base64') : 'v1a,' + signEd25519(key, prefix, body);
}

/**
 * The signature header value for one attempt.
 * - standard-webhooks: one entry per key, space-separated, over `${id}.${timestamp}.${body}`:
 *   `v1,<base64 HMAC-SHA256>` for a `whsec_` secret, `v1a,<base64 ed25519>` for a `whsk_` key.
 * - timestamped-hex: `t=<unix>,v1=<hex>[,v1=<hex>…]` over `${timestamp}.${body}`.
 */
export function signatureValue(scheme: SignatureScheme, keys: readonly KeyObject[], eventId: string, unixSeconds: number, body: Buffer): string {
  const seconds = secondsText(unixSeconds);
  if (scheme === 'standard-webhooks') {
    const prefix = eventId + '.' + seconds + '.';
    // One HMAC key is the rule; ed25519 and rotation (several) the exceptions.
    if (keys.length === 1) return keys[0]!.type === 'secret' ? 'v1,' + hmac(keys[0]!, prefix, body, 'base64') : standardEntry(keys[0]!, prefix, body);
    let value = '';
    for (let i = 0; i < keys.length; i++) value += (i === 0 ? '' : ' ') + standardEntry(keys[i]!, prefix, body);
    return value;
  }
  const prefix = seconds + '.';
  let value = 't=' + seconds;
  for (const key of keys) value += ',v1=' + hmac(key, prefix, body, 'hex');
  return value;
}

/** How many entries (names and values) the signature adds to a flat header list. */
function signatureEntries(scheme: SignatureScheme): number {
  return scheme === 'standard-webhooks' ? 6 : 4;
}

/** Writes the signature headers into `headers` from index `at` on. */
function writeSignatureHeaders(
  headers: string[],
  at: number,
  scheme: SignatureScheme,
  keys: readonly KeyObject[],
  eventId: string,
  unixSeconds: number,
  body: Buffer,
  signatureHeader: string,
): void {
  const signature = signatureValue(scheme, keys, eventId, unixSeconds, body);
  if (scheme === 'standard-webhooks') {
    headers[at] = 'webhook-id';
    headers[at + 1] = eventId;
    headers[at + 2] = 'webhook-timestamp';
    headers[at + 3] = secondsText(unixSeconds);
    headers[at + 4] = 'webhook-signature';
    headers[at + 5] = signature;
  } else {
    headers[at] = 'x-webhook-id';
    headers[at + 1] = eventId;
    headers[at + 2] = signatureHeader;
    headers[at + 3] = signature;
  }
}

/**
 * The whole flat header list of one attempt: `content-type: application/json`, `user-agent`,
 * the endpoint's own headers, then the signature's. Built at its final size, once per
 * attempt: undici reads it while dispatching and keeps none of it.
 * @default signatureHeader 'x-webhook-signature'
 */
export function attemptHeaders(
  userAgent: string,
  own: readonly string[],
  scheme: SignatureScheme,
  keys: readonly KeyObject[],
  eventId: string,
  unixSeconds: number,
  body: Buffer,
  signatureHeader: string = DEFAULT_SIGNATURE_HEADER,
): string[] {
  const count = own.length;
  const headers = new Array<string>(4 + count + signatureEntries(scheme));
  headers[0] = 'content-type';
  headers[1] = 'application/json';
  headers[2] = 'user-agent';
  headers[3] = userAgent;
  for (let i = 0; i < count; i++) headers[4 + i] = own[i]!;
  writeSignatureHeaders(headers, 4 + count, scheme, keys, eventId, unixSeconds, body, signatureHeader);
  return headers;
}
