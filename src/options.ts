import { invalidOptions, WebhookError, describe } from './errors.js';

/** A token bucket for one host. */
export interface RateLimit {
  /** Sustained requests per second to the host. Minimum `0.01`. */
  perSecond: number;
  /**
   * Requests that may go out at once after a quiet spell, beyond the steady rate: no
   * one-second window ever sees more than `perSecond + burst`.
   * @default one refill: `perSecond / 10` (at least 1)
   */
  burst?: number;
}

export interface BreakerOptions {
  /** Consecutive failures (5xx, timeouts, connection errors) that open the breaker. Minimum `1`. @default 5 */
  failureThreshold: number;
  /** Milliseconds the breaker stays open before one probe is let through (plus up to 20% jitter). Minimum `1`. @default 30_000 */
  cooldownMs: number;
}

export interface RetryOptions {
  /** Attempts in all, the first included. Minimum `1`. @default 8 */
  attempts: number;
  /** Milliseconds: the cap of the first retry's delay, doubled each retry. Minimum `0`. @default 1_000 */
  baseDelayMs: number;
  /** Milliseconds: no retry delay is drawn above this. Minimum `0`. @default 300_000 */
  maxDelayMs: number;
  /** Milliseconds: a receiver's `Retry-After` is honoured up to this. Minimum `0`. @default 600_000 */
  maxRetryAfterMs: number;
}

/** Options that can differ per host (origin). */
export interface HostOptions {
  /** Requests in flight to one origin (and its connection pool size). Minimum `1`. @default 10 */
  concurrency?: number;
  /** Messages waiting for one origin, retries included. Minimum `1`. @default 10_000 */
  queueCapacity?: number;
  /** Requests per second to one origin. @default none (unlimited) */
  rateLimit?: RateLimit | false;
  /** Deliver one at a time, in acceptance order; a retrying message holds the ones behind it. @default false */
  ordered?: boolean;
  /** Circuit breaker for one origin, or `false` for none. */
  breaker?: Partial<BreakerOptions> | false;
}

export type SignatureScheme = 'standard-webhooks' | 'timestamped-hex';

export interface DispatcherOptions extends HostOptions {
  /** Per-origin overrides, keyed by origin (`https://api.example.com`, `http://127.0.0.1:8080`). */
  hosts?: Record<string, HostOptions>;
  retry?: Partial<RetryOptions>;
  /** Milliseconds for one attempt, from connecting to the answer's last byte. Minimum `1`. @default 15_000 */
  timeoutMs?: number;
  /** Milliseconds after acceptance at which an undelivered message fails with `'expired'`. Minimum `1`. @default 86_400_000 (24 h) */
  ttlMs?: number;
  /** Bytes: cap on one serialized event body. Minimum `1`. @default 1_048_576 */
  maxPayloadBytes?: number;
  /** How requests are signed. @default 'standard-webhooks' */
  signature?: SignatureScheme;
  /** Allow private, loopback, link-local, CGNAT and unique-local destinations. @default false */
  allowPrivateNetworks?: boolean;
  /** CIDR ranges allowed even though they are private, for example `['10.1.0.0/16']`. @default [] */
  allowedNetworks?: string[];
  /** Refuse `http:` endpoints. @default false */
  httpsOnly?: boolean;
  /** Milliseconds a host actor may sit idle before it and its connections are dropped. Minimum `1`. @default 60_000 */
  idleTimeoutMs?: number;
  /** Bytes of a non-2xx answer's body kept for the `failed` event. Minimum `0`. @default 1_024 */
  responseBodyBytes?: number;
  /** The `user-agent` header. @default 'webhook-dispatcher/0.1' */
  userAgent?: string;
  /** Host actors alive at once; a send to a new host beyond it is refused with `WD_QUEUE_FULL`. Minimum `1`. @default Infinity */
  maxHosts?: number;
}

export interface ResolvedHostOptions {
  concurrency: number;
  queueCapacity: number;
  rateLimit: Required<RateLimit> | undefined;
  ordered: boolean;
  breaker: BreakerOptions | false;
}

