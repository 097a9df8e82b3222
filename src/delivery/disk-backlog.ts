import type { Message } from '../model/message.js';
import type { Backlog } from '../persistence/backlog.js';

/**
 * One host's backlog on disk (a durable store): past a window of messages kept in memory, an
 * accepted message is only counted here, and pages of them are read back in acceptance order
 * as the window empties.
 *
 * The window is an eighth of the queue, up to 1,024 (at least 64 or 4 × concurrency), so a
 * burst that delivery soon catches up with is not written out and read back (reading back
 * costs a decryption and an endpoint check per message), while a dead host's backlog of a
 * million still holds one window.
 */
export class DiskBacklog {
  /** Accepted messages waiting on disk, not in memory. */
  #count = 0;
  /**
   * Recovered messages still on disk, not yet counted against their endpoint's share (their URL
   * is unknown until read). Older than anything this run accepted, so they page in first.
   */
  #uncounted = 0;
  /**
   * Messages this run kept on disk, by endpoint URL: each was counted against its endpoint's
   * share when accepted, so any that vanish from the store are given back to their endpoint.
   * Made on the first message kept.
   */
  #byUrl: Map<string, number> | undefined;
  /** The last message taken into memory: paging continues after it. */
  #lastInMemory = '';
  #paging = false;
  /** Set by {@link drop}: a page still on its way is ignored. */
  #dropped = false;

  constructor(
    private readonly backlog: Backlog,
    private readonly origin: string,
    /** Messages kept in memory before the rest wait on disk. */
    private readonly window: number,
  ) {}

  get count(): number {
    return this.#count;
  }

  /** Does `message` stay on disk only (the window is full, or older ones wait there)? Else it goes to memory. */
  keeps(message: Message, inMemory: number): boolean {
    if (this.#count > 0 || inMemory >= this.window) {
      this.#count++;
      const byUrl = (this.#byUrl ??= new Map());
      const url = message.endpoint.url;
      byUrl.set(url, (byUrl.get(url) ?? 0) + 1);
      return true;
    }
    this.#lastInMemory = message.id;
    return false;
  }

  /** Messages an earlier run left pending: all on disk. */
  recovered(count: number): void {
    this.#count += count;
    this.#uncounted += count;
  }

  /** Forgets what waits on disk (a closing dispatcher leaves it there); returns how many. */
  drop(): number {
    const count = this.#count;
    this.#count = 0;
    this.#byUrl = undefined;
    this.#dropped = true;
    return count;
  }

  /**
   * Reads the next page when the window is at most half full; `take` gets the messages in order,
   * how many of the first are recovered ones not yet counted against their endpoint, and, when
   * the store had fewer than were counted (ended by someone else), the vanished ones.
   */
  pageIn(inMemory: number, take: (messages: Message[], uncounted: number, vanished: Vanished | undefined) => void): void {
    if (this.#paging || this.#count === 0 || this.#dropped) return;
    const want = this.window - inMemory;
    if (want < this.window / 2) return;
    this.#paging = true;
    this.backlog.page(this.origin, this.#lastInMemory, want).then(
      (messages) => {
        this.#paging = false;
        if (this.#dropped) return;
        const uncounted = Math.min(this.#uncounted, messages.length);
        const byUrl = this.#byUrl;
        for (let i = 0; i < messages.length; i++) {
          const m = messages[i]!;
          this.#count--;
          this.#lastInMemory = m.id;
          // Past the recovered ones: one this run kept, now in memory (counted there from here on).
          if (i >= uncounted && byUrl !== undefined) {
            const left = (byUrl.get(m.endpoint.url) ?? 1) - 1;
            if (left > 0) byUrl.set(m.endpoint.url, left);
            else byUrl.delete(m.endpoint.url);
          }
        }
        let vanished: Vanished | undefined;
        // The store had fewer than counted (ended elsewhere): nothing more to wait for, and what
        // the vanished ones held of their endpoints' shares is given back.
        if (messages.length < want) {
          if (this.#count > 0) vanished = { count: this.#count, byUrl: byUrl ?? new Map() };
          this.#count = 0;
          this.#byUrl = undefined;
        }
        this.#uncounted = this.#count === 0 ? 0 : this.#uncounted - uncounted;
        take(messages, uncounted, vanished);
      },
      () => {
        // The store cannot be read now: try again at the next pump.
        this.#paging = false;
      },
    );
  }
}

/** Messages counted on disk that the store no longer holds as pending. */
export interface Vanished {
  count: number;
  /** Of them, those this run accepted, by endpoint URL (each counted against its endpoint's share). */
  byUrl: ReadonlyMap<string, number>;
}
