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
    this.#dropped = true;
    return count;
  }

  /**
   * Reads the next page when the window is at most half full; `take` gets the messages in order,
   * and how many of the first are recovered ones not yet counted against their endpoint.
   */
  pageIn(inMemory: number, take: (messages: Message[], uncounted: number) => void): void {
    if (this.#paging || this.#count === 0 || this.#dropped) return;
    const want = this.window - inMemory;
    if (want < this.window / 2) return;
    this.#paging = true;
    this.backlog.page(this.origin, this.#lastInMemory, want).then(
      (messages) => {
        this.#paging = false;
        if (this.#dropped) return;
        for (const m of messages) {
          this.#count--;
          this.#lastInMemory = m.id;
        }
        // The store had fewer than counted (ended elsewhere): nothing more to wait for.
        if (messages.length < want) this.#count = 0;
        const uncounted = Math.min(this.#uncounted, messages.length);
        this.#uncounted = this.#count === 0 ? 0 : this.#uncounted - uncounted;
        take(messages, uncounted);
      },
      () => {
        // The store cannot be read now: try again at the next pump.
        this.#paging = false;
      },
    );
  }
}
