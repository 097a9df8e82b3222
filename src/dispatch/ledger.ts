/**
 * The dispatcher's books: how many messages were accepted and how each ended, and who waits
 * for the books to balance (`onIdle`). The only place the counts change: the sink records
 * ends and retries here, admission records acceptances and commits on their way.
 */
export class Ledger {
  #accepted = 0;
  #delivered = 0;
  #failed = 0;
  #retries = 0;
  /** Handed back unfinished to a durable store by a closing dispatcher: they end in a later run. */
  #released = 0;
  /** Durable sends waiting for their commit: not accepted yet, but not idle either. */
  #committing = 0;
  #idleWaiters: (() => void)[] = [];

  /** Accepted and not ended, plus sends whose commit is on its way. */
  get pending(): number {
    return this.#unfinished + this.#committing;
  }

  /** The totals `stats()` reports: `pending` there counts accepted messages only. */
  totals(): { accepted: number; delivered: number; failed: number; retries: number; pending: number } {
    return { accepted: this.#accepted, delivered: this.#delivered, failed: this.#failed, retries: this.#retries, pending: this.#unfinished };
  }

  /** Accepted, not ended and not handed back to the store. */
  get #unfinished(): number {
    return this.#accepted - this.#delivered - this.#failed - this.#released;
  }

  accepted(count = 1): void {
    this.#accepted += count;
  }

  delivered(): void {
    this.#delivered++;
  }

  failed(): void {
    this.#failed++;
  }

  retried(): void {
    this.#retries++;
  }

  released(count = 1): void {
    this.#released += count;
  }

  /** A durable send's commit begins; {@link committed} ends it, whatever its outcome. */
  committing(): void {
    this.#committing++;
  }

  committed(): void {
    this.#committing--;
  }

  /** Resolves when nothing is queued, in flight, waiting to retry or being committed. */
  onIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Call after anything that can bring `pending` to 0: an end, a release, a failed commit. */
  settle(): void {
    if (this.pending !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
