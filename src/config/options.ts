import type { ClusterOptions } from '../cluster/cluster-options.js';
import type { Retention } from '../persistence/store.js';
import type { MessageStore } from '../persistence/store.js';
import type { TelemetryOptions } from '../telemetry/open-telemetry.js';
import { WebhookError, invalidOptions } from '../core/errors.js';
import { MAX_HEADER_VALUE_LENGTH, OWNED_HEADERS, isHeaderValue } from '../core/http-fields.js';
import { boolean, grouped, integer, number, ownKeys, readObject, type OptionReader } from '../core/option-checks.js';
import { SIGNATURE_HEADERS } from '../signing/signatures.js';
import type { RateLimit } from '../limits/rate-limiter.js';
import type { SignatureScheme } from '../signing/scheme.js';

export type { RateLimit, SignatureScheme };

export interface BreakerOptions {
  /** Consecutive failures (5xx, timeouts, connection errors) that open the breaker. From `1` to `2_147_483_647`. @default 5 */
  failureThreshold: number;
  /**
   * Milliseconds the breaker stays open before one probe is let through (plus up to 20% jitter).
   * From `1` to `1_789_569_706`: with its jitter it stays one timer under Node's 2^31 − 1 ms limit.
   * @default 30_000
   */
  cooldownMs: number;
}

export interface RetryOptions {
  /** Attempts in all, the first included. From `1` to `2_147_483_647`. @default 8 */
  attempts: number;
  /** Milliseconds: the cap of the first retry's delay, doubled each retry. From `0` to `2_147_483_647`. @default 1_000 */
  baseDelayMs: number;
  /** Milliseconds: no retry delay is drawn above this. From `0` to `2_147_483_647`. @default 300_000 */
  maxDelayMs: number;
  /** Milliseconds: a receiver's `Retry-After` is honoured up to this. From `0` to `2_147_483_647`. @default 600_000 */
  maxRetryAfterMs: number;
}

/** Options that can differ per host (origin). */
export interface HostOptions {
  /** Requests in flight to one origin (and its connection pool size). From `1` to `10_000`. @default 10 */
  concurrency?: number;
  /** Messages waiting for one origin, retries included. From `1` to `2_147_483_647`. @default 10_000 */
  queueCapacity?: number;
  /** Requests per second to one origin. @default none (unlimited) */
  rateLimit?: RateLimit | false;
  /** Deliver one at a time, in acceptance order; a retrying message holds the ones behind it. @default false */
  ordered?: boolean;
  /** Circuit breaker for one origin, or `false` for none. */
  breaker?: Partial<BreakerOptions> | false;
}

/**
 * Constructor options. Every key is checked: an unknown one (a misspelling such as `retries`)
 * throws `WD_INVALID_OPTIONS` naming the nearest valid key. Only own properties are read.
 */
