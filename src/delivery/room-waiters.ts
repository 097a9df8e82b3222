/**
 * Callers waiting for room in a host's queue (after `WD_QUEUE_FULL`), each for the host's room
 * or for one endpoint's share. Made at the first waiter: most hosts never fill.
 */
export class RoomWaiters {
  #waiters: { url: string | undefined; resolve: () => void }[] | undefined;

  get any(): boolean {
    return this.#waiters !== undefined;
  }

  /** Resolves when `room.roomFor(url)` holds at a {@link notify}. */
  wait(url: string | undefined): Promise<void> {
    return new Promise((resolve) => (this.#waiters ??= []).push({ url, resolve }));
  }

  /** Resolves the waiters with room now (all of them when `all`, the actor is aborted); the rest keep waiting. */
  notify(room: { roomFor(url: string | undefined): boolean }, all = false): void {
    const waiters = this.#waiters;
    this.#waiters = undefined;
    for (const w of waiters ?? []) {
      if (all || room.roomFor(w.url)) w.resolve();
      else (this.#waiters ??= []).push(w);
    }
  }
}
