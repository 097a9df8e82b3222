/**
 * Items kept in id order: insertion order while ids arrive increasing (UUIDv7 ids made in one
 * process do), sorted again on the next read when one arrives out of order. Adding and
 * deleting are one map operation each; reads are the rare side.
 */
export class IdOrdered<T extends { readonly id: string }> {
  #items = new Map<string, T>();
  /** The greatest id added so far. */
  #lastId = '';
  #sorted = true;

  get size(): number {
    return this.#items.size;
  }

  add(item: T): void {
    if (item.id < this.#lastId) this.#sorted = false;
    else this.#lastId = item.id;
    this.#items.set(item.id, item);
  }

  delete(id: string): void {
    this.#items.delete(id);
  }

  /** At most `limit` items with ids after `afterId` (`''`: from the first), in id order. */
  page(afterId: string, limit: number): T[] {
    if (!this.#sorted) {
      this.#items = new Map([...this.#items].sort(([a], [b]) => (a < b ? -1 : 1)));
      this.#sorted = true;
    }
    const out: T[] = [];
    for (const item of this.#items.values()) {
      if (item.id > afterId && out.push(item) === limit) break;
    }
    return out;
  }
}
