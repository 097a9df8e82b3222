/**
 * HTTP field syntax, checked the way undici checks it when a request is dispatched, so a header
 * it would refuse is refused at `send` instead of failing every attempt later.
 */

/** An HTTP token (RFC 9110 §5.6.2): what undici's `isValidHTTPToken` accepts. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * What undici 7 refuses in a header value (`headerCharRegex` in `lib/core/util.js`, itself from
 * Node's `_http_common`): anything but HTAB, visible ASCII and obs-text (0x80–0xFF). That refuses
 * CR, LF, NUL, the other control characters, DEL and every code point above U+00FF.
 */
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

export function isToken(name: string): boolean {
  return TOKEN.test(name);
}

/** Whether undici would send `value` as a header value. Keep in step with undici's `isValidHeaderValue`. */
export function isHeaderValue(value: string): boolean {
  return !BAD_VALUE_CHAR.test(value);
}

/** Characters in one header value. Values are Latin-1 (checked above), so characters are bytes. */
export const MAX_HEADER_VALUE_LENGTH = 8 * 1024;
/** Characters in all of an endpoint's header names and values together. */
export const MAX_HEADERS_LENGTH = 16 * 1024;
/** Headers one endpoint may add. */
export const MAX_HEADER_COUNT = 64;
/** Characters in an endpoint URL, before and after parsing (percent-encoding can lengthen it). */
export const MAX_URL_LENGTH = 8 * 1024;

/**
 * Headers the library owns: framing, routing, hop-by-hop and proxy headers that undici or the
 * dispatcher must control. An endpoint may not set them. The signature headers are added per scheme.
 */
export const OWNED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
]);