export interface DispatcherOptions extends HostOptions {
  /** Per-origin overrides, keyed by origin (`https://api.example.com`, `http://127.0.0.1:8080`). */
  hosts?: Record<string, HostOptions>;
  retry?: Partial<RetryOptions>;
  /** Milliseconds for one attempt, from connecting to the answer's last byte. From `1` to `2_147_483_647`. @default 15_000 */
  timeoutMs?: number;
  /**
   * Milliseconds after acceptance at which an undelivered message fails with `'expired'`.
   * From `1` to `31_536_000_000` (365 days). @default 86_400_000 (24 h)
   */
  ttlMs?: number;
  /** Bytes: cap on one serialized event body. From `1` to `536_870_912` (512 MiB). @default 1_048_576 */
  maxPayloadBytes?: number;
  /** How requests are signed, unless an endpoint names its own `signature`. @default 'standard-webhooks' */
  signature?: SignatureScheme;
  /**
   * The header `'timestamped-hex'` signs in: a lower-case HTTP token of at most 64 characters,
   * not one the dispatcher sets otherwise. Endpoints may not set it. @default 'x-webhook-signature'
   */
  signatureHeader?: string;
  /**
   * Allow private, loopback, CGNAT, unique-local and site-local destinations. Link-local
   * (169.254.0.0/16, the cloud metadata address among them, and fe80::/10) stays refused unless
   * `allowedNetworks` names it, and so do the metadata services inside the opened ranges
   * (`fd00:ec2::254`, `100.100.100.200`). @default false
   */
  allowPrivateNetworks?: boolean;
  /**
   * CIDR ranges allowed even though they are private or link-local, for example `['10.1.0.0/16']`.
   * IPv4 as four decimal octets, no host bits set; none may reach multicast, broadcast or
   * unspecified addresses (so no `/0`). @default []
   */
  allowedNetworks?: string[];
  /** Refuse `http:` endpoints. @default false */
  httpsOnly?: boolean;
  /** Milliseconds a host actor may sit idle before it and its connections are dropped. From `1` to `2_147_483_647`. @default 60_000 */
  idleTimeoutMs?: number;
  /** Bytes of a non-2xx answer's body kept for the `failed` event. From `0` to `1_048_576`. @default 1_024 */
  responseBodyBytes?: number;
  /** The `user-agent` header: tab, visible ASCII or Latin-1 characters, at most 8_192. @default 'webhook-dispatcher/0.1' */
  userAgent?: string;
  /** Host actors (origins) alive at once; a send to a new origin beyond it, when no idle one can be dropped, is refused with `WD_QUEUE_FULL`. An integer >= 1, or `Infinity`. @default Infinity */
  maxHosts?: number;
  /**
   * Where accepted messages live. With a durable store (`sqliteStore(…)` from
   * `webhook-dispatcher/sqlite`) `send` resolves once the message is committed, a host's
   * backlog waits on disk, and a new dispatcher on the same store recovers what an earlier one
   * left. `close()` closes it. @default in memory: dead letters and history of messages that had trouble
   */
  store?: MessageStore;
  /** How long ended messages are kept in the store. @default { deliveredMs: 3 days, failedMs: 30 days } */
  retention?: Partial<Retention>;
  /**
   * OpenTelemetry spans and metrics, through `@opentelemetry/api` when it is installed (an
   * optional peer; without an SDK registered it is a no-op). `node:diagnostics_channel` is
   * always published, at no cost without subscribers. @default { openTelemetry: true, hostAttributes: false }
   */
  telemetry?: TelemetryOptions;
  /**
   * Several processes as one: each host's `rateLimit` is shared through Redis (N processes
   * together keep `perSecond + burst`), and a breaker one process opens holds the host for all
   * until its probe answers. While Redis is away each process limits on its own (a `warning`
   * event says so) and nothing is refused. `{ redis, keyPrefix? }`. @default none: this process only
   */
  cluster?: ClusterOptions;
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
  signatureHeader: string;
  allowPrivateNetworks: boolean;
  allowedNetworks: string[];
  httpsOnly: boolean;
  idleTimeoutMs: number;
  responseBodyBytes: number;
  userAgent: string;
  maxHosts: number;
  /** Passed through unchecked for now. */
  store: unknown;
  /** Passed through unchecked for now. */
  retention: unknown;
  /** Checked (and its client made) by `startCluster`. */
  cluster: unknown;
  telemetry: Required<TelemetryOptions>;
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
  signatureHeader: 'x-webhook-signature',
  allowPrivateNetworks: false,
  httpsOnly: false,
  idleTimeoutMs: 60_000,
  responseBodyBytes: 1_024,
  userAgent: 'webhook-dispatcher/0.1',
  maxHosts: Infinity,
  telemetry: { openTelemetry: true, hostAttributes: false },
} as const satisfies Omit<ResolvedOptions, 'host' | 'hosts' | 'allowedNetworks' | 'store' | 'retention' | 'cluster'> &
  Omit<ResolvedHostOptions, 'rateLimit'>;

/** The valid keys of each level of the options, one list per level: add a new option's name here. */
export const OPTION_KEYS = {
  host: ['concurrency', 'queueCapacity', 'rateLimit', 'ordered', 'breaker'],
  top: [
    'concurrency', 'queueCapacity', 'rateLimit', 'ordered', 'breaker',
    'hosts', 'retry', 'timeoutMs', 'ttlMs', 'maxPayloadBytes', 'signature', 'signatureHeader',
    'allowPrivateNetworks', 'allowedNetworks', 'httpsOnly', 'idleTimeoutMs', 'responseBodyBytes', 'userAgent',
    'maxHosts', 'store', 'retention', 'cluster', 'telemetry',
  ],
  retry: ['attempts', 'baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'],
  rateLimit: ['perSecond', 'burst'],
  breaker: ['failureThreshold', 'cooldownMs'],
  close: ['drain', 'timeoutMs'],
  telemetry: ['openTelemetry', 'hostAttributes'],
} as const satisfies Record<string, readonly string[]>;

/**
 * Upper bounds. Node runs a timer of 2^31 ms or more after 1 ms, so a duration that becomes
 * one timer stays below it; waits that may be longer (`ttlMs`, a close's `timeoutMs`) are
 * stepped by the dispatcher and capped at a year.
 */
export const LIMITS = {
  timerMs: 2_147_483_647,
  longWaitMs: 365 * 86_400_000,
  /** `timerMs` less the breaker's 20% cooldown jitter. */
  cooldownMs: Math.floor(2_147_483_647 / 1.2),
  count: 2_147_483_647,
  concurrency: 10_000,
  perSecond: 1_000_000,
  maxPayloadBytes: 512 * 1024 * 1024,
  responseBodyBytes: 1024 * 1024,
  headerName: 64,
} as const;

