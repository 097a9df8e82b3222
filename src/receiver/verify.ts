import { timingSafeEqual, type KeyObject } from 'node:crypto';
import { WebhookError, describe, isWebhookError } from '../core/errors.js';
import { signedDigest } from '../signing/signatures.js';
import { verifyEd25519 } from '../signing/ed25519.js';
import { readHeaders, type HeadersLike } from './verify-headers.js';
import { readClock, receiverKeys, resolveVerifyOptions, type ResolvedVerifyOptions, type VerifyOptions } from './verify-options.js';

export type { HeadersLike } from './verify-headers.js';
export type { VerifyOptions } from './verify-options.js';

/**
 * The body of a verified request, as the sender serialized it. `timestamp` is the ISO 8601
 * text that was sent, not a `Date`: the references return the parsed JSON as-is, and a string
 * forwards and compares unchanged (`new Date(envelope.timestamp)` when a date is wanted).
 */
export interface WebhookEnvelope<T = unknown> {
  id: string;
  type: string;
  timestamp: string;
  data: T;
}

/** Unix seconds, canonical: digits without a sign, spaces or leading zeros (the signed text must be the one read). */
const UNIX_SECONDS = /^(?:0|[1-9]\d{0,11})$/;
/** Canonical base64 of 32 bytes: the last character carries 4 bits and two zero bits, then one `=`. */
const BASE64_DIGEST = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
/** Canonical base64 of 64 bytes (an ed25519 signature): the last character carries 2 bits and four zero bits, then `==`. */
const BASE64_ED25519 = /^[A-Za-z0-9+/]{85}[AQgw]==$/;
/** Lower-case hex of 32 bytes, as every Stripe-style sender writes it. */
const HEX_DIGEST = /^[0-9a-f]{64}$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function fail(reason: string, cause?: unknown): never {
  throw new WebhookError('WD_VERIFICATION_FAILED', `Webhook verification failed: ${reason}`, cause === undefined ? undefined : { cause });
}

/**
 * Node's `req.headers` (and fetch's `Headers`) join a header sent twice into one value with
 * `", "`. No signature header contains a comma followed by a space, so that pair means the
 * request repeated the header, which is refused as an array of two values is.
 */
function refuseJoined(value: string, name: string): void {
  if (value.includes(', ')) fail(`header \`${name}\` was given more than once (its values joined with ", "), or is malformed`);
}

function timestampWithin(raw: string | undefined, name: string, toleranceSeconds: number, nowMs: number): string {
  if (raw === undefined) fail(`missing timestamp (${name})`);
  if (!UNIX_SECONDS.test(raw)) fail(`malformed timestamp (${name}): expected Unix seconds as plain digits, got ${describe(raw)}`);
  const ts = Number(raw);
  const now = Math.floor(nowMs / 1000);
  if (ts < now - toleranceSeconds) fail(`timestamp too old: ${now - ts} s before now, tolerance ${toleranceSeconds} s`);
  if (ts > now + toleranceSeconds) fail(`timestamp in the future: ${ts - now} s after now, tolerance ${toleranceSeconds} s`);
  return raw;
}

/**
 * Constant-time: every candidate is compared in full against every expected digest, with no
 * early exit, so the time taken says nothing about which key or which entry matched or how
 * much of one did. Both sides are 32 bytes (candidates were checked for shape first).
 */
function anyMatches(expected: readonly Buffer[], candidates: readonly Buffer[]): boolean {
  let matched = 0;
  for (const want of expected) {
    for (const got of candidates) matched |= Number(timingSafeEqual(got, want));
  }
  return matched === 1;
}

function digests(keys: readonly KeyObject[], prefix: string, body: Uint8Array): Buffer[] {
  return keys.map((key) => signedDigest(key, prefix, body));
}

/**
 * Whether any `v1a` candidate is a signature by any public key. Every pair is checked: a
 * signature and a public key are public, so timing reveals nothing a forger could use, and
 * the checks are few (at most 8 keys).
 */