export interface ResolvedOptions {
  host: ResolvedHostOptions;
  hosts: Map<string, ResolvedHostOptions>;
  retry: RetryOptions;
  timeoutMs: number;
  ttlMs: number;
  maxPayloadBytes: number;
  signature: SignatureScheme;
  allowPrivateNetworks: boolean;
  allowedNetworks: string[];
  httpsOnly: boolean;
  idleTimeoutMs: number;
  responseBodyBytes: number;
  userAgent: string;
  maxHosts: number;
}

/** Every default in one place. */
export const DEFAULTS = {
  concurrency: 10,
  queueCapacity: 10_000,
  ordered: false,
  breaker: { failureThreshold: 5, cooldownMs: 30_000 },
  retry: { attempts: 8, baseDelayMs: 1_000, maxDelayMs: 300_000, maxRetryAfterMs: 600_000 },
  timeoutMs: 15_000,
  ttlMs: 86_400_000,
  maxPayloadBytes: 1_048_576,
  signature: 'standard-webhooks',
  allowPrivateNetworks: false,
  httpsOnly: false,
  idleTimeoutMs: 60_000,
  responseBodyBytes: 1_024,
  userAgent: 'webhook-dispatcher/0.1',
  maxHosts: Infinity,
} as const satisfies Omit<ResolvedOptions, 'host' | 'hosts' | 'allowedNetworks'> & Omit<ResolvedHostOptions, 'rateLimit'>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function integer(name: string, value: unknown, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalidOptions(name, `an integer >= ${min}`, value);
  }
  return value;
}

function number(name: string, value: unknown, min: number, fallback: number | undefined): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalidOptions(name, `a finite number >= ${min}`, value);
  }
  return value;
}

function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidOptions(name, 'a boolean', value);
  return value;
}

function object(name: string, value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidOptions(name, 'an object', value);
  return value;
}

function rateLimit(name: string, value: unknown, fallback: Required<RateLimit> | undefined): Required<RateLimit> | undefined {
  if (value === undefined) return fallback;
  if (value === false) return undefined;
  const o = object(name, value);
  const perSecond = number(`${name}.perSecond`, o.perSecond, 0.01, undefined);
  const burst = number(`${name}.burst`, o.burst, 0, Math.max(1, perSecond / 10));
  return { perSecond, burst };
}

function breaker(name: string, value: unknown, fallback: BreakerOptions | false): BreakerOptions | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  const o = object(name, value);
  const base = fallback === false ? DEFAULTS.breaker : fallback;
  return {
    failureThreshold: integer(`${name}.failureThreshold`, o.failureThreshold, 1, base.failureThreshold),
    cooldownMs: integer(`${name}.cooldownMs`, o.cooldownMs, 1, base.cooldownMs),
  };
}

function hostOptions(prefix: string, o: Record<string, unknown>, base: ResolvedHostOptions): ResolvedHostOptions {
  return {
    concurrency: integer(`${prefix}concurrency`, o.concurrency, 1, base.concurrency),
    queueCapacity: integer(`${prefix}queueCapacity`, o.queueCapacity, 1, base.queueCapacity),
    rateLimit: rateLimit(`${prefix}rateLimit`, o.rateLimit, base.rateLimit),
    ordered: boolean(`${prefix}ordered`, o.ordered, base.ordered),
    breaker: breaker(`${prefix}breaker`, o.breaker, base.breaker),
  };
}

/** Parses an origin key of `hosts` into the form `URL.origin` gives, or throws. */
function originKey(key: string): string {
  let url: URL;
  try {
    url = new URL(key);
  } catch {
    throw invalidOptions('hosts', 'keyed by origins such as `https://api.example.com`', key);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidOptions('hosts', 'keyed by http(s) origins', key);
  }
  return url.origin;
}

