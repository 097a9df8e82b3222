import { timingSafeEqual } from 'node:crypto';
import { WebhookError, isWebhookError } from './errors.js';
import type { SignatureScheme } from './options.js';
import { parseSecrets, signatureValue } from './signing.js';

export interface VerifyOptions {
  /** Seconds a request's timestamp may differ from now, either way. Minimum `0`. @default 300 */
  toleranceSeconds?: number;
  /** The scheme the sender used. @default 'standard-webhooks' */
  signature?: SignatureScheme;
  /** Milliseconds since the epoch, for tests. @default Date.now */
  now?: () => number;
}

/** Node's `req.headers`, a plain record, or a fetch `Headers`. */
export type HeadersLike = Record<string, string | string[] | undefined> | { get(name: string): string | null };

function fail(reason: string): never {
  throw new WebhookError('WD_VERIFICATION_FAILED', `Webhook verification failed: ${reason}`);
}

function header(headers: HeadersLike, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    for (const key of Object.keys(record)) if (key.toLowerCase() === name) value = record[key];
  }
  return Array.isArray(value) ? value[0] : value;
}

function timestampWithin(raw: string | undefined, toleranceSeconds: number, nowMs: number): number {
  if (raw === undefined) fail('missing timestamp');
  if (!/^\d{1,12}$/.test(raw)) fail('malformed timestamp');
  const ts = Number(raw);
  const now = Math.floor(nowMs / 1000);
  if (ts < now - toleranceSeconds) fail('timestamp too old');
  if (ts > now + toleranceSeconds) fail('timestamp in the future');
  return ts;
}

/** Constant-time: every candidate is compared against every expected signature, in full. */
function anyMatches(expected: string[], candidates: string[], encoding: 'base64' | 'hex'): boolean {
  let matched = false;
  for (const e of expected) {
    const want = Buffer.from(e, encoding);
    for (const c of candidates) {
      const got = Buffer.from(c, encoding);
      if (got.length === want.length && timingSafeEqual(got, want)) matched = true;
    }
  }
  return matched;
}

/**
 * Verifies a webhook request as a receiver. Throws `WD_VERIFICATION_FAILED` when it is
 * missing headers, malformed, outside the tolerance window (stale or future), or signed with
 * none of the given secrets. `body` must be the raw bytes received, not re-serialized JSON.
 */
export function verifyWebhook(
  body: string | Buffer,
  headers: HeadersLike,
  secret: string | string[],
  options: VerifyOptions = {},
): void {
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) fail('body must be a string or a Buffer');
  if (typeof headers !== 'object' || headers === null) fail('headers must be an object');
  const scheme = options.signature ?? 'standard-webhooks';
  const tolerance = options.toleranceSeconds ?? 300;
  const now = (options.now ?? Date.now)();
  let keys;
  try {
    keys = parseSecrets(scheme, secret);
  } catch (error) {
    if (isWebhookError(error)) fail(`bad secret (${error.message})`);
    throw error;
  }
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;

  if (scheme === 'standard-webhooks') {
    const id = header(headers, 'webhook-id');
    const signature = header(headers, 'webhook-signature');
    if (id === undefined || id === '') fail('missing webhook-id');
    if (signature === undefined || signature === '') fail('missing webhook-signature');
    const ts = timestampWithin(header(headers, 'webhook-timestamp'), tolerance, now);
    const candidates = signature.split(' ').flatMap((part) => (part.startsWith('v1,') ? [part.slice(3)] : []));
    if (candidates.length === 0) fail('no v1 signature');
    const expected = keys.map((key) => signatureValue(scheme, [key], id, ts, bytes).slice(3));
    if (!anyMatches(expected, candidates, 'base64')) fail('no signature matches');
    return;
  }

  const signature = header(headers, 'x-webhook-signature');
  if (signature === undefined || signature === '') fail('missing x-webhook-signature');
  const parts = signature.split(',');
  const t = parts.find((p) => p.startsWith('t='))?.slice(2);
  const ts = timestampWithin(t, tolerance, now);
  const candidates = parts.flatMap((p) => (p.startsWith('v1=') && /^[0-9a-f]{64}$/.test(p.slice(3)) ? [p.slice(3)] : []));
  if (candidates.length === 0) fail('no v1 signature');
  const expected = keys.map((key) => signatureValue(scheme, [key], '', ts, bytes).split(',v1=')[1]!);
  if (!anyMatches(expected, candidates, 'hex')) fail('no signature matches');
}
