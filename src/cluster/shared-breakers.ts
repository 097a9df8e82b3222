import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import { closeConnection } from './close-connection.js';
import { OWN_CONNECTION } from './cluster-options.js';
import { COMMAND_TIMEOUT_MS, type RedisLink } from './redis-link.js';
import type { BreakerState } from '../model/types.js';

/** How often an origin's shared state is read again while its actor sends: catches what pub/sub missed. */
export const REFRESH_MS = 1_000;

/** How much longer than its own open period a breaker holds the others: time for its probe to start. */
export const PROBE_GRACE_MS = 500;

/** What one process tells the others: `origin` is open for `ms` more (0: closed again). */
interface Notice {
  from: string;
  origin: string;
  ms: number;
}

/**
 * Open breakers shared by every process of a cluster. The process whose breaker opens writes
 * `<prefix>breaker:<origin>` with a PX expiry of its open period and publishes it; the others
 * keep what they hear in a local map (one lookup per pump, no round trip on the send path),
 * and read the key again at most every {@link REFRESH_MS} per origin in use, so a process
 * started later or reconnected learns it too. While the opener's probe is out the key stays,
 * for the probe's time, so nobody else sends before the probe has answered.
 *
 * Without Redis each process keeps its own breaker, as without a cluster.
 */
export class SharedBreakers {
  readonly #id = randomUUID();
  readonly #link: RedisLink;
  readonly #clock: Clock;
  readonly #channel: string;
  readonly #probeMs: number;
  readonly #wake: (origin: string) => void;
  readonly #subscriber: Redis;
  /** Origin → local time until which another process holds it open. */
  readonly #openUntil = new Map<string, number>();
  readonly #readAt = new Map<string, number>();
  /** Origin → local time until which this process's own breaker holds it (open, or probing). */
  readonly #mine = new Map<string, number>();
  /** Origins whose first read is on its way: their actors wait for it. */
  readonly #firstReads = new Set<string>();

  /**
   * @param probeMs how long a probe may take (one attempt's timeout)
   * @param wake called when an origin another process held open is closed again
   */
  constructor(link: RedisLink, clock: Clock, probeMs: number, wake: (origin: string) => void) {
    this.#link = link;
    this.#clock = clock;
    this.#probeMs = probeMs + 1_000;
    this.#wake = wake;
    this.#channel = `${link.prefix}breakers`;
    // A subscribed connection can do nothing else; ioredis subscribes it again after a reconnect.
    this.#subscriber = link.client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, ...OWN_CONNECTION });
    this.#subscriber.on('error', () => {
      // Outages are reported by the link; this connection only listens.
    });
    this.#subscriber.on('message', (channel: string, text: string) => this.#heard(channel, text));
    this.#subscriber.subscribe(this.#channel).catch(() => {});
    link.client.on('ready', this.#onReady);
  }

  /**
   * Until when (local time) another process holds `origin` open; 0 when none does, as far as is
   * known. An origin this process has not asked Redis about yet waits for that one answer
   * (a round trip, bounded by the command timeout, then `wake`), so a process that starts while
   * a host is held open does not send a first batch to it.
   */
  openUntil(origin: string, now: number): number {
    const readAt = this.#readAt.get(origin);
    if (readAt === undefined || now - readAt >= REFRESH_MS) {
      if (this.#read(origin, now) && readAt === undefined) return now + COMMAND_TIMEOUT_MS;
    } else if (this.#firstReads.has(origin)) return now + COMMAND_TIMEOUT_MS;
    const until = this.#openUntil.get(origin) ?? 0;
    if (until !== 0 && until <= now) this.#openUntil.delete(origin);
    return until > now ? until : 0;
  }

  /** This process's breaker for `origin` changed; `reopensAt` is when an open one lets its probe through. */
  changed(origin: string, state: BreakerState, reopensAt: number | undefined): void {
    const now = this.#clock.now();
    // An open period is announced a little longer than it is: the opener's probe (and its
    // half-open notice) comes when its own timer fires, and nobody may slip in before it.
    const until = state === 'closed' ? 0 : state === 'open' ? (reopensAt ?? now) + PROBE_GRACE_MS : now + this.#probeMs;
    if (until === 0) this.#mine.delete(origin);
    else this.#mine.set(origin, until);
    if (this.#link.usable(now)) this.#write(origin, until === 0 ? 0 : Math.max(1, Math.ceil(until - now)));
  }

  /** Connected (again): breakers this process opened meanwhile are shared now. */
  readonly #onReady = (): void => {
    const now = this.#clock.now();
    for (const [origin, until] of this.#mine) {
      if (until > now) this.#write(origin, Math.ceil(until - now));
      else this.#mine.delete(origin);
    }
  };

  #write(origin: string, ms: number): void {
    const key = this.#link.key('breaker', origin);
    const notice = JSON.stringify({ from: this.#id, origin, ms } satisfies Notice);
    this.#link
      .run(() => {
        // The value names the writer, so a process never takes its own open breaker for another's.
        const write = ms === 0 ? this.#link.client.del(key) : this.#link.client.set(key, this.#id, 'PX', ms);
        return write.then(() => this.#link.client.publish(this.#channel, notice));
      })
      .catch(() => {});
  }

  async close(): Promise<void> {
    this.#link.client.off('ready', this.#onReady);
    this.#subscriber.removeAllListeners('message');
    // Its own connection, also with a caller's client: closed whatever state it is in.
    await closeConnection(this.#subscriber, this.#clock, COMMAND_TIMEOUT_MS);
  }

  #heard(channel: string, text: string): void {
    if (channel !== this.#channel) return;
    let notice: Notice;
    try {
      notice = JSON.parse(text) as Notice;
    } catch {
      return;
    }
    if (notice.from === this.#id || typeof notice.origin !== 'string' || typeof notice.ms !== 'number') return;
    this.#set(notice.origin, notice.ms);
  }

  #set(origin: string, ms: number): void {
    if (ms > 0) {
      this.#openUntil.set(origin, this.#clock.now() + ms);
      return;
    }
    if (this.#openUntil.delete(origin)) this.#wake(origin);
  }

  /** Reads `origin`'s shared state; false when Redis cannot be asked now. */
  #read(origin: string, now: number): boolean {
    const first = !this.#readAt.has(origin);
    this.#readAt.set(origin, now);
    if (!this.#link.usable(now)) return false;
    if (first) this.#firstReads.add(origin);
    this.#link
      .run(() => {
        const key = this.#link.key('breaker', origin);
        return this.#link.client.pipeline().get(key).pttl(key).exec();
      })
      .then((replies) => {
        const writer = replies?.[0]?.[1];
        const ms = Number(replies?.[1]?.[1]);
        // PTTL -2: no key (closed, or its open period is over).
        if (writer !== this.#id && ms > 0) this.#set(origin, ms);
        else if (this.#openUntil.has(origin)) this.#set(origin, 0);
      })
      .catch(() => {})
      .finally(() => {
        if (this.#firstReads.delete(origin)) this.#wake(origin);
      });
    // A map that only grows would leak with many origins: forget what was not asked lately.
    if (this.#readAt.size > 10_000) for (const [o, at] of this.#readAt) if (now - at > REFRESH_MS && !this.#firstReads.has(o)) this.#readAt.delete(o);
    return true;
  }
}
