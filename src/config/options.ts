import type { ClusterOptions } from '../cluster/cluster-options.js';
import type { Retention } from '../persistence/store.js';
import type { MessageStore } from '../persistence/store.js';
import type { TelemetryOptions } from '../telemetry/open-telemetry.js';
import type { RateLimit } from '../limits/rate-limiter.js';
import { MAX_PER_SECOND } from '../limits/rate-limit-option.js';
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
  /**
   * The most of `queueCapacity` one endpoint URL may hold, as a fraction from `0.01` to `1`
   * (its queued, waiting, on-disk and committing messages): a flood to one endpoint leaves
   * room for the host's other endpoints. `1` lets one endpoint take the whole queue (the
   * behaviour before endpoints had shares). Ordered hosts have no shares. @default 0.5
   */
  endpointQueueShare?: number;
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
  endpointQueueShare: number;
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
  endpointQueueShare: 0.5,
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
  host: ['concurrency', 'queueCapacity', 'endpointQueueShare', 'rateLimit', 'ordered', 'breaker'],
  top: [
    'concurrency', 'queueCapacity', 'endpointQueueShare', 'rateLimit', 'ordered', 'breaker',
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
  perSecond: MAX_PER_SECOND,
  maxPayloadBytes: 512 * 1024 * 1024,
  responseBodyBytes: 1024 * 1024,
  headerName: 64,
} as const;

export interface CloseOptions {
  /** Deliver what was accepted before resolving (`true`), or fail it with `'closed'` (`false`). @default false */
  drain?: boolean;
  /** Milliseconds to drain before what is left fails with `'closed'`. From `0` to `31_536_000_000` (365 days). @default no limit */
  timeoutMs?: number;
}

/** Validates `close()` options. Throws `WD_INVALID_OPTIONS`, never anything else. */
