import type { Fence } from './store.js';

/** A message this process lost to another (its lease lapsed and was taken): where it was. */
export interface LostMessage {
  id: string;
  origin: string;
}

interface Held {
  /** The lease generation its writes carry; `-1` once lost: no write of it can apply. */
  gen: number;
  origin: string;
  /** The store has it committed under this owner: a renewal that does not list it lost it. */
  confirmed: boolean;
}

/** A generation no claim ever gives: the fence of a message this process does not hold. */
const NONE = -1;

/**
 * What this process holds in a shared store, message by message: the lease generation (the
 * fencing token) its attempts and ends are written under, from the accept or the claim that
 * gave it the message until its end is written or it is given back. An end the store could not
 * write keeps its message here (renewed, its fence kept) while it is written again; a renewal
 * that no longer lists it marks it lost, so the next write of the end is refused and the
 * message released with no event (no actor holds it any more: forgetting it counts nothing).
 */
export class HeldLeases {
  readonly #held = new Map<string, Held>();

  constructor(readonly owner: string) {}

  get size(): number {
    return this.#held.size;
  }

  /** Accepted under this owner (generation 0), not yet committed. */
  accepting(id: string, origin: string): void {
    this.#held.set(id, { gen: 0, origin, confirmed: false });
  }

  /** The accept committed, or a claim gave it under `gen`. */
  confirm(id: string, origin: string, gen?: number): void {
    const held = this.#held.get(id);
    if (gen !== undefined) this.#held.set(id, { gen, origin, confirmed: true });
    else if (held !== undefined) held.confirmed = true;
  }

  /** Its end was written (or refused), it was given back, or its accept failed. */
  drop(id: string): void {
    this.#held.delete(id);
  }

  /** The fence of a write about `id`: one that never applies when this process does not hold it. */
  fence(id: string): Fence {
    return { owner: this.owner, gen: this.#held.get(id)?.gen ?? NONE };
  }

  /** The ids a renewal must list, taken before it is sent (later claims and accepts are not in it). */
  snapshot(): Set<string> {
    const ids = new Set<string>();
    for (const [id, held] of this.#held) if (held.confirmed && held.gen !== NONE) ids.add(id);
    return ids;
  }

  /**
   * Compares a renewal's list with what was held when it was sent: each missing message was
   * taken by another process. Marks those lost (their writes can no longer apply) and returns them.
   */
  lost(before: ReadonlySet<string>, listed: readonly string[]): LostMessage[] {
    const still = new Set(listed);
    const lost: LostMessage[] = [];
    for (const id of before) {
      const held = this.#held.get(id);
      if (still.has(id) || held === undefined || held.gen === NONE) continue;
      held.gen = NONE;
      lost.push({ id, origin: held.origin });
    }
    return lost;
  }

  /** A write about `id` was refused: whatever it held, it holds it no more. */
  refused(id: string): LostMessage | undefined {
    const held = this.#held.get(id);
    if (held === undefined) return undefined;
    held.gen = NONE;
    return { id, origin: held.origin };
  }
}
