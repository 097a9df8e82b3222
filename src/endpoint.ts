import type { KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import type { AddressPolicy } from './address-policy.js';
import { WebhookError, describe } from './errors.js';
import type { SignatureScheme } from './options.js';
import { SIGNATURE_HEADERS, parseSecrets } from './signing.js';
import type { Endpoint } from './types.js';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;
/** Headers the library owns: framing, routing and hop-by-hop headers undici must control. */
const OWNED_HEADERS = new Set([
  'host', 'content-type', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer',
]);

/** A validated endpoint. Its keys are private: logging it shows no secret. */
export class ResolvedEndpoint {
  readonly url: string;
  readonly origin: string;
  /** Path and query, as sent on the request line. */
  readonly path: string;
  /** The endpoint's own headers, flat `[name, value, …]`, names lower-cased. */
  readonly headers: readonly string[];
  readonly #keys: readonly KeyObject[];

  constructor(url: URL, headers: string[], keys: KeyObject[]) {
    this.url = url.href;
    this.origin = url.origin;
    this.path = `${url.pathname}${url.search}`;
    this.headers = headers;
    this.#keys = keys;
  }

  get keys(): readonly KeyObject[] {
    return this.#keys;
  }

  /** Header values may carry credentials: logs show the names only. */
  [inspect.custom](): string {
    const names = this.headers.filter((_, i) => i % 2 === 0);
    return `ResolvedEndpoint { url: ${JSON.stringify(this.url)}, headers: [${names.join(', ')}], secrets: ${this.#keys.length} }`;
  }
}

interface CacheEntry {
  url: unknown;
  secret: unknown;
  headers: unknown;
  resolved: ResolvedEndpoint;
}

/**
 * Validates endpoints and remembers the answer per endpoint object, so a caller that sends
 * many events to the same `Endpoint` pays for URL parsing and key decoding once. An entry is
 * reused only while the object's `url`, `secret` and `headers` are the same values.
 */
export class EndpointResolver {
  readonly #cache = new WeakMap<object, CacheEntry>();

  constructor(
    private readonly scheme: SignatureScheme,
    private readonly policy: AddressPolicy,
    private readonly httpsOnly: boolean,
  ) {}

  resolve(endpoint: unknown): ResolvedEndpoint {
    if (typeof endpoint !== 'object' || endpoint === null || Array.isArray(endpoint)) {
      throw new WebhookError('WD_INVALID_ENDPOINT', `Expected the endpoint to be an object, got ${describe(endpoint)}`);
    }
    const { url, secret, headers } = endpoint as Endpoint;
    const hit = this.#cache.get(endpoint);
    if (hit !== undefined && hit.url === url && hit.secret === secret && hit.headers === headers && !Array.isArray(secret)) {
      return hit.resolved;
    }
    const resolved = new ResolvedEndpoint(this.#url(url), this.#headers(headers), parseSecrets(this.scheme, secret));
    // Arrays can be changed in place, so endpoints with several secrets are checked every time.
    this.#cache.set(endpoint, { url, secret, headers, resolved });
    return resolved;
  }

  #url(raw: unknown): URL {
    if (typeof raw !== 'string') {
      throw new WebhookError('WD_INVALID_ENDPOINT', `Expected \`url\` to be an absolute http(s) URL, got ${describe(raw)}`);
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new WebhookError('WD_INVALID_ENDPOINT', `Expected \`url\` to be an absolute http(s) URL, got ${describe(raw)}`);
    }
    if (url.protocol !== 'https:' && (url.protocol !== 'http:' || this.httpsOnly)) {
      const expected = this.httpsOnly ? 'an https: URL (`httpsOnly` is set)' : 'an http: or https: URL';
      throw new WebhookError('WD_INVALID_ENDPOINT', `Expected \`url\` to be ${expected}, got the scheme \`${url.protocol}\``);
    }
    if (url.username !== '' || url.password !== '') {
      throw new WebhookError('WD_INVALID_ENDPOINT', 'Expected `url` without credentials (user:password@); pass them in `headers` instead');
    }
    const refusal = this.policy.hostnameRefusal(url.hostname);
    if (refusal !== undefined) {
      throw new WebhookError('WD_BLOCKED_DESTINATION', `Refused \`url\`: ${url.hostname} is a ${refusal} address (set \`allowPrivateNetworks\` or \`allowedNetworks\` to allow it)`);
    }
    return url;
  }

  #headers(raw: unknown): string[] {
    if (raw === undefined) return [];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new WebhookError('WD_INVALID_ENDPOINT', `Expected \`headers\` to be an object of strings, got ${describe(raw)}`);
    }
    const owned = SIGNATURE_HEADERS[this.scheme];
    const flat: string[] = [];
    for (const [name, value] of Object.entries(raw)) {
      if (!TOKEN.test(name)) {
        throw new WebhookError('WD_INVALID_ENDPOINT', `Expected header names to be HTTP tokens, got ${describe(name)}`);
      }
      const lower = name.toLowerCase();
      if (OWNED_HEADERS.has(lower) || owned.includes(lower)) {
        throw new WebhookError('WD_INVALID_ENDPOINT', `Expected \`headers\` not to set \`${lower}\`: the dispatcher sets it`);
      }
      if (typeof value !== 'string' || BAD_VALUE.test(value)) {
        throw new WebhookError('WD_INVALID_ENDPOINT', `Expected header \`${lower}\` to be a string without CR, LF or NUL, got ${typeof value === 'string' ? 'a value with one' : describe(value)}`);
      }
      flat.push(lower, value);
    }
    return flat;
  }
}
