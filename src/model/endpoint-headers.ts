import { WebhookError, describe } from '../core/errors.js';
import {
  MAX_HEADER_COUNT,
  MAX_HEADER_VALUE_LENGTH,
  MAX_HEADERS_LENGTH,
  OWNED_HEADERS,
  isHeaderValue,
  isToken,
} from '../core/http-fields.js';

/**
 * An endpoint's `headers` as read, before any check: `[name, value, …]` exactly as the caller's
 * object, `Map` or `Headers` gave them. Kept next to a resolved endpoint so a later send can
 * tell whether the caller changed the headers in place.
 */
export type HeaderSnapshot = readonly unknown[];

const EMPTY: HeaderSnapshot = Object.freeze([]);

/** fetch's `Headers`, looked up once: the global is a lazy getter in Node. */
const FetchHeaders: (new () => object) | undefined = typeof Headers === 'function' ? Headers : undefined;

/** Read by its own keys (true), or by its entries (a `Map` or a `Headers`). */
function isPlainRecord(raw: object): boolean {
  // The prototype test first: it is the common case, and `instanceof Headers` costs more.
  const proto: unknown = Object.getPrototypeOf(raw);
  if (proto === Object.prototype || proto === null) return true;
  return !(raw instanceof Map) && !(FetchHeaders !== undefined && raw instanceof FetchHeaders);
}

/** A header name for a message: a name can be as long as the caller likes, a message cannot. */
function named(name: string): string {
  return `\`${name.length > 64 ? `${name.slice(0, 64)}…` : name}\``;
}

function invalid(message: string, cause?: unknown): WebhookError {
  return new WebhookError('WD_INVALID_ENDPOINT', message, cause === undefined ? undefined : { cause });
}

/**
 * Reads `headers` into a snapshot. Plain objects give their own enumerable string keys (never
 * inherited ones); a `Map` or a fetch `Headers` gives its entries. Anything else is refused:
 * silently sending no headers would drop the caller's credentials without a word.
 */
export function snapshotHeaders(raw: unknown): HeaderSnapshot {
  if (raw === undefined) return EMPTY;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalid(`Expected \`headers\` to be an object, a Map or a Headers of strings, got ${describe(raw)}`);
  }
  try {
    const flat: unknown[] = [];
    if (isPlainRecord(raw)) {
      if (Symbol.iterator in raw) {
        throw invalid('Expected `headers` to be an object, a Map or a Headers of strings, got another iterable object');
      }
      const names = Object.keys(raw);
      if (names.length > MAX_HEADER_COUNT) throw tooMany(names.length);
      for (const name of names) flat.push(name, (raw as Record<string, unknown>)[name]);
    } else {
      for (const [name, value] of (raw as Map<unknown, unknown>).entries()) {
        flat.push(name, value);
        if (flat.length > 2 * MAX_HEADER_COUNT) throw tooMany(`more than ${MAX_HEADER_COUNT}`);
      }
    }
    return flat;
  } catch (error) {
    if (error instanceof WebhookError) throw error;
    throw invalid('Expected `headers` to be readable, but reading it threw', error);
  }
}

function tooMany(count: number | string): WebhookError {
  return invalid(`Expected \`headers\` to hold at most ${MAX_HEADER_COUNT} headers, got ${count}`);
}

/**
 * Whether `raw` still holds exactly `snapshot`. The cache's fast path: for a plain object it
 * costs one `Object.keys` and a comparison per header, and no other allocation.
 */
export function sameHeaders(raw: unknown, snapshot: HeaderSnapshot): boolean {
  if (raw === undefined) return snapshot.length === 0;
  if (typeof raw !== 'object' || raw === null) return false;
  try {
    if (isPlainRecord(raw)) {
      const names = Object.keys(raw);
      if (names.length * 2 !== snapshot.length) return false;
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        if (snapshot[2 * i] !== name || snapshot[2 * i + 1] !== (raw as Record<string, unknown>)[name]) return false;
      }
      return true;
    }
    let i = 0;
    for (const [name, value] of (raw as Map<unknown, unknown>).entries()) {
      if (i >= snapshot.length || snapshot[i] !== name || snapshot[i + 1] !== value) return false;
      i += 2;
    }
    return i === snapshot.length;
  } catch {
    // Whatever threw will throw again when the headers are read in full, and be reported there.
    return false;
  }
}

/**
 * Checks a snapshot the way undici will check the request, plus the library's own rules, and
 * returns the headers flat (`[name, value, …]`, names lower-cased).
 * - names are HTTP tokens, unique ignoring case, and not among `owned`;
 * - values are strings undici accepts (no control character but HTAB, nothing above U+00FF),
 *   at most {@link MAX_HEADER_VALUE_LENGTH} characters each;
 * - at most {@link MAX_HEADER_COUNT} headers and {@link MAX_HEADERS_LENGTH} characters in all.
 */
export function checkHeaders(snapshot: HeaderSnapshot, owned: ReadonlySet<string>): string[] {
  const flat: string[] = [];
  let total = 0;
  for (let i = 0; i < snapshot.length; i += 2) {
    const name = snapshot[i];
    const value = snapshot[i + 1];
    if (typeof name !== 'string' || !isToken(name)) {
      throw invalid(`Expected header names to be HTTP tokens, got ${describe(name)}`);
    }
    const lower = name.toLowerCase();
    if (OWNED_HEADERS.has(lower) || owned.has(lower)) {
      throw invalid(`Expected \`headers\` not to set \`${lower}\`: the dispatcher sets it`);
    }
    if (typeof value !== 'string') {
      throw invalid(`Expected header ${named(lower)} to be a string, got ${describe(value)}`);
    }
    if (!isHeaderValue(value)) {
      // The value itself is never echoed: it may be a credential.
      throw invalid(`Expected header ${named(lower)} to be a string of tab, visible ASCII or Latin-1 characters (no CR, LF, NUL or other control character, nothing above U+00FF), got a value with one`);
    }
    if (value.length > MAX_HEADER_VALUE_LENGTH) {
      throw invalid(`Expected header ${named(lower)} to be at most ${MAX_HEADER_VALUE_LENGTH} characters, got ${value.length}`);
    }
    total += lower.length + value.length;
    if (total > MAX_HEADERS_LENGTH) {
      throw invalid(`Expected \`headers\` to hold at most ${MAX_HEADERS_LENGTH} characters of names and values in all, got more`);
    }
    for (let j = 0; j < flat.length; j += 2) {
      if (flat[j] === lower) throw invalid(`Expected header names to be unique ignoring case, got ${named(lower)} twice`);
    }
    flat.push(lower, value);
  }
  return flat;
}
