import { createSecretKey, type KeyObject } from 'node:crypto';
import { WebhookError, describe, invalidOptions } from '../core/errors.js';
import type { SignatureScheme } from '../signing/scheme.js';
import { DEFAULT_SIGNATURE_HEADER, MAX_SECRETS, decodeSecretKey } from '../signing/signatures.js';
import { PUBLIC_KEY_PREFIX, SECRET_KEY_PREFIX, parsePublicKey } from '../signing/ed25519.js';

/** What a receiver tells {@link verifyWebhook} about itself. Every key is optional. */
export interface VerifyOptions {
  /**
   * Seconds a request's timestamp may differ from now, either way: older is a replay, newer is
   * a forged or skewed clock. A finite number, minimum `0`. @default 300
   */
  toleranceSeconds?: number;
  /** The scheme the sender used. @default 'standard-webhooks' */
  signature?: SignatureScheme;
  /**
   * The `'timestamped-hex'` signature header, for example `stripe-signature`. Header names are
   * case-insensitive; any case is accepted. Only with `signature: 'timestamped-hex'`.
   * @default 'x-webhook-signature'
   */
  header?: string;
  /** The clock, in milliseconds since the epoch (tests inject one). @default Date.now */
  now?: () => number;
}

/** {@link VerifyOptions} checked, defaults filled in. */
export interface ResolvedVerifyOptions {
  readonly toleranceSeconds: number;
  readonly signature: SignatureScheme;
  readonly header: string;
  readonly now: () => number;
}

const KNOWN = new Set(['toleranceSeconds', 'signature', 'header', 'now']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DEFAULT_TOLERANCE_SECONDS = 300;

function optionsError(message: string, cause: unknown): WebhookError {
  return new WebhookError('WD_INVALID_OPTIONS', message, { cause });
}

/**
 * Own properties only: a polluted `Object.prototype` changes nothing, and getters or Proxy
 * traps that throw become `WD_INVALID_OPTIONS` with the original error as `cause`.
 */
function ownValues(options: object): Map<string, unknown> {
  const values = new Map<string, unknown>();
  let keys: string[];
  try {
    keys = Object.keys(options);
  } catch (error) {
    throw optionsError('Expected verifyWebhook options to be a readable object, reading its keys threw', error);
  }
  for (const key of keys) {
    if (!KNOWN.has(key)) {
      throw new WebhookError('WD_INVALID_OPTIONS', `Unknown verifyWebhook option \`${key.length > 40 ? `${key.slice(0, 40)}…` : key}\`, expected one of ${[...KNOWN].map((k) => `\`${k}\``).join(', ')}`);
    }
    try {
      values.set(key, (options as Record<string, unknown>)[key]);
    } catch (error) {
      throw optionsError(`Expected \`${key}\` to be readable, reading it threw`, error);
    }
  }
  return values;
}

/** Validates every {@link VerifyOptions} key. Throws `WD_INVALID_OPTIONS`. */
export function resolveVerifyOptions(options: unknown): ResolvedVerifyOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOptions('options', 'an object', options);
  }
  const values = ownValues(options);
  // `undefined` means "not given"; `null` is a wrong value, not a default.
  const get = (key: string, fallback: unknown): unknown => (values.get(key) === undefined ? fallback : values.get(key));
  const tolerance = get('toleranceSeconds', DEFAULT_TOLERANCE_SECONDS);
  // NaN, Infinity and strings would each switch part of the replay check off without a word.
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw invalidOptions('toleranceSeconds', 'a finite number >= 0', tolerance);
  }
  const signature = get('signature', 'standard-webhooks');
  if (signature !== 'standard-webhooks' && signature !== 'timestamped-hex') {
    throw invalidOptions('signature', "`'standard-webhooks'` or `'timestamped-hex'`", signature);
  }
  let header = values.get('header');
  if (header !== undefined) {
    if (typeof header !== 'string' || !TOKEN.test(header)) throw invalidOptions('header', 'a header name (an HTTP token)', header);
    // Standard-webhooks header names are fixed by the spec: a header given there was meant for another scheme.
    if (signature !== 'timestamped-hex') throw invalidOptions('header', "given only with `signature: 'timestamped-hex'`", header);
    header = header.toLowerCase();
  }
  const now = get('now', Date.now);
  if (typeof now !== 'function') throw invalidOptions('now', 'a function returning milliseconds', now);
  return { toleranceSeconds: tolerance, signature, header: (header as string | undefined) ?? DEFAULT_SIGNATURE_HEADER, now: now as () => number };
}

