import type { ResolvedEndpoint } from './endpoint.js';
import type { Message } from './message.js';
import type { SignatureScheme } from '../signing/scheme.js';
import type { AttemptResult } from '../transport/transport.js';
import type { Endpoint } from './types.js';

/**
 * A {@link Message} as a store keeps it: plain data, nothing that only lives in this process
 * (no `KeyObject`, no error object). A durable store seals `secrets` and `headers` before
 * writing them; everything else may be stored as is.
 */
export interface MessageRecord {
  id: string;
  eventId: string;
  eventType: string;
  /** The serialized envelope, byte for byte what is signed and sent. */
  body: Buffer;
  url: string;
  origin: string;
  scheme: SignatureScheme;
  /** Secret. Sealed at rest. */
  secrets: string[];
  /** Endpoint headers as `[name, value]` pairs. Sealed at rest: values may be credentials. */
  headers: [string, string][];
  /** The endpoint's own `rateLimit`, when it has one (kept in the sealed blob: no column of its own). */
  rateLimit?: { perSecond: number; burst: number } | null | undefined;
  acceptedAt: number;
  expiresAt: number;
  maxAttempts: number;
  attempts: number;
  dueAt: number;
  idempotencyKey: string | null;
  /** What the last failed attempt saw, for the terminal event after a restart. */
  last: { status: number | null; error: { code: string; message: string } | null; body: string | null } | null;
}

/** The row for `message`. */
export function toRecord(message: Message): MessageRecord {
  const { endpoint, event, last } = message;
  const flat = endpoint.headers;
  const headers: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) headers.push([flat[i]!, flat[i + 1]!]);
  return {
    id: message.id,
    eventId: event.id,
    eventType: event.type,
    body: event.body,
    url: endpoint.url,
    origin: endpoint.origin,
    scheme: endpoint.scheme,
    secrets: [...endpoint.secrets()],
    headers,
    rateLimit: endpoint.rateLimit,
    acceptedAt: message.acceptedAt,
    expiresAt: message.expiresAt,
    maxAttempts: message.maxAttempts,
    attempts: message.attempts,
    dueAt: message.dueAt,
    idempotencyKey: message.idempotencyKey ?? null,
    last: lastRecord(last),
  };
}

/** What a failed attempt saw, as a row keeps it (`null` when nothing failed yet). */
export function lastRecord(last: AttemptResult | undefined): MessageRecord['last'] {
  if (last === undefined) return null;
  return { status: last.status ?? null, error: last.error === undefined ? null : { code: last.error.code, message: last.error.message }, body: last.error === undefined ? (last.body ?? null) : null };
}

function lastResult(last: MessageRecord['last']): AttemptResult | undefined {
  if (last === null) return undefined;
  if (last.error !== null) return { error: { ...last.error, original: { code: last.error.code } }, latencyMs: 0 };
  return { status: last.status ?? 0, retryAfter: undefined, body: last.body ?? undefined, latencyMs: 0 };
}

/**
 * The message a row holds. The endpoint goes through `resolve` (the dispatcher's endpoint
 * resolver) again, so a row is validated and its keys rebuilt exactly as a new send's are.
 */
export function fromRecord(record: MessageRecord, resolve: (endpoint: Endpoint) => ResolvedEndpoint): Message {
  const endpoint = resolve({ url: record.url, secret: record.secrets, headers: Object.fromEntries(record.headers), signature: record.scheme, ...(record.rateLimit != null && { rateLimit: record.rateLimit }) });
  return {
    id: record.id,
    endpoint,
    event: { id: record.eventId, type: record.eventType, body: record.body },
    acceptedAt: record.acceptedAt,
    maxAttempts: record.maxAttempts,
    expiresAt: record.expiresAt,
    idempotencyKey: record.idempotencyKey ?? undefined,
    attempts: record.attempts,
    dueAt: record.dueAt,
    trace: undefined,
    last: lastResult(record.last),
  };
}