function rateLimit(name: string, value: unknown, fallback: Required<RateLimit> | undefined): Required<RateLimit> | undefined {
  if (value === undefined) return fallback;
  if (value === false) return undefined;
  const o = readObject(name, value, OPTION_KEYS.rateLimit);
  const perSecond = number(`${name}.perSecond`, o('perSecond'), 0.01, LIMITS.perSecond, undefined);
  const burst = number(`${name}.burst`, o('burst'), 0, LIMITS.perSecond, Math.max(1, perSecond / 10));
  return { perSecond, burst };
}

function breaker(name: string, value: unknown, fallback: BreakerOptions | false): BreakerOptions | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  const o = readObject(name, value, OPTION_KEYS.breaker);
  const base = fallback === false ? DEFAULTS.breaker : fallback;
  return {
    failureThreshold: integer(`${name}.failureThreshold`, o('failureThreshold'), 1, LIMITS.count, base.failureThreshold),
    cooldownMs: integer(`${name}.cooldownMs`, o('cooldownMs'), 1, LIMITS.cooldownMs, base.cooldownMs),
  };
}

function hostOptions(prefix: string, o: OptionReader, base: ResolvedHostOptions): ResolvedHostOptions {
  return {
    concurrency: integer(`${prefix}concurrency`, o('concurrency'), 1, LIMITS.concurrency, base.concurrency),
    queueCapacity: integer(`${prefix}queueCapacity`, o('queueCapacity'), 1, LIMITS.count, base.queueCapacity),
    rateLimit: rateLimit(`${prefix}rateLimit`, o('rateLimit'), base.rateLimit),
    ordered: boolean(`${prefix}ordered`, o('ordered'), base.ordered),
    breaker: breaker(`${prefix}breaker`, o('breaker'), base.breaker),
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

function hostsOption(value: unknown, host: ResolvedHostOptions): Map<string, ResolvedHostOptions> {
  const hosts = new Map<string, ResolvedHostOptions>();
  if (value === undefined) return hosts;
  // Keyed by origins, so any key is allowed here; each entry's own keys are checked.
  const keys = ownKeys('hosts', value);
  const read = readObject('hosts', value, keys);
  for (const key of keys) {
    const name = `hosts[${JSON.stringify(key)}]`;
    hosts.set(originKey(key), hostOptions(`${name}.`, readObject(name, read(key), OPTION_KEYS.host), host));
  }
  return hosts;
}

function signatureHeaderOption(value: unknown): string {
  if (value === undefined) return DEFAULTS.signatureHeader;
  const taken = value === DEFAULTS.signatureHeader
    ? false
    : typeof value === 'string' && (OWNED_HEADERS.has(value) || value === 'user-agent' || Object.values(SIGNATURE_HEADERS).some((names) => names.includes(value)));
  if (typeof value !== 'string' || value.length > LIMITS.headerName || !/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(value) || taken) {
    throw invalidOptions('signatureHeader', `a lower-case HTTP token of at most ${LIMITS.headerName} characters that the dispatcher does not set otherwise`, value);
  }
  return value;
}

function userAgentOption(value: unknown): string {
  if (value === undefined) return DEFAULTS.userAgent;
  if (typeof value !== 'string' || !isHeaderValue(value) || value.length > MAX_HEADER_VALUE_LENGTH) {
    throw invalidOptions('userAgent', `a string of at most ${grouped(MAX_HEADER_VALUE_LENGTH)} tab, visible ASCII or Latin-1 characters (no control character, nothing above U+00FF)`, value);
  }
  return value;
}

function allowedNetworksOption(value: unknown): string[] {
  if (value === undefined) return [];
  let copy: unknown[];
  try {
    if (!Array.isArray(value)) throw invalidOptions('allowedNetworks', 'an array of CIDR strings', value);
    copy = Array.from(value as unknown[]);
  } catch (error) {
    if (error instanceof WebhookError) throw error;
    throw new WebhookError('WD_INVALID_OPTIONS', 'Expected `allowedNetworks` to be readable, but reading it threw', { cause: error });
  }
  copy.forEach((n, i) => {
    if (typeof n !== 'string') throw invalidOptions(`allowedNetworks[${i}]`, 'a CIDR string such as `10.1.0.0/16`', n);
  });
  return copy as string[];
}

function maxHostsOption(value: unknown): number {
  if (value === Infinity) return Infinity;
  if (value === undefined) return DEFAULTS.maxHosts;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > LIMITS.count) {
    throw invalidOptions('maxHosts', `an integer from 1 to ${grouped(LIMITS.count)}, or \`Infinity\` for no cap`, value);
  }
  return value;
}

/** Validates constructor options and fills in the defaults. Throws `WD_INVALID_OPTIONS`, never anything else. */
export function resolveOptions(input: unknown): ResolvedOptions {
  try {
    return resolve(input);
  } catch (error) {
    if (error instanceof WebhookError) throw error;
    throw new WebhookError('WD_INVALID_OPTIONS', 'Expected the options to be readable, but reading them threw', { cause: error });
  }
}

function resolve(input: unknown): ResolvedOptions {
  const o = readObject('options', input === undefined ? {} : input, OPTION_KEYS.top, '');
  const host = hostOptions('', o, {
    concurrency: DEFAULTS.concurrency,
    queueCapacity: DEFAULTS.queueCapacity,
    rateLimit: undefined,
    ordered: DEFAULTS.ordered,
    breaker: { ...DEFAULTS.breaker },
  });
  const hosts = hostsOption(o('hosts'), host);
  const rawRetry = o('retry');
  const r = readObject('retry', rawRetry === undefined ? {} : rawRetry, OPTION_KEYS.retry);
  const retry: RetryOptions = {
    attempts: integer('retry.attempts', r('attempts'), 1, LIMITS.count, DEFAULTS.retry.attempts),
    baseDelayMs: number('retry.baseDelayMs', r('baseDelayMs'), 0, LIMITS.timerMs, DEFAULTS.retry.baseDelayMs),
    maxDelayMs: number('retry.maxDelayMs', r('maxDelayMs'), 0, LIMITS.timerMs, DEFAULTS.retry.maxDelayMs),
    maxRetryAfterMs: number('retry.maxRetryAfterMs', r('maxRetryAfterMs'), 0, LIMITS.timerMs, DEFAULTS.retry.maxRetryAfterMs),
  };
  const signature = o('signature') ?? DEFAULTS.signature;
  if (signature !== 'standard-webhooks' && signature !== 'timestamped-hex') {
    throw invalidOptions('signature', "`'standard-webhooks'` or `'timestamped-hex'`", signature);
  }
  return {
    host,
    hosts,
    retry,
    timeoutMs: integer('timeoutMs', o('timeoutMs'), 1, LIMITS.timerMs, DEFAULTS.timeoutMs),
    ttlMs: integer('ttlMs', o('ttlMs'), 1, LIMITS.longWaitMs, DEFAULTS.ttlMs),
    maxPayloadBytes: integer('maxPayloadBytes', o('maxPayloadBytes'), 1, LIMITS.maxPayloadBytes, DEFAULTS.maxPayloadBytes),
    signature,
    signatureHeader: signatureHeaderOption(o('signatureHeader')),
    allowPrivateNetworks: boolean('allowPrivateNetworks', o('allowPrivateNetworks'), DEFAULTS.allowPrivateNetworks),
    allowedNetworks: allowedNetworksOption(o('allowedNetworks')),
    httpsOnly: boolean('httpsOnly', o('httpsOnly'), DEFAULTS.httpsOnly),
    idleTimeoutMs: integer('idleTimeoutMs', o('idleTimeoutMs'), 1, LIMITS.timerMs, DEFAULTS.idleTimeoutMs),
    responseBodyBytes: integer('responseBodyBytes', o('responseBodyBytes'), 0, LIMITS.responseBodyBytes, DEFAULTS.responseBodyBytes),
    userAgent: userAgentOption(o('userAgent')),
    maxHosts: maxHostsOption(o('maxHosts')),
    store: o('store'),
    retention: o('retention'),
    cluster: o('cluster'),
    telemetry: telemetryOption(o('telemetry')),
  };
}

function telemetryOption(value: unknown): Required<TelemetryOptions> {
  const t = readObject('telemetry', value === undefined ? {} : value, OPTION_KEYS.telemetry);
  return {
    openTelemetry: boolean('telemetry.openTelemetry', t('openTelemetry'), DEFAULTS.telemetry.openTelemetry),
    hostAttributes: boolean('telemetry.hostAttributes', t('hostAttributes'), DEFAULTS.telemetry.hostAttributes),
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
  /** Milliseconds to drain before what is left fails with `'closed'`. From `0` to `31_536_000_000` (365 days). @default no limit */
  timeoutMs?: number;
}

/** Validates `close()` options. Throws `WD_INVALID_OPTIONS`, never anything else. */
export function resolveCloseOptions(input: unknown): { drain: boolean; timeoutMs: number } {
  if (input === undefined) return { drain: false, timeoutMs: Infinity };
  try {
    const o = readObject('options', input, OPTION_KEYS.close, '');
    const timeoutMs = o('timeoutMs');
    return {
      drain: boolean('drain', o('drain'), false),
      timeoutMs: timeoutMs === undefined ? Infinity : number('timeoutMs', timeoutMs, 0, LIMITS.longWaitMs, undefined),
    };
  } catch (error) {
    if (error instanceof WebhookError) throw error;
    throw new WebhookError('WD_INVALID_OPTIONS', 'Expected the close options to be readable, but reading them threw', { cause: error });
  }
}
