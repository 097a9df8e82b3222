import { Client, type Dispatcher } from 'undici';
import type { LookupFunction } from './address-policy.js';
import type { Clock, Timer } from './clock.js';

/** Bytes of an answer read (and thrown away) so its socket can be reused; a larger answer costs the socket instead. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * How a host actor sends: one POST at a time per call, the outcome reported once. The actor
 * keeps at most `connections` attempts in flight. Swap it (the dispatcher's `transport`
 * internal) to test without a network.
 */
export interface Transport {
  /** Sends one POST; `onDone` runs once, never synchronously inside `send`, with the outcome. */
  send(path: string, headers: string[], body: Buffer, onDone: (result: AttemptResult) => void): void;
  /** Lets in-flight requests finish, then releases the connections. */
  close(): Promise<void>;
  /** Ends every connection now; in-flight requests fail. */
  destroy(): Promise<void>;
}

/** Makes the transport for one origin. */
export type TransportFactory = (origin: string, connections: number) => Transport;

export interface TransportOptions {
  timeoutMs: number;
  /** Bytes of a non-2xx body kept for reporting. */
  responseBodyBytes: number;
  lookup: LookupFunction;
  clock: Clock;
}

/** Builds the undici `Client` options once; every transport of a dispatcher shares them. */
export function clientOptions(options: TransportOptions): Client.Options {
  return {
    pipelining: 1,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    keepAliveTimeout: 4_000,
    connect: { timeout: options.timeoutMs, lookup: options.lookup as never, keepAlive: true },
  };
}

/** What one attempt came to: an answer, or a transport error. */
export type AttemptResult =
  | { status: number; retryAfter: string | undefined; body: string | undefined; latencyMs: number; error?: undefined }
  | { status?: undefined; error: { code: string; message: string; original: unknown }; latencyMs: number };

class AttemptTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}

class BodyTooLarge extends Error {
  readonly code = 'WD_BODY_TOO_LARGE';
}

/**
 * One request, as an undici dispatch handler: no response stream, no AbortSignal, no promise.
 * It ends exactly once, through `done`, whichever of answer, error or deadline comes first.
 */
class Attempt implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined;
  status = 0;
  retryAfter: string | undefined;
  kept: Buffer[] | undefined;
  keptBytes = 0;
  read = 0;
  finished = false;

  constructor(
    private readonly clock: Clock,
    readonly started: number,
    readonly deadline: number,
    private readonly keepBytes: number,
    readonly client: Client,
    private readonly done: (attempt: Attempt, result: AttemptResult) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // The deadline passed while this request waited for a connection.
    if (this.finished) controller.abort(new AttemptTimeout('timed out before it was sent'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = status;
    const retryAfter = headers['retry-after'];
    this.retryAfter = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
    if (status < 200 || status >= 300) this.kept = [];
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.read += chunk.length;
    if (this.kept !== undefined && this.keptBytes < this.keepBytes) {
      const part = chunk.subarray(0, this.keepBytes - this.keptBytes);
      this.kept.push(part);
      this.keptBytes += part.length;
    }
    if (this.read > DRAIN_LIMIT) controller.abort(new BodyTooLarge('answer body over the drain limit'));
  }

  onResponseEnd(): void {
    this.#answer();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    // An answer whose status arrived stands even when its body is cut short (too large,
    // too slow, reset): the receiver has said what it had to say.
    if (this.status >= 200) return this.#answer();
    this.fail(error);
  }

  /** Ends the attempt with a transport error. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    const e = error as { code?: unknown; name?: unknown; message?: unknown };
    this.done(this, {
      error: {
        code: typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'UNKNOWN',
        message: typeof e.message === 'string' ? e.message : String(error),
        original: error,
      },
      latencyMs: Math.max(0, this.clock.now() - this.started),
    });
  }

  /** The deadline passed: cut the request, or mark it so it is cut when it starts. */
  expire(timeoutMs: number): void {
    const error = new AttemptTimeout(`No complete answer within ${timeoutMs} ms`);
    if (this.status >= 200) {
      this.controller?.abort(error);
      return this.#answer();
    }
    this.fail(error);
    this.controller?.abort(error);
  }

  #answer(): void {
    if (this.finished) return;
    this.finished = true;
    this.done(this, {
      status: this.status,
      retryAfter: this.retryAfter,
      body: this.kept === undefined ? undefined : Buffer.concat(this.kept).toString('utf8'),
      latencyMs: Math.max(0, this.clock.now() - this.started),
    });
  }
}

