/**
 * A `Map` with a ceiling on its memory whatever its callers send it: at most `capacity`
 * entries and at most `maxWeight` in all (a weight is what the caller says an entry costs,
 * such as the characters it holds). To make room it forgets the entries held longest.
 */
export class BoundedCache<K, V> {
  readonly #map = new Map<K, { value: V; weight: number }>();
  readonly #capacity: number;
  readonly #maxWeight: number;
  #weight = 0;

  constructor(capacity: number, maxWeight = Infinity) {
    this.#capacity = capacity;
    this.#maxWeight = maxWeight;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The weight of every entry held, added up. */
  get weight(): number {
    return this.#weight;
  }

  /**
   * The value for `key`. A hit does not renew the entry: the oldest entry goes first (moving it
   * on every hit would cost a delete and an insert, most of a hit's price).
   */
  get(key: K): V | undefined {
    return this.#map.get(key)?.value;
  }

  /** Holds `value` unless it alone weighs more than the whole cache may. */
  set(key: K, value: V, weight = 0): void {
    this.delete(key);
    if (weight > this.#maxWeight) return;
    while (this.#map.size > 0 && (this.#map.size >= this.#capacity || this.#weight + weight > this.#maxWeight)) {
      this.delete(this.#map.keys().next().value as K);
    }
    this.#map.set(key, { value, weight });
    this.#weight += weight;
  }

  delete(key: K): void {
    const entry = this.#map.get(key);
    if (entry === undefined) return;
    this.#map.delete(key);
    this.#weight -= entry.weight;
  }

  clear(): void {
    this.#map.clear();
    this.#weight = 0;
  }
}