function anyEd25519(publicKeys: readonly KeyObject[], signed: Buffer, candidates: readonly Buffer[]): boolean {
  let matched = false;
  for (const key of publicKeys) for (const got of candidates) matched = verifyEd25519(key, signed, got) || matched;
  return matched;
}

/**
 * `webhook-signature: v1,<base64> v1a,<base64> …`: `v1` entries are checked against the HMAC
 * keys (`whsec_`), `v1a` entries against the ed25519 public keys (`whpk_`); other versions are
 * skipped, as the spec says. One match of either kind verifies.
 */
function verifyStandard(headers: Map<string, string>, keys: readonly KeyObject[], body: Uint8Array, options: ResolvedVerifyOptions, nowMs: number): void {
  const id = headers.get('webhook-id');
  const signature = headers.get('webhook-signature');
  if (id === undefined) fail('missing webhook-id');
  if (signature === undefined) fail('missing webhook-signature');
  refuseJoined(signature, 'webhook-signature');
  const ts = timestampWithin(headers.get('webhook-timestamp'), 'webhook-timestamp', options.toleranceSeconds, nowMs);
  const hmacKeys = keys.filter((key) => key.type === 'secret');
  const publicKeys = keys.filter((key) => key.type === 'public');
  let versions = 0;
  const candidates: Buffer[] = [];
  const signatures: Buffer[] = [];
  for (const entry of signature.split(' ')) {
    // Strict: `v1,<sig>!!`, `v1,<sig>,x` or a re-padded `<sig>` never count, so a signature has one spelling.
    if (entry.startsWith('v1,')) {
      versions++;
      const text = entry.slice(3);
      if (BASE64_DIGEST.test(text)) candidates.push(Buffer.from(text, 'base64'));
    } else if (entry.startsWith('v1a,')) {
      versions++;
      const text = entry.slice(4);
      if (BASE64_ED25519.test(text)) signatures.push(Buffer.from(text, 'base64'));
    }
  }
  if (versions === 0) fail('no v1 or v1a signature in webhook-signature');
  const prefix = `${id}.${ts}.`;
  // Both kinds are always checked when the receiver holds both, so which one matched stays unseen.
  const hmacOk = hmacKeys.length > 0 && anyMatches(digests(hmacKeys, prefix, body), candidates);
  const ed25519Ok = publicKeys.length > 0 && signatures.length > 0 && anyEd25519(publicKeys, Buffer.concat([Buffer.from(prefix, 'utf8'), body]), signatures);
  if (!hmacOk && !ed25519Ok) fail('no signature matches');
}

/** `<header>: t=<unix>,v1=<hex>[,v1=<hex>…]`; other keys (Stripe's `v0`) are skipped. */
function verifyTimestampedHex(headers: Map<string, string>, keys: readonly KeyObject[], body: Uint8Array, options: ResolvedVerifyOptions, nowMs: number): void {
  const name = options.header;
  const signature = headers.get(name);
  if (signature === undefined) fail(`missing ${name}`);
  refuseJoined(signature, name);
  let t: string | undefined;
  let versions = 0;
  const candidates: Buffer[] = [];
  for (const part of signature.split(',')) {
    if (part.startsWith('t=')) {
      if (t !== undefined) fail(`more than one t= in ${name}`);
      t = part.slice(2);
    } else if (part.startsWith('v1=')) {
      versions++;
      const text = part.slice(3);
      if (HEX_DIGEST.test(text)) candidates.push(Buffer.from(text, 'hex'));
    }
  }
  const ts = timestampWithin(t, `t= in ${name}`, options.toleranceSeconds, nowMs);
  if (versions === 0) fail(`no v1 signature in ${name}`);
  if (!anyMatches(digests(keys, `${ts}.`, body), candidates)) fail('no signature matches');
}

