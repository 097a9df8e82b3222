import type { KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { describeRefusal, type AddressPolicy } from '../security/address-policy.js';
import { EndpointCache, type ParsedUrl } from './endpoint-cache.js';
import { checkHeaders, sameHeaders, snapshotHeaders, type HeaderSnapshot } from './endpoint-headers.js';
import { WebhookError, describe } from '../core/errors.js';
import { MAX_URL_LENGTH } from '../core/http-fields.js';
import type { SignatureScheme } from '../signing/scheme.js';
import { SIGNATURE_HEADERS, parseSecrets } from '../signing/signatures.js';
import { readRateLimit } from '../limits/rate-limit-option.js';
import type { RateLimit } from '../limits/rate-limiter.js';

const NO_HEADERS: readonly string[] = Object.freeze([]);

/**
 * A validated endpoint. Secrets and header values may be credentials, so they live in private
 * fields: `JSON.stringify`, `util.inspect`, `Object.keys`, spreading and `String()` show the URL,
 * the header names and how many secrets there are, never a secret or a header value.
 */
export class ResolvedEndpoint {
  readonly url: string;
  readonly origin: string;
  /** Path and query, as sent on the request line. */
  readonly path: string;
  /** How this endpoint's requests are signed: the endpoint's `signature`, else the dispatcher's. */
  readonly scheme: SignatureScheme;
  /** This URL's own limit (every send to the same `url` shares it), under the host's; `undefined` for none. */
  readonly rateLimit: Required<RateLimit> | undefined;
  readonly #headers: readonly string[];
  readonly #secrets: readonly string[];
  readonly #keys: readonly KeyObject[];

  constructor(url: ParsedUrl, scheme: SignatureScheme, headers: string[], secrets: string[], keys: KeyObject[], limit?: Required<RateLimit>) {
    this.url = url.href;
    this.origin = url.origin;
    this.path = url.path;
    this.scheme = scheme;
    this.rateLimit = limit;
    // One shared empty list for the many endpoints without headers of their own.
    this.#headers = headers.length === 0 ? NO_HEADERS : Object.freeze(headers);
    this.#secrets = Object.freeze(secrets);
    this.#keys = Object.freeze(keys);
  }

  /** The URL, for the memo of parsed URLs (see {@link EndpointCache.rememberUrl}). */
  get href(): string {
    return this.url;
  }

  /** The endpoint's own headers, flat `[name, value, …]`, names lower-cased. Values may be credentials. */
  get headers(): readonly string[] {
    return this.#headers;
  }

  /** The HMAC keys, one per secret, in the caller's order. */
  get keys(): readonly KeyObject[] {
    return this.#keys;
  }

  /**
   * The secret strings exactly as the caller gave them, for a durable store to seal at rest
   * (with {@link headers} for the header values). Not for logging or display: everything
   * else on this object keeps them hidden.
   */
  secrets(): readonly string[] {
    return this.#secrets;
  }

  /** What `JSON.stringify` shows: no secret, no header value. */
  toJSON(): { url: string; origin: string; headers: string[]; secrets: number } {
    return { url: this.url, origin: this.origin, headers: this.#names(), secrets: this.#secrets.length };
  }

  toString(): string {
    return `ResolvedEndpoint(${this.url})`;
  }

  [inspect.custom](): string {
    return `ResolvedEndpoint { url: ${JSON.stringify(this.url)}, headers: [${this.#names().join(', ')}], secrets: ${this.#secrets.length} }`;
  }

  #names(): string[] {
    return this.#headers.filter((_, i) => i % 2 === 0);
  }
}

/** What an endpoint object held when it was last resolved. */
interface CacheEntry {
  url: unknown;
  secret: unknown;
  /** The elements of `secret` when it is an array: arrays can change in place. */
  secretItems: readonly unknown[] | undefined;
  signature: unknown;
  headers: unknown;
  rateLimit: unknown;
  /** `rateLimit`'s values when it was read: an object can change in place. */
  limit: Required<RateLimit> | undefined;
  headerSnapshot: HeaderSnapshot;
  resolved: ResolvedEndpoint;
}

const SCHEMES: readonly unknown[] = ['standard-webhooks', 'timestamped-hex'] satisfies SignatureScheme[];
/** Longer than any valid `secret` array: such an array is refused on its length before its elements are read. */
const MAX_SECRET_ITEMS = 64;

/** `o[key]` when `key` is `o`'s own property, so nothing set on `Object.prototype` can supply it. */
function own(o: object, key: string): unknown {
  try {
    return Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined;
  } catch (error) {
    throw new WebhookError('WD_INVALID_ENDPOINT', `Expected \`${key}\` of the endpoint to be readable, but reading it threw`, { cause: error });
  }
}

/** The elements of a `secret` array, read once (a throwing getter is reported like any bad endpoint). */
function secretItems(secret: unknown): readonly unknown[] | undefined {
  if (!Array.isArray(secret) || secret.length > MAX_SECRET_ITEMS) return undefined;
  try {
    return Array.from(secret);
  } catch (error) {
    throw new WebhookError('WD_INVALID_ENDPOINT', 'Expected `secret` to be readable, but reading it threw', { cause: error });
  }
}

/** The endpoint's `rateLimit`, checked as the host's is (the same ranges and messages), refused as `WD_INVALID_ENDPOINT`. */
function endpointRateLimit(value: unknown): Required<RateLimit> | undefined {
  try {
    return readRateLimit('rateLimit', value, undefined);
  } catch (error) {
    if (error instanceof WebhookError) throw new WebhookError('WD_INVALID_ENDPOINT', error.message);
    throw error;
  }
}

/** `raw` still holds the values it had when resolved (it may be changed in place). */
function sameLimit(raw: unknown, limit: Required<RateLimit> | undefined): boolean {
  if (limit === undefined || typeof raw !== 'object' || raw === null) return true;
  const o = raw as Record<string, unknown>;
  return o.perSecond === limit.perSecond && (o.burst === undefined || o.burst === limit.burst);
}

function sameItems(secret: unknown, items: readonly unknown[]): boolean {
  const array = secret as unknown[];
  if (array.length !== items.length) return false;
  for (let i = 0; i < items.length; i++) if (array[i] !== items[i]) return false;
  return true;
}

/** `raw` with anything between the scheme and the last `@` hidden: a URL that fails to parse may still hold a password. */
function withoutCredentials(raw: string): string {
  return raw.includes('@') ? raw.replace(/^([^@]*?:[\\/]*)?[^]*@/, '$1…@') : raw;
}

/**
 * Validates endpoints and remembers the answer per endpoint object, so a caller that sends
 * many events to the same `Endpoint` pays for URL parsing and key decoding once. The answer is
 * reused only while the object still holds the same content: the same `url`, `secret` (and
 * secret array elements), `signature`, and header names and values, compared on every call,
 * so a header changed in place (a revoked token) takes effect at the next send.
 *
 * A new object is read and checked in full, in the same order, running the same getters; only
 * the costly pure steps (URL parsing and the hostname check, key decoding) are remembered by
 * content, per resolver and bounded (see {@link EndpointCache}): a new object with content
 * already seen resolves to the same `ResolvedEndpoint`.
 *
 * Endpoints are read as own properties only: a property inherited from a prototype (even
 * `Object.prototype`) is not part of an endpoint.
 */
export class EndpointResolver {
  readonly #cache = new WeakMap<object, CacheEntry>();
  readonly #byContent = new EndpointCache();
  readonly #owned: Record<SignatureScheme, ReadonlySet<string>>;

  /**
   * @param scheme the dispatcher's `signature`, used by endpoints that name none
   * @param signatureHeader the `'timestamped-hex'` signature header (the dispatcher's `signatureHeader` option)
   */
  constructor(
    private readonly scheme: SignatureScheme,
    private readonly policy: AddressPolicy,
    private readonly httpsOnly: boolean,
    signatureHeader = 'x-webhook-signature',
  ) {
    this.#owned = {
      'standard-webhooks': new Set(SIGNATURE_HEADERS['standard-webhooks']),
      'timestamped-hex': new Set([...SIGNATURE_HEADERS['timestamped-hex'], signatureHeader]),
    };
  }

  /** The endpoint, validated. Throws `WD_INVALID_ENDPOINT` or `WD_BLOCKED_DESTINATION`, never anything else. */
  resolve(endpoint: unknown): ResolvedEndpoint {
    try {
      return this.#resolve(endpoint);
    } catch (error) {
      if (error instanceof WebhookError) throw error;
      throw new WebhookError('WD_INVALID_ENDPOINT', 'Expected the endpoint to be readable, but reading it threw', { cause: error });
    }
  }

  #resolve(endpoint: unknown): ResolvedEndpoint {
    if (typeof endpoint !== 'object' || endpoint === null || Array.isArray(endpoint)) {
      throw new WebhookError('WD_INVALID_ENDPOINT', `Expected the endpoint to be an object, got ${describe(endpoint)}`);
    }
    const hit = this.#cache.get(endpoint);
    if (hit !== undefined) {
      // Plain reads, without the own-property checks: a hit needs every value identical to one
      // that was read as an own property and validated, so an inherited value can only ever
      // reproduce content already checked.
      const e = endpoint as Record<string, unknown>;
      if (
        e.url === hit.url &&
        e.secret === hit.secret &&
        e.signature === hit.signature &&
        e.headers === hit.headers &&
        e.rateLimit === hit.rateLimit &&
        sameLimit(hit.rateLimit, hit.limit) &&
        (hit.secretItems === undefined || sameItems(hit.secret, hit.secretItems)) &&
        sameHeaders(hit.headers, hit.headerSnapshot)
      ) {
        return hit.resolved;
      }
    }
    const url = own(endpoint, 'url');
    const secret = own(endpoint, 'secret');
    const signature = own(endpoint, 'signature');
    const headers = own(endpoint, 'headers');
    const rawLimit = own(endpoint, 'rateLimit');
    if (signature !== undefined && !SCHEMES.includes(signature)) {
      throw new WebhookError('WD_INVALID_ENDPOINT', `Expected \`signature\` to be \`'standard-webhooks'\` or \`'timestamped-hex'\`, got ${describe(signature)}`);
    }
    const scheme = (signature as SignatureScheme | undefined) ?? this.scheme;
    const parsedUrl = this.#url(url);
    const headerSnapshot = snapshotHeaders(headers);
    const flat = checkHeaders(headerSnapshot, this.#owned[scheme]);
    const items = secretItems(secret);
    const given = items ?? [secret];
    const limit = endpointRateLimit(rawLimit);
    const known = this.#byContent.endpoint(parsedUrl.href, scheme, flat, given, limit) as ResolvedEndpoint | undefined;
    // Not remembered by identity: an object with known content is most often a new one per
    // send (a database row), and a WeakMap entry per object costs more than this whole path.
    if (known !== undefined) return known;
    const keys = parseSecrets(scheme, items ?? secret);
    // parseSecrets accepted them, so they are strings.
    const resolved = new ResolvedEndpoint(parsedUrl, scheme, flat, given.slice() as string[], keys, limit);
    this.#byContent.remember(resolved);
    // #url accepted it, so it is a string.
    this.#byContent.rememberUrl(url as string, resolved);
    this.#cache.set(endpoint, { url, secret, secretItems: items, signature, headers, rateLimit: rawLimit, limit, headerSnapshot, resolved });
    return resolved;
  }

  /** How many URLs and endpoints this resolver remembers by content (bounded). */
  get cached(): { urls: number; endpoints: number } {
    return this.#byContent.size;
  }

  #url(raw: unknown): ParsedUrl {
    if (typeof raw === 'string') {
      const known = this.#byContent.url(raw);
      if (known !== undefined) return known;
    }
    const url = this.#parseUrl(raw);
    // The caller's own text when it is already in normal form (the usual case): one string fewer per endpoint.
    const href = url.href === raw ? raw : url.href;
    const parsed: ParsedUrl = { href, origin: url.origin, path: `${url.pathname}${url.search}` };
    // #parseUrl refuses anything but a string.
    this.#byContent.rememberUrl(raw as string, parsed);
    return parsed;
  }

  #parseUrl(raw: unknown): URL {
    const expected = `Expected \`url\` to be an absolute http(s) URL of at most ${MAX_URL_LENGTH} characters`;
    if (typeof raw !== 'string') throw new WebhookError('WD_INVALID_ENDPOINT', `${expected}, got ${describe(raw)}`);
    if (raw.length > MAX_URL_LENGTH) throw new WebhookError('WD_INVALID_ENDPOINT', `${expected}, got ${raw.length} characters`);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      // Not the parser's error as `cause`: Node's ERR_INVALID_URL carries the whole input, password included.
      throw new WebhookError('WD_INVALID_ENDPOINT', `${expected}, got ${describe(withoutCredentials(raw))}`);
    }
    if (url.href.length > MAX_URL_LENGTH) {
      throw new WebhookError('WD_INVALID_ENDPOINT', `${expected}, got one of ${url.href.length} characters once encoded`);
    }
    if (url.protocol !== 'https:' && (url.protocol !== 'http:' || this.httpsOnly)) {
      const scheme = this.httpsOnly ? 'an https: URL (`httpsOnly` is set)' : 'an http: or https: URL';
      throw new WebhookError('WD_INVALID_ENDPOINT', `Expected \`url\` to be ${scheme}, got the scheme \`${url.protocol}\``);
    }
    if (url.username !== '' || url.password !== '') {
      throw new WebhookError('WD_INVALID_ENDPOINT', 'Expected `url` without credentials (user:password@); pass them in `headers` instead');
    }
    const refusal = this.policy.hostnameRefusal(url.hostname);
    if (refusal !== undefined) {
      throw new WebhookError('WD_BLOCKED_DESTINATION', `Refused \`url\`: ${url.hostname} is ${describeRefusal(refusal)}`);
    }
    return url;
  }
}
