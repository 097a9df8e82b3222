import { Deque } from '../core/deque.js';

/**
 * A queue that keeps its first item in a field and makes a {@link Deque} only when a second
 * item waits behind it. Most of 10,000 hosts hold one message at a time (and one endpoint in
 * turn): each then costs three fields, not a deque and its ring of slots (about 100 bytes).
 */
export class FrontQueue<T> {
  #front: T | undefined;
  /** Everything behind the front, in order; made at the first second item, then kept. */
  #rest: Deque<T> | undefined;
  #size = 0;

  get length(): number {
    return this.#size;
  }

  peek(): T | undefined {
    return this.#front;
  }

  push(item: T): void {
    if (this.#size++ === 0) this.#front = item;
    else (this.#rest ??= new Deque<T>()).push(item);
  }

  unshift(item: T): void {
    if (this.#size++ > 0) (this.#rest ??= new Deque<T>()).unshift(this.#front as T);
    this.#front = item;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#front;
    this.#size--;
    this.#front = this.#size === 0 ? undefined : this.#rest!.shift();
    return item;
  }

  /** Removes every item `drop` returns true for, keeping order; returns the removed items. */
  removeWhere(drop: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (const item of this.drain()) {
      if (drop(item)) removed.push(item);
      else this.push(item);
    }
    return removed;
  }

  /** Empties the queue and returns what it held, in order. */
  drain(): T[] {
    const all: T[] = [];
    for (let n = this.#size; n > 0; n--) all.push(this.shift() as T);
    return all;
  }
}
