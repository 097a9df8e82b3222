import { WebhookError, describe } from '../core/errors.js';

/** Node's `req.headers` (or `req.headersDistinct`), a plain record in any case, or a fetch `Headers`. */
export type HeadersLike = Record<string, string | readonly string[] | undefined> | { get(name: string): string | null };

function fail(reason: string, cause?: unknown): never {
  throw new WebhookError('WD_VERIFICATION_FAILED', `Webhook verification failed: ${reason}`, cause === undefined ? undefined : { cause });
}

/** Adds one occurrence of `name`; a second one is refused, since the app might read the other. */
function add(found: Map<string, string>, name: string, value: unknown): void {
  if (value === undefined || value === null) return;
  const values: readonly unknown[] = Array.isArray(value) ? value : [value];
  for (const one of values) {
    if (typeof one !== 'string') fail(`expected header \`${name}\` to be a string, got ${describe(one)}`);
    // An empty value counts as absent, as in the references.
    if (one === '') continue;
    if (found.has(name)) fail(`header \`${name}\` was given more than once`);
    found.set(name, one);
  }
}

/**
 * A `get` that is a real method, not one planted on `Object.prototype`: a polluted prototype
 * must not turn a plain record into a "Headers" object.
 */
function headersGetter(headers: object): ((name: string) => unknown) | undefined {
  const get = (headers as { get?: unknown }).get;
  if (typeof get !== 'function') return undefined;
  if (Object.hasOwn(Object.prototype, 'get') && get === (Object.prototype as { get?: unknown }).get) return undefined;
  return get as (name: string) => unknown;
}

/**
 * Reads the wanted headers (names in lower case) into a map, by own properties only.
 * Throws `WD_VERIFICATION_FAILED` for a non-object, a non-string value, a header given more
 * than once, and for getters, Proxy traps or a `get` that throw (the error as `cause`).
 */
export function readHeaders(headers: unknown, names: readonly string[]): Map<string, string> {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    fail(`expected the headers to be an object (a header record or a Headers), got ${describe(headers)}`);
  }
  const found = new Map<string, string>();
  let get: ((name: string) => unknown) | undefined;
  try {
    get = headersGetter(headers);
  } catch (error) {
    fail('reading the headers threw', error);
  }
  if (get !== undefined) {
    for (const name of names) {
      let value: unknown;
      try {
        value = get.call(headers, name);
      } catch (error) {
        fail(`reading header \`${name}\` threw`, error);
      }
      // A Headers object joins repeated headers with ", ", so arrays cannot arrive here; a
      // look-alike that returns one is held to the same rule as a record.
      add(found, name, value);
    }
    return found;
  }
  let keys: string[];
  try {
    keys = Object.keys(headers);
  } catch (error) {
    fail('reading the header names threw', error);
  }
  for (const key of keys) {
    const name = key.toLowerCase();
    if (!names.includes(name)) continue;
    let value: unknown;
    try {
      value = (headers as Record<string, unknown>)[key];
    } catch (error) {
      fail(`reading header \`${name}\` threw`, error);
    }
    add(found, name, value);
  }
  return found;
}