/** Calls the receiver's clock. Throws `WD_INVALID_OPTIONS` when it throws or returns no time. */
export function readClock(now: () => number): number {
  let ms: unknown;
  try {
    ms = now();
  } catch (error) {
    throw optionsError('Expected `now()` to return milliseconds since the epoch, it threw', error);
  }
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw invalidOptions('now()', 'milliseconds since the epoch (a finite number)', ms);
  return ms;
}

/**
 * Parsed `whpk_` keys, by their text. Building an ed25519 `KeyObject` costs about as much as
 * verifying a signature (measured: ~200 µs each on a busy 2-core machine), and a receiver
 * passes the same key with every request. Public keys only: secrets are never kept here.
 */
const publicKeys = new Map<string, KeyObject>();
const MAX_CACHED_PUBLIC_KEYS = 64;

function rememberPublicKey(text: string, key: KeyObject): void {
  if (publicKeys.has(text)) return;
  if (publicKeys.size >= MAX_CACHED_PUBLIC_KEYS) publicKeys.delete(publicKeys.keys().next().value!);
  publicKeys.set(text, key);
}

function receiverKey(scheme: SignatureScheme, secret: unknown, where: string): KeyObject {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected ${where} to be a non-empty string, got ${typeof secret === 'string' ? 'an empty string' : describe(secret)}`);
  }
  if (scheme === 'timestamped-hex') return createSecretKey(Buffer.from(secret, 'utf8'));
  if (secret.startsWith(PUBLIC_KEY_PREFIX)) {
    // An ed25519 public key: it verifies `v1a` signatures, and cannot make one.
    const publicKey = publicKeys.get(secret) ?? parsePublicKey(secret);
    if (typeof publicKey !== 'string') rememberPublicKey(secret, publicKey);
    if (typeof publicKey === 'string') throw new WebhookError('WD_INVALID_OPTIONS', `Expected ${where} to be a \`whpk_\` ed25519 public key, got ${publicKey}`);
    return publicKey;
  }
  if (secret.startsWith(SECRET_KEY_PREFIX)) {
    // A receiver holding the sender's signing key could forge webhooks: the point of `v1a` is that it never has it.
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected ${where} to be a \`whpk_\` public key or a \`whsec_\` secret, got a \`whsk_\` secret key: it belongs to the sender only; give the receiver its \`whpk_\` public key`);
  }
  const key = decodeSecretKey(secret);
  if (typeof key === 'string') {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected ${where} to be base64 key bytes, optionally after \`whsec_\` (standard-webhooks), or a \`whpk_\` public key, got ${key}`);
  }
  // Any length the references take (from 1 byte): the receiver does not choose the sender's key.
  return createSecretKey(key);
}

/**
 * The receiver's secrets as keys: HMAC keys for `whsec_` secrets, public keys for `whpk_` ones. A bad secret is the receiver's own configuration, not the
 * request's fault: `WD_INVALID_OPTIONS`, so it surfaces as a bug instead of as every request
 * being "unverified". Messages name the position, never the text.
 */
export function receiverKeys(scheme: SignatureScheme, secret: unknown): KeyObject[] {
  if (!Array.isArray(secret)) return [receiverKey(scheme, secret, '`secret`')];
  if (secret.length === 0 || secret.length > MAX_SECRETS) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`secret\` to hold 1 to ${MAX_SECRETS} secrets, got ${secret.length}`);
  }
  const keys: KeyObject[] = [];
  for (let i = 0; i < secret.length; i++) keys.push(receiverKey(scheme, secret[i], `\`secret[${i}]\``));
  return keys;
}
