import type { WebhookError } from '../core/errors.js';
import type { SignatureScheme } from '../signing/scheme.js';
import type { RateLimit } from '../limits/rate-limiter.js';

/** Where a webhook goes and how it is signed. */
export interface Endpoint {
  /** Absolute `http:` or `https:` URL. Credentials in the URL are refused: use `headers`. */
  url: string;
  /**
   * Signing secret, or several during a rotation (each signs; all signatures are sent).
   * `'standard-webhooks'`: `whsec_` followed by base64 of 24 to 64 key bytes.
   * `'timestamped-hex'`: any non-empty string.
   */
  secret: string | string[];
  /** Extra request headers. They cannot replace the signature, id, timestamp, content or host headers. */
  headers?: Record<string, string>;
  /** How this endpoint's requests are signed, overriding the dispatcher's `signature`. */
  signature?: SignatureScheme;
  /**
   * This URL's own rate limit, under the host's (`rateLimit` in the options): every send with
   * the same `url` shares one bucket (through Redis in a cluster), while the URL has messages
   * or its bucket is refilling; the limit its first send named holds meanwhile. The same ranges
   * as the host's. With a durable store, messages recovered by a later run are not limited
   * by it until a new send to the URL names it again. Not applied on an `ordered` host, whose
   * one queue keeps acceptance order: there the host's own limit holds.
   */
  rateLimit?: RateLimit;
}

/** What happened. Serialized once per event into `{ id, type, timestamp, data }`. */
export interface WebhookEvent {
  /** Event type, for example `invoice.paid`. Non-empty, at most 256 characters. */
  type: string;
  /** Anything JSON can represent: no cycles, BigInt, functions or symbols. */
  data: unknown;
  /** Event id, sent as `webhook-id` and stable across retries and endpoints. Generated when absent. No `.`. */
  id?: string;
  /** When the event happened. @default now */
  timestamp?: Date;
}

/** A message accepted into its host's queue. */
export interface Receipt {
  /** This message: one event to one endpoint. Unique within the process. */
  messageId: string;
  eventId: string;
  /** `scheme://host:port` of the endpoint: the key of its host actor. */
  origin: string;
}

/** One endpoint's part of a `publish`: accepted, or refused with the reason. */
export type PublishResult = { ok: true; receipt: Receipt } | { ok: false; error: WebhookError };

interface MessageFacts {
  messageId: string;
  eventId: string;
  eventType: string;
  url: string;
  origin: string;
}

/** A message was answered 2xx. Terminal. */
export interface Delivered extends MessageFacts {
  /** Attempts made, this one included. */
  attempts: number;
  status: number;
  /** The successful attempt, from sending to the last byte of the answer. */
  latencyMs: number;
}

/** Why a message ended without delivery. */
export type FailureReason = 'rejected' | 'exhausted' | 'expired' | 'blocked' | 'gone' | 'closed' | 'cancelled';

/** A message ended without delivery: the dead letter, for the caller to keep or drop. Terminal. */
export interface Failed extends MessageFacts {
  attempts: number;
  reason: FailureReason;
  /** HTTP status of the last answer, when there was one. */
  status?: number;
  /** The last transport error (timeout, reset, refused), when there was one. */
  error?: { code: string; message: string };
  /** The first bytes of the last answer's body (UTF-8, truncated), when there was one. */
  responseBody?: string;
}

/** One attempt ended (any outcome). Emitted only when someone listens. */
export interface Attempt extends MessageFacts {
  attempt: number;
  status?: number;
  error?: { code: string; message: string };
  latencyMs: number;
}

