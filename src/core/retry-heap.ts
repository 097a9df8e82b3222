/** Something waiting until `dueAt` (milliseconds). */
export interface Due {
  dueAt: number;
}

/**
 * A binary min-heap on `dueAt`: a host's retries wait here, and the host needs one timer for
 * the earliest of them instead of one timer per message.
 */
export class RetryHeap<T extends Due> {
  /** Made at the first push: most hosts never retry, and there may be 10,000 hosts. */
  #items: T[] | undefined;

  get size(): number {
    return this.#items === undefined ? 0 : this.#items.length;
  }

  peek(): T | undefined {
    return this.#items?.[0];
  }

  push(item: T): void {
    const a = (this.#items ??= []);
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]!.dueAt <= item.dueAt) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = item;
  }

  pop(): T | undefined {
    const a = this.#items;
    if (a === undefined) return undefined;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= a.length) break;
      const right = left + 1;
      const child = right < a.length && a[right]!.dueAt < a[left]!.dueAt ? right : left;
      if (a[child]!.dueAt >= last.dueAt) break;
      a[i] = a[child]!;
      i = child;
    }
    a[i] = last;
    return top;
  }

  /** Empties the heap and returns what it held, in no particular order. */
  drain(): T[] {
    return this.#items === undefined ? [] : this.#items.splice(0);
  }

  /** Removes and returns every item `match` picks, in no particular order. O(n log n). */
  removeWhere(match: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const kept: T[] = [];
    for (const item of this.drain()) (match(item) ? removed : kept).push(item);
    for (const item of kept) this.push(item);
    return removed;
  }
}
