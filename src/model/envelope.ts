import { WebhookError, describe } from '../core/errors.js';
import { uuidv7 } from '../core/ids.js';
import type { WebhookEvent } from './types.js';

const MAX_TYPE_LENGTH = 256;
const MAX_ID_LENGTH = 256;
/** Ids travel in a header and in the signed string, where `.` separates fields. */
const ID_PATTERN = /^[A-Za-z0-9_\-:~+=/]+$/;

/** One event, serialized once and shared by every message (endpoint) it fans out to. */
export interface PreparedEvent {
  readonly id: string;
  readonly type: string;
  readonly body: Buffer;
}

/** Nesting deeper than this is left to JSON.stringify, which reports cycles itself. */
const MAX_CHECK_DEPTH = 64;

/**
 * Throws on functions, symbols, NaN and ±Infinity anywhere in `value`, which JSON.stringify
 * would drop or turn into `null` without a word. A walk before a plain stringify costs far less than a replacer, which
 * takes JSON.stringify off its fast path. Values with `toJSON` (dates) are left to it.
 */
function assertJsonValues(value: unknown, depth: number): void {
  const type = typeof value;
  if (type === 'number') {
    if (Number.isFinite(value)) return;
    throw new WebhookError('WD_INVALID_EVENT', `Expected \`data\` to hold only finite numbers, got ${describe(value)}`);
  }
  if (type === 'function' || type === 'symbol') {
    throw new WebhookError('WD_INVALID_EVENT', `Expected \`data\` to hold only JSON values, got ${describe(value)}`);
  }
  if (type !== 'object' || value === null || depth > MAX_CHECK_DEPTH) return;
  // JSON.stringify writes a Map or a Set as `{}`: its entries would be lost without a word.
  if (value instanceof Map || value instanceof Set) {
    throw new WebhookError('WD_INVALID_EVENT', `Expected \`data\` to hold only JSON values, got a ${value instanceof Map ? 'Map' : 'Set'} (JSON.stringify writes it as {}): convert it first`);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertJsonValues(value[i], depth + 1);
    return;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return;
  for (const key in value) {
    if (Object.hasOwn(value, key)) assertJsonValues((value as Record<string, unknown>)[key], depth + 1);
  }
}

/** The last clock reading turned into an ISO time: the events of one millisecond share it. */
let isoMs = Number.NaN;
let isoText = '';
/** The last event type quoted as JSON: a stream of events mostly repeats a few types. */
let quotedType = '';
let quotedTypeJson = '""';

/**
 * `JSON.stringify({ id, type, timestamp, data })`, byte for byte, without building the wrapper
 * object or a Date per event. Only for a generated timestamp and data without a top-level
 * `toJSON` (which would be called with the key `'data'`, or could drop the member): ids match
 * {@link ID_PATTERN} and an ISO time has nothing to escape, so both go in unquoted.
 */
function envelopeJson(eventId: string, type: string, now: number, data: unknown): string {
  if (now !== isoMs) {
    isoText = new Date(now).toISOString();
    isoMs = now;
  }
  if (type !== quotedType) {
    quotedTypeJson = JSON.stringify(type);
    quotedType = type;
  }
  return '{"id":"' + eventId + '","type":' + quotedTypeJson + ',"timestamp":"' + isoText + '","data":' + JSON.stringify(data) + '}';
}

/**
 * Validates an event and serializes `{ id, type, timestamp, data }`; a missing id is a new
 * UUIDv7 and a missing timestamp is `now` (clock milliseconds). Throws `WD_INVALID_EVENT` /
 * `WD_PAYLOAD_TOO_LARGE`.
 */
export function prepareEvent(event: unknown, maxPayloadBytes: number, now: number): PreparedEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new WebhookError('WD_INVALID_EVENT', `Expected the event to be an object, got ${describe(event)}`);
  }
  const { type, data, id, timestamp } = event as WebhookEvent;
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_LENGTH) {
    throw new WebhookError('WD_INVALID_EVENT', `Expected \`type\` to be a string of 1 to ${MAX_TYPE_LENGTH} characters, got ${describe(type)}`);
  }
  if (id !== undefined && (typeof id !== 'string' || id.length > MAX_ID_LENGTH || !ID_PATTERN.test(id))) {
    throw new WebhookError('WD_INVALID_EVENT', `Expected \`id\` to be 1 to ${MAX_ID_LENGTH} characters of [A-Za-z0-9_-:~+=/] (no \`.\`), got ${describe(id)}`);
  }
  if (timestamp !== undefined && !(timestamp instanceof Date && Number.isFinite(timestamp.getTime()))) {
    throw new WebhookError('WD_INVALID_EVENT', `Expected \`timestamp\` to be a valid Date, got ${describe(timestamp)}`);
  }
  if (data === undefined || typeof data === 'function' || typeof data === 'symbol') {
    throw new WebhookError('WD_INVALID_EVENT', `Expected \`data\` to be a JSON value, got ${describe(data)}`);
  }
  assertJsonValues(data, 0);
  const eventId = id ?? uuidv7(now);
  let json: string;
  try {
    json =
      timestamp === undefined && (typeof data !== 'object' || data === null || typeof (data as { toJSON?: unknown }).toJSON !== 'function')
        ? envelopeJson(eventId, type, now, data)
        : JSON.stringify({ id: eventId, type, timestamp: (timestamp ?? new Date(now)).toISOString(), data });
  } catch (error) {
    // JSON.stringify throws TypeError for cycles and BigInt; its message says which.
    // A toJSON can throw anything, even null or an object whose `message` getter throws.
    const reason = error instanceof Error ? error.message : `it threw ${describe(error)}`;
    throw new WebhookError('WD_INVALID_EVENT', `Expected \`data\` to be serializable as JSON: ${reason}`, { cause: error });
  }
  const body = Buffer.from(json, 'utf8');
  if (body.length > maxPayloadBytes) {
    throw new WebhookError('WD_PAYLOAD_TOO_LARGE', `Expected the serialized event to be at most ${maxPayloadBytes} bytes (\`maxPayloadBytes\`), got ${body.length}`);
  }
  return { id: eventId, type, body };
}
