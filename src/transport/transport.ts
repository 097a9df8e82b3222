import type { Clock } from '../core/clock.js';
import type { LookupFunction } from '../security/address-policy.js';

/**
 * The transport seam: how a host actor sends. The default is undici (see
 * {@link UndiciTransport}); the dispatcher's `transport` internal swaps it, for example for the
 * recorder in `webhook-dispatcher/testing`.
 */

/** What one attempt came to: an answer, or a transport error. */
export type AttemptResult =
  | { status: number; retryAfter: string | undefined; body: string | undefined; latencyMs: number; error?: undefined }
  | { status?: undefined; error: { code: string; message: string; original: unknown }; latencyMs: number };

/** Hears one attempt's outcome: an object the sender already has, in place of a callback. */
export interface AttemptListener {
  /** Runs once, never synchronously inside the send, with the outcome. */
  attemptDone(result: AttemptResult): void;
}

/**
 * How a host actor sends: one POST at a time per call, the outcome reported once. The actor
 * keeps at most `connections` attempts in flight.
 */
export interface Transport {
  /** Sends one POST; `onDone` runs once, never synchronously inside `send`, with the outcome. */
  send(path: string, headers: string[], body: Buffer, onDone: (result: AttemptResult) => void): void;
  /**
   * {@link send} telling `listener` instead of calling a callback. Optional: the actor uses it
   * when a transport has it, and `send` with a callback otherwise. The callback and its context
   * cost about 0.13 KiB per attempt in flight, which 10,000 hosts hold 10,000 times.
   */
  sendTo?(path: string, headers: string[], body: Buffer, listener: AttemptListener): void;
  /** Lets in-flight requests finish, then releases the connections. */
  close(): Promise<void>;
  /** Ends every connection now; in-flight requests fail. */
  destroy(): Promise<void>;
}

/** Makes the transport for one origin. */
export type TransportFactory = (origin: string, connections: number) => Transport;

/** What every transport of one dispatcher shares. */
export interface TransportOptions {
  /** Milliseconds for one attempt, connecting to the last byte. */
  timeoutMs: number;
  /** Bytes of a non-2xx body kept for reporting. */
  responseBodyBytes: number;
  lookup: LookupFunction;
  clock: Clock;
}
