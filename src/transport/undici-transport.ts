import { Client, buildConnector } from 'undici';
import { AttemptHandler, ReportBatch, type AttemptOwner } from './attempt-handler.js';
import { Deadlines } from './deadlines.js';
import type { AttemptListener, AttemptResult, Transport, TransportFactory, TransportOptions } from './transport.js';

/** TLS sessions kept for resumption, across every origin of a dispatcher (keyed by server name). */
const TLS_SESSIONS = 10_000;

/**
 * Builds the undici `Client` options once; every transport of a dispatcher shares them,
 * connector included. Given connect options instead of a function, each `Client` builds its
 * own connector and TLS session cache (a `Map` and a `FinalizationRegistry`), about 300 bytes
 * per connection that a dispatcher with 10,000 hosts holds 10,000 times.
 */
function clientOptions(options: TransportOptions): Client.Options {
  return {
    pipelining: 1,
    // Off: each attempt's own deadline (see UndiciTransport) covers connecting to the last
    // byte and cuts the request when it passes. undici's header and body timers would only
    // repeat it, at the price of a timer object per request, re-armed on every chunk read.
    headersTimeout: 0,
    bodyTimeout: 0,
    keepAliveTimeout: 4_000,
    connect: buildConnector({ timeout: options.timeoutMs, lookup: options.lookup as never, keepAlive: true, maxCachedSessions: TLS_SESSIONS }),
  };
}

/** A transport's clients past its first, made with its second: most of 10,000 hosts never have one. */
interface More {
  readonly others: Client[];
  /** The idle clients under the top of the stack. */
  readonly idleRest: Client[];
  /** Where the next attempt goes when every client is busy (a safety net, see #newClient). */
  spare: number;
}

/** What the transports of one dispatcher share: made once by {@link undiciTransports}. */
interface SharedParts {
  readonly options: TransportOptions;
  /** undici `Client` options, connector included. */
  readonly client: Client.Options;
  /** One timer for every attempt in flight. */
  readonly deadlines: Deadlines;
  /** Finished attempts waiting for their microtask. */
  readonly reports: ReportBatch;
}

/**
 * The dispatcher's undici transports: one per origin, sharing their client options, one
 * deadline list and one report batch, which belong to this dispatcher and no other.
 */
export function undiciTransports(options: TransportOptions): TransportFactory {
  const shared: SharedParts = { options, client: clientOptions(options), deadlines: new Deadlines(options), reports: new ReportBatch() };
  return (origin, connections) => new UndiciTransport(origin, connections, shared);
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
 * Deadlines: see {@link Deadlines}, one timer for the dispatcher's attempts in flight.
 *
 * Its helpers are `private` methods, not `#` ones: a class with `#` methods gives each instance
 * one more slot (its brand), 8 bytes that 10,000 hosts hold 10,000 times.
 */
export class UndiciTransport implements Transport, AttemptOwner {
  readonly #origin: string;
  /** What the dispatcher's transports share, one field for four: there may be 10,000 transports. */
  readonly #parts: SharedParts;
  readonly #maxClients: number;
  /**
   * Every client (the first in a field, the others in {@link More}, made for a second one), and
   * the idle ones as a stack: its top in a field, the rest in {@link More} too. Most of 10,000
   * hosts hold one connection, and an array costs 60 bytes or more.
   */
  #first: Client | undefined;
  #idleTop: Client | undefined;
  #more: More | undefined;
  /** Attempts of this transport in flight. */
  #inFlight = 0;

  /**
   * @param connections the most connections to the origin: the host's concurrency
   * @param shared what every transport of the dispatcher shares (see {@link undiciTransports})
   */
  constructor(origin: string, connections: number, shared: SharedParts) {
    this.#origin = origin;
    this.#parts = shared;
    this.#maxClients = connections;
  }

  get options(): TransportOptions {
    return this.#parts.options;
  }

  get reports(): ReportBatch {
    return this.#parts.reports;
  }

  send(path: string, headers: string[], body: Buffer, onDone: (result: AttemptResult) => void): void {
    this.sendTo(path, headers, body, { attemptDone: onDone });
  }

  sendTo(path: string, headers: string[], body: Buffer, listener: AttemptListener): void {
    const client = this.takeIdle() ?? this.newClient();
    const attempt = new AttemptHandler(this, this.options.clock.now(), client, listener);
    this.#inFlight++;
    this.#parts.deadlines.add(attempt);
    try {
      client.dispatch({ method: 'POST', path, headers, body }, attempt);
    } catch (error) {
      // A closed or destroyed client throws synchronously.
      attempt.fail(error);
    }
  }

  ended(attempt: AttemptHandler): void {
    this.#inFlight--;
    this.#parts.deadlines.remove(attempt);
  }

  report(attempt: AttemptHandler): void {
    if (!attempt.client.destroyed) this.putIdle(attempt.client);
    else this.forget(attempt.client);
    attempt.listener.attemptDone(attempt.result!);
  }

  private takeIdle(): Client | undefined {
    const client = this.#idleTop;
    this.#idleTop = this.#more?.idleRest.pop();
    return client;
  }

  private putIdle(client: Client): void {
    if (this.#idleTop !== undefined) this.moreOf().idleRest.push(this.#idleTop);
    this.#idleTop = client;
  }

  private forget(client: Client): void {
    const others = this.#more?.others;
    if (this.#first === client) this.#first = others?.shift();
    else if (others !== undefined) {
      const i = others.indexOf(client);
      if (i >= 0) others.splice(i, 1);
    }
  }

  private clients(): Client[] {
    const first = this.#first;
    return first === undefined ? [] : this.#more === undefined ? [first] : [first, ...this.#more.others];
  }

  private newClient(): Client {
    // The actor keeps at most `connections` attempts in flight, so this is a safety net: an
    // attempt cut at its deadline frees its slot a moment before its client is free. Such a
    // request waits in that client's own queue.
    const count = this.#first === undefined ? 0 : 1 + (this.#more?.others.length ?? 0);
    if (count > 0 && count >= this.#maxClients) {
      return this.clients()[this.moreOf().spare++ % count]!;
    }
    const client = new Client(this.#origin, this.#parts.client);
    if (this.#first === undefined) this.#first = client;
    else this.moreOf().others.push(client);
    return client;
  }

  private moreOf(): More {
    return (this.#more ??= { others: [], idleRest: [], spare: 0 });
  }

  async close(): Promise<void> {
    await Promise.all(this.clients().map((c) => c.close().catch(() => {})));
    this.#parts.deadlines.stopIfIdle();
  }

  async destroy(): Promise<void> {
    await Promise.all(this.clients().map((c) => c.destroy().catch(() => {})));
    // Destroying a client errors every request it holds; this is the safety net, and the
    // only walk over the dispatcher's whole list, so it runs only when something was missed.
    if (this.#inFlight > 0) {
      const error = new Error('destroyed');
      this.#parts.deadlines.forEach((attempt) => attempt.owner === this && attempt.fail(error));
    }
    this.#parts.deadlines.stopIfIdle();
  }
}
