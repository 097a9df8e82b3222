/**
 * A `Map` with a ceiling on its memory whatever its callers send it: at most `capacity`
 * entries and at most `maxWeight` in all (a weight is what `weigh` says an entry costs, such
 * as the characters it holds). To make room it forgets the entries held longest.
 *
 * Weights are computed again when an entry goes rather than stored beside it: a wrapper
 * object per entry would cost about 40 bytes, and `weigh` must give the same answer for the
 * same key and value every time (it reads only what never changes).
 */
export class BoundedCache<K, V> {
  readonly #map = new Map<K, V>();
  readonly #capacity: number;
  readonly #maxWeight: number;
  readonly #weigh: (key: K, value: V) => number;
  #weight = 0;

  constructor(capacity: number, maxWeight = Infinity, weigh: (key: K, value: V) => number = () => 0) {
    this.#capacity = capacity;
    this.#maxWeight = maxWeight;
    this.#weigh = weigh;
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
    return this.#map.get(key);
  }

  /** Holds `value` unless it alone weighs more than the whole cache may. */
  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.#weigh(key, value);
    if (weight > this.#maxWeight) return;
    while (this.#map.size > 0 && (this.#map.size >= this.#capacity || this.#weight + weight > this.#maxWeight)) {
      this.delete(this.#map.keys().next().value as K);
    }
    this.#map.set(key, value);
    this.#weight += weight;
  }

  delete(key: K): void {
    if (!this.#map.has(key)) return;
    const value = this.#map.get(key) as V;
    this.#map.delete(key);
    this.#weight -= this.#weigh(key, value);
  }

  clear(): void {
    this.#map.clear();
    this.#weight = 0;
  }
}