/** Signature first, parsing second: unauthenticated bytes never reach `JSON.parse`. */
function parseEnvelope<T>(body: string | Uint8Array): WebhookEnvelope<T> {
  const notEnvelope = 'the body is signed but is not a webhook envelope ({ "id", "type", "timestamp", "data" } as JSON)';
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : UTF8.decode(body));
  } catch (error) {
    fail(`${notEnvelope}: ${(error as Error).message}`, error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${notEnvelope}: got ${describe(value)}`);
  // Own properties only: a key absent from the JSON must not be read from Object.prototype.
  const record = value as Record<string, unknown>;
  for (const key of ['id', 'type', 'timestamp'] as const) {
    const field = Object.hasOwn(record, key) ? record[key] : undefined;
    if (typeof field !== 'string') fail(`${notEnvelope}: expected \`${key}\` to be a string, got ${describe(field)}`);
  }
  if (!Object.hasOwn(record, 'data')) fail(`${notEnvelope}: \`data\` is missing`);
  return { id: record.id as string, type: record.type as string, timestamp: record.timestamp as string, data: record.data as T };
}

function verifyRequest<T>(body: unknown, headers: unknown, keys: readonly KeyObject[], options: ResolvedVerifyOptions): WebhookEnvelope<T> {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) fail(`expected the body to be the raw bytes received (a string, Buffer or Uint8Array), got ${describe(body)}`);
  const names = options.signature === 'standard-webhooks' ? ['webhook-id', 'webhook-timestamp', 'webhook-signature'] : [options.header];
  const found = readHeaders(headers, names);
  const nowMs = readClock(options.now);
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (options.signature === 'standard-webhooks') verifyStandard(found, keys, bytes, options, nowMs);
  else verifyTimestampedHex(found, keys, bytes, options, nowMs);
  return parseEnvelope<T>(body);
}

/**
 * Verifies a webhook request as a receiver and returns its parsed envelope.
 *
 * - `body`: the raw bytes received (a string, `Buffer` or `Uint8Array`), not re-serialized JSON.
 * - `headers`: Node's `req.headers`, a plain record (any case) or a fetch `Headers`. A header
 *   given more than once (an array of several, two spellings of one name, or a signature
 *   header whose copies `req.headers` joined with `", "`) is refused: the request is
 *   ambiguous, and the app might read the other value than the one verified.
 * - `secret`: one secret or several (rotation: any one verifies). Standard-webhooks secrets are
 *   read as the reference libraries read them: `whsec_` optional, base64 padded or not, any key
 *   length; a `whpk_` ed25519 public key verifies `v1a` signatures (a `whsk_` secret key is
 *   refused: it belongs to the sender). `'timestamped-hex'` secrets are used as UTF-8 text, as
 *   Stripe does.
 *
 * Throws `WD_VERIFICATION_FAILED` when the request is missing a header, malformed, outside
 * `toleranceSeconds` (stale or future), signed with none of the secrets, or signed but not a
 * JSON envelope. Throws `WD_INVALID_OPTIONS` when `secret` or `options` is wrong: that is the
 * receiver's own configuration, and must surface as a bug, not as a stream of rejected requests.
 */
export function verifyWebhook<T = unknown>(
  body: string | Uint8Array,
  headers: HeadersLike,
  secret: string | readonly string[],
  options?: VerifyOptions,
): WebhookEnvelope<T> {
  let resolved: ResolvedVerifyOptions;
  let keys: KeyObject[];
  try {
    resolved = resolveVerifyOptions(options);
    keys = receiverKeys(resolved.signature, secret);
  } catch (error) {
    if (isWebhookError(error)) throw error;
    // A revoked Proxy or a throwing array getter as the secret list.
    throw new WebhookError('WD_INVALID_OPTIONS', 'Expected `secret` and `options` to be readable, reading them threw', { cause: error });
  }
  try {
    return verifyRequest<T>(body, headers, keys, resolved);
  } catch (error) {
    if (isWebhookError(error)) throw error;
    fail('reading the request threw', error);
  }
}