/** Validates constructor options and fills in the defaults. Throws `WD_INVALID_OPTIONS`. */
export function resolveOptions(input: unknown): ResolvedOptions {
  const o = input === undefined ? {} : object('options', input);
  const host = hostOptions('', o, {
    concurrency: DEFAULTS.concurrency,
    queueCapacity: DEFAULTS.queueCapacity,
    rateLimit: undefined,
    ordered: DEFAULTS.ordered,
    breaker: { ...DEFAULTS.breaker },
  });
  const hosts = new Map<string, ResolvedHostOptions>();
  if (o.hosts !== undefined) {
    for (const [key, value] of Object.entries(object('hosts', o.hosts))) {
      hosts.set(originKey(key), hostOptions(`hosts["${key}"].`, object(`hosts["${key}"]`, value), host));
    }
  }
  const r = o.retry === undefined ? {} : object('retry', o.retry);
  const retry: RetryOptions = {
    attempts: integer('retry.attempts', r.attempts, 1, DEFAULTS.retry.attempts),
    baseDelayMs: number('retry.baseDelayMs', r.baseDelayMs, 0, DEFAULTS.retry.baseDelayMs),
    maxDelayMs: number('retry.maxDelayMs', r.maxDelayMs, 0, DEFAULTS.retry.maxDelayMs),
    maxRetryAfterMs: number('retry.maxRetryAfterMs', r.maxRetryAfterMs, 0, DEFAULTS.retry.maxRetryAfterMs),
  };
  const signature = o.signature ?? DEFAULTS.signature;
  if (signature !== 'standard-webhooks' && signature !== 'timestamped-hex') {
    throw invalidOptions('signature', "`'standard-webhooks'` or `'timestamped-hex'`", signature);
  }
  const allowedNetworks = o.allowedNetworks ?? [];
  if (!Array.isArray(allowedNetworks) || !allowedNetworks.every((n) => typeof n === 'string')) {
    throw invalidOptions('allowedNetworks', 'an array of CIDR strings', allowedNetworks);
  }
  const userAgent = o.userAgent ?? DEFAULTS.userAgent;
  if (typeof userAgent !== 'string' || /[\r\n]/.test(userAgent)) {
    throw invalidOptions('userAgent', 'a string without line breaks', userAgent);
  }
  return {
    host,
    hosts,
    retry,
    timeoutMs: integer('timeoutMs', o.timeoutMs, 1, DEFAULTS.timeoutMs),
    ttlMs: integer('ttlMs', o.ttlMs, 1, DEFAULTS.ttlMs),
    maxPayloadBytes: integer('maxPayloadBytes', o.maxPayloadBytes, 1, DEFAULTS.maxPayloadBytes),
    signature,
    allowPrivateNetworks: boolean('allowPrivateNetworks', o.allowPrivateNetworks, DEFAULTS.allowPrivateNetworks),
    allowedNetworks: allowedNetworks as string[],
    httpsOnly: boolean('httpsOnly', o.httpsOnly, DEFAULTS.httpsOnly),
    idleTimeoutMs: integer('idleTimeoutMs', o.idleTimeoutMs, 1, DEFAULTS.idleTimeoutMs),
    responseBodyBytes: integer('responseBodyBytes', o.responseBodyBytes, 0, DEFAULTS.responseBodyBytes),
    userAgent,
    maxHosts: o.maxHosts === undefined ? DEFAULTS.maxHosts : integer('maxHosts', o.maxHosts, 1, 0),
  };
}

/** Options in force for one origin: the `hosts` entry when there is one. */
export function optionsForOrigin(options: ResolvedOptions, origin: string): ResolvedHostOptions {
  return options.hosts.get(origin) ?? options.host;
}

/** Closing options. */
export interface CloseOptions {
  /** Deliver what was accepted before resolving (`true`), or fail it with `'closed'` (`false`). @default false */
  drain?: boolean;
  /** Milliseconds to drain before what is left fails with `'closed'`. Minimum `0`. @default no limit */
  timeoutMs?: number;
}

export function resolveCloseOptions(input: unknown): { drain: boolean; timeoutMs: number } {
  if (input === undefined) return { drain: false, timeoutMs: Infinity };
  if (!isPlainObject(input)) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected close options to be an object, got ${describe(input)}`);
  }
  return {
    drain: boolean('drain', input.drain, false),
    timeoutMs: input.timeoutMs === undefined ? Infinity : number('timeoutMs', input.timeoutMs, 0, undefined),
  };
}
