import { randomBytes } from 'node:crypto';
import { BoundedCache } from './bounded-cache.js';
import type { SignatureScheme } from '../signing/scheme.js';
import type { RateLimit } from '../limits/rate-limiter.js';

/** How many URLs, and how many endpoints, one resolver remembers (see {@link EndpointCache}). */
export const ENDPOINT_CACHE_CAPACITY = 10_000;
/**
 * The characters each memo may hold in all: 10,000 endpoints of usual size (a URL of 100
 * characters, a secret, a header) fit well below it, while 10,000 of the largest the checks
 * allow (8 KiB URLs, 16 KiB of headers) would otherwise hold hundreds of megabytes.
 */
export const ENDPOINT_CACHE_CHARACTERS = 4 * 1024 * 1024;

/** What a URL that passed every check resolves to: pure text, no credential (URLs with one are refused). */
export interface ParsedUrl {
  readonly href: string;
  readonly origin: string;
  /** Path and query, as sent on the request line. */
  readonly path: string;
}

/** The parts of a resolved endpoint that its content is compared on. */
export interface Resolved {
  readonly url: string;
  readonly scheme: SignatureScheme;
  readonly headers: readonly string[];
  /** The endpoint's own rate limit, part of its content. */
  readonly rateLimit: Required<RateLimit> | undefined;
  secrets(): readonly string[];
}

const FNV_PRIME = 0x01000193;

/** FNV-1a over `text`, then its length, so `['ab', 'c']` and `['a', 'bc']` differ. */
function mix(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return Math.imul(h ^ text.length, FNV_PRIME);
}

function sameStrings(a: readonly string[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Two bounded memos of a resolver's two costly pure steps, so an endpoint handed over as a new
 * object with content already seen (an app that reads endpoints from a database row per
 * event) costs what a reused object costs. Both hold successes only: a URL, secret or header
 * that was refused is checked again in full every time, and refused the same way.
 *
 * - URLs: the caller's `url` text → its parsed parts. Parsing and the address policy's
 *   hostname check depend on the text and the resolver's fixed options alone (the DNS checks
 *   happen later, at connect time, for every connection).
 * - Endpoints: the validated content (href, scheme, checked headers, secret texts) → the one
 *   resolved endpoint made from it, with its decoded keys. A changed secret, header, URL or
 *   scheme is other content: it is resolved afresh at once.
 *
 * Keys and secrets: the endpoint memo is keyed by a 32-bit seeded hash of the content, never by
 * text holding a secret or a header value, and every hit is confirmed by comparing the content
 * with the resolved endpoint's own fields (a collision is a miss, never another endpoint's
 * keys). So the memo adds no copy of a secret anywhere: it holds only resolved endpoints,
 * which keep their secrets in private fields as before, and numbers. Both memos live in
 * private fields, out of reach of `util.inspect`, `JSON.stringify` and errors.
 *
 * Memory: at most {@link ENDPOINT_CACHE_CAPACITY} entries and
 * {@link ENDPOINT_CACHE_CHARACTERS} characters in each memo, whichever comes first. Measured:
 * about 720 B of heap per endpoint, the resolved endpoint itself included (a 60-character URL
 * and one secret, both memos, 10,000 of them), so about 7 MB when full of such endpoints; the characters cap holds large ones to tens of MB.
 * Resolved endpoints are shared with the messages that reference them, so what is cached
 * costs nothing extra while those messages are queued.
 */
export class EndpointCache {
  readonly #urls: BoundedCache<string, ParsedUrl>;
  readonly #endpoints: BoundedCache<number, Resolved>;
  readonly #seed = randomBytes(4).readUInt32LE(0);

  constructor(capacity = ENDPOINT_CACHE_CAPACITY, characters = ENDPOINT_CACHE_CHARACTERS) {
    this.#urls = new BoundedCache(capacity, characters, urlCharacters);
    this.#endpoints = new BoundedCache(capacity, characters, (_key, resolved) => endpointCharacters(resolved));
  }

  /** How many URLs and endpoints are remembered (for tests and measurements). */
  get size(): { urls: number; endpoints: number } {
    return { urls: this.#urls.size, endpoints: this.#endpoints.size };
  }

  url(raw: string): ParsedUrl | undefined {
    return this.#urls.get(raw);
  }

  /**
   * Remembers what `raw` parses to. Once an endpoint with that URL is resolved, the caller
   * remembers the resolved endpoint in place of the parsed parts: it holds the same three
   * texts, so the memo keeps no object of its own for the URL.
   */
  rememberUrl(raw: string, parsed: ParsedUrl): void {
    this.#urls.set(raw, parsed);
  }

  /**
   * The resolved endpoint of exactly this content, if one is remembered. `secrets` are as the
   * caller gave them, not yet checked: anything but strings is never found.
   */
  endpoint(href: string, scheme: SignatureScheme, headers: readonly string[], secrets: readonly unknown[], limit: Required<RateLimit> | undefined): Resolved | undefined {
    const key = this.#key(href, scheme, headers, secrets);
    if (key === undefined) return undefined;
    const hit = this.#endpoints.get(key);
    // The rate limit is compared, not hashed: endpoints that differ only in it are rare, and a miss is only a miss.
    if (hit === undefined || hit.url !== href || hit.scheme !== scheme || !sameLimit(hit.rateLimit, limit) || !sameStrings(hit.headers, headers) || !sameStrings(hit.secrets(), secrets)) {
      return undefined;
    }
    return hit;
  }

  remember(resolved: Resolved): void {
    const secrets = resolved.secrets();
    const key = this.#key(resolved.url, resolved.scheme, resolved.headers, secrets);
    if (key === undefined) return;
    this.#endpoints.set(key, resolved);
  }

  #key(href: string, scheme: SignatureScheme, headers: readonly string[], secrets: readonly unknown[]): number | undefined {
    let h = mix(mix(this.#seed ^ 0x811c9dc5, href), scheme);
    for (let i = 0; i < headers.length; i++) h = mix(h, headers[i]!);
    h = Math.imul(h ^ headers.length, FNV_PRIME);
    for (let i = 0; i < secrets.length; i++) {
      const secret = secrets[i];
      if (typeof secret !== 'string') return undefined;
      h = mix(h, secret);
    }
    return h;
  }
}

function urlCharacters(raw: string, parsed: ParsedUrl): number {
  return raw.length + parsed.href.length + parsed.origin.length + parsed.path.length;
}

/** The href, the path and origin cut from it, the headers and the secrets, and a little for the rest. */
function endpointCharacters(resolved: Resolved): number {
  let characters = 2 * resolved.url.length;
  for (const text of resolved.headers) characters += text.length;
  for (const text of resolved.secrets()) characters += text.length;
  return characters + 64;
}

function sameLimit(a: Required<RateLimit> | undefined, b: Required<RateLimit> | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.perSecond === b.perSecond && a.burst === b.burst);
}