/**
 * HTTP to one origin over up to `connections` keep-alive undici `Client`s. Each attempt has one
 * deadline covering connect to the last byte read; redirects are never followed (a dispatch
 * never follows them); at most `responseBodyBytes` of an answer are kept and at most 64 KiB
 * read, so a receiver that streams forever cannot hold memory or a connection.
 *
 * Why not undici's `Pool`: its request queue preallocates 2,048 slots, about 18 KiB per
 * origin, and the host actor already queues and bounds concurrency. Clients are made as
 * attempts need them, and an attempt always finds an idle one.
 *
 * Deadlines are all `timeoutMs` after their start, so attempts in flight expire in the order
 * they started: one timer, armed for the oldest, serves them all.
 */
export class UndiciTransport implements Transport {
  readonly #origin: string;
  readonly #clock: Clock;
  readonly #options: Client.Options;
  readonly #maxClients: number;
  readonly #timeoutMs: number;
  readonly #keepBytes: number;
  readonly #idle: Client[] = [];
  readonly #all: Client[] = [];
  /** In flight, oldest first (Set keeps insertion order). */
  readonly #inFlight = new Set<Attempt>();
  #timer: Timer | undefined;
  #spare = 0;

  /**
   * @param connections the most connections to the origin: the host's concurrency
   * @param shared options from {@link clientOptions}, shared by every transport
   */
  constructor(origin: string, connections: number, options: TransportOptions, shared: Client.Options) {
    this.#origin = origin;
    this.#clock = options.clock;
    this.#maxClients = connections;
    this.#timeoutMs = options.timeoutMs;
    this.#keepBytes = options.responseBodyBytes;
    this.#options = shared;
  }

  send(path: string, headers: string[], body: Buffer, onDone: (result: AttemptResult) => void): void {
    const client = this.#idle.pop() ?? this.#newClient();
    const now = this.#clock.now();
    const attempt = new Attempt(this.#clock, now, now + this.#timeoutMs, this.#keepBytes, client, (a, result) => {
      this.#inFlight.delete(a);
      // Never re-enter undici from inside its own callback: when a connection fails it errors
      // every queued request in a loop and asserts the queue is empty afterwards, and the next
      // attempt would be dispatched onto that very client. A microtask runs after it unwinds.
      queueMicrotask(() => {
        if (!a.client.destroyed) this.#idle.push(a.client);
        else this.#forget(a.client);
        onDone(result);
      });
    });
    this.#inFlight.add(attempt);
    if (this.#timer === undefined) this.#arm();
    try {
      client.dispatch({ method: 'POST', path, headers, body }, attempt);
    } catch (error) {
      // A closed or destroyed client throws synchronously.
      attempt.fail(error);
    }
  }

  #forget(client: Client): void {
    const i = this.#all.indexOf(client);
    if (i >= 0) this.#all.splice(i, 1);
  }

  #newClient(): Client {
    // The actor keeps at most `connections` attempts in flight, so this is a safety net: an
    // attempt cut at its deadline frees its slot a moment before its client is free. Such a
    // request waits in that client's own queue.
    if (this.#all.length >= this.#maxClients) return this.#all[this.#spare++ % this.#all.length]!;
    const client = new Client(this.#origin, this.#options);
    this.#all.push(client);
    return client;
  }

  #arm(): void {
    const oldest = this.#inFlight.values().next().value;
    if (oldest === undefined) return;
    // Not owed work: the sockets of attempts in flight keep the process alive while they
    // last, and once none is left an idle dispatcher must let the process exit.
    this.#timer = this.#clock.setTimer(this.#expire, Math.max(1, oldest.deadline - this.#clock.now()), false);
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (const attempt of this.#inFlight) {
      if (attempt.deadline > now) break;
      attempt.expire(this.#timeoutMs);
    }
    this.#arm();
  };

  async close(): Promise<void> {
    await Promise.all(this.#all.map((c) => c.close().catch(() => {})));
    this.#stopTimer();
  }

  async destroy(): Promise<void> {
    await Promise.all(this.#all.map((c) => c.destroy().catch(() => {})));
    for (const attempt of this.#inFlight) attempt.fail(new Error('destroyed'));
    this.#stopTimer();
  }

  #stopTimer(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}