/** A message will be tried again. */
export interface Retry extends MessageFacts {
  /** The attempt that just failed. */
  attempt: number;
  /** How long until the next attempt may run. */
  delayMs: number;
  status?: number;
  error?: { code: string; message: string };
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** A host's circuit breaker, or one endpoint's (with `url`), changed state. */
export interface BreakerChange {
  origin: string;
  state: BreakerState;
  /**
   * Set for an endpoint's own breaker: its 5xx and timeouts opened it, and it holds that URL
   * only. Absent for the host's breaker, which holds every endpoint of the origin.
   */
  url?: string;
}

/** A receiver answered 410: the subscription should probably be dropped. A `failed` with reason `'gone'` follows. */
export interface Gone extends MessageFacts {}

/** Event names and their listener signatures. */
export interface DispatcherEvents {
  delivered: (event: Delivered) => void;
  failed: (event: Failed) => void;
  attempt: (event: Attempt) => void;
  retry: (event: Retry) => void;
  breaker: (event: BreakerChange) => void;
  gone: (event: Gone) => void;
  /** A listener threw. Delivery goes on; the error is reported here (or as a process warning when nobody listens). */
  error: (error: unknown) => void;
  /**
   * Something degraded without stopping delivery. Without a listener it becomes a process
   * warning. See {@link DispatcherWarning} for the kinds.
   */
  warning: (warning: DispatcherWarning) => void;
}

/**
 * Something degraded without stopping delivery:
 * - `cluster-unavailable` / `cluster-restored`: Redis (the `cluster` option) went away and each
 *   process limits hosts on its own, or it is back. Nothing is refused or lost either way.
 * - `cluster-clock-skew` (once per process): a shared rate bucket in Redis held a time ahead of
 *   the Redis server's clock (a clock that stepped back, a failover to a replica whose clock is
 *   behind, a write from elsewhere): it is counted from the server's now instead.
 * - `store-write-failed`: a write behind delivery (an attempt, an end, a claim or a lease
 *   renewal) did not reach the store. The message goes on in memory (with a shared store an
 *   end is written again, its event held until the store keeps it); `error` is the store's
 *   `WebhookError` (`WD_STORE_UNAVAILABLE`). Accepting writes are never reported here: their
 *   `send` rejects instead. At most one a second.
 */
export type DispatcherWarning =
  | { kind: 'cluster-unavailable' | 'cluster-restored' | 'cluster-clock-skew'; /** What happened and what it means; never a secret or a connection string. */ message: string }
  | { kind: 'store-write-failed'; message: string; error: WebhookError };

/** The warnings the `cluster` option's Redis link gives. */
export type ClusterWarning = Extract<DispatcherWarning, { kind: 'cluster-unavailable' | 'cluster-restored' | 'cluster-clock-skew' }>;

export interface HostStats {
  /** Waiting for their first attempt or back from a retry wait, not yet sent. */
  queued: number;
  inFlight: number;
  /** Waiting for their retry time. */
  waiting: number;
  breaker: BreakerState;
  /** Paused with `pause(origin)`: nothing new is sent until `resume(origin)`. */
  paused: boolean;
  /** Endpoint URLs of this host with state: something held or in flight, or a rate limit still refilling. */
  endpoints: number;
  /**
   * Up to 5 endpoints held while the host's others go on: `'breaker'`, their own breaker is open
   * (their 5xx or timeouts); `'rate'`, waiting for a permit of their own `rateLimit`. `queued`:
   * the messages the endpoint holds (queued, waiting to retry, on disk).
   */
  held: EndpointHold[];
  /** How many endpoints are held on their own, all of them (`held` names at most 5). */
  endpointsHeld: number;
  /** The endpoint holding the most of the host's room; `share` is its part of `queueCapacity` (0 to 1). Absent when none holds any. */
  busiest?: { url: string; queued: number; share: number };
}

/** One endpoint of a host held on its own: see {@link HostStats.held}. */
export interface EndpointHold {
  url: string;
  why: 'breaker' | 'rate';
  queued: number;
}

export interface DispatcherStats {
  accepted: number;
  delivered: number;
  failed: number;
  retries: number;
  /** Accepted and not yet ended: queued + in flight + waiting, across hosts. */
  pending: number;
  /** Live host actors, by origin. */
  hosts: Record<string, HostStats>;
}
