/**
 * Per-second counters for the dashboard, fed by the dispatcher's events. Memory is bounded by
 * construction: a ring of the last few minutes for the totals, a ring of a few seconds per host
 * for host rates, and at most {@link MAX_TRACKED_HOSTS} hosts, the least recently active
 * dropped first.
 */

/** Seconds of history the deliveries/failures chart shows. */
export const CHART_SECONDS = 300;
/** A host's rate is its deliveries per second over this many seconds (the last complete ones). */
export const RATE_SECONDS = 10;
/** Hosts whose rate and last error are kept. */
export const MAX_TRACKED_HOSTS = 10_000;

/** Counts per whole second, for the last `size` seconds, in `series` parallel series. */
export class SecondCounters {
  readonly #size: number;
  readonly #values: Uint32Array[];
  /** The newest second a slot holds; every slot is older than `size` seconds before it or zero. */
  #head = -Infinity;

  constructor(series: number, size: number) {
    this.#size = size;
    this.#values = Array.from({ length: series }, () => new Uint32Array(size));
  }

  /** Adds one to `series` at `second` (an integer, such as `Math.floor(ms / 1000)`). Too old: dropped. */
  add(series: number, second: number): void {
    this.#advance(second);
    // The wall clock can step back: a second still inside the window is counted where it belongs.
    if (second <= this.#head - this.#size) return;
    this.#values[series]![this.#slot(second)]!++;
  }

  /** The counts of `series` for the seconds `from` to `to`, both included, oldest first. */
  range(series: number, from: number, to: number): number[] {
    this.#advance(to);
    const values = this.#values[series]!;
    const out: number[] = [];
    for (let s = from; s <= to; s++) out.push(s > this.#head - this.#size && s <= this.#head ? values[this.#slot(s)]! : 0);
    return out;
  }

  /** The sum of `series` over the seconds `from` to `to`, both included. */
  sum(series: number, from: number, to: number): number {
    let total = 0;
    for (const n of this.range(series, from, to)) total += n;
    return total;
  }

  /** Moves the window forward to `second`, zeroing the slots it passes. */
  #advance(second: number): void {
    if (second <= this.#head) return;
    const steps = Math.min(second - this.#head, this.#size);
    for (let i = 1; i <= steps; i++) for (const values of this.#values) values[this.#slot(second - steps + i)] = 0;
    this.#head = second;
  }

  #slot(second: number): number {
    return ((second % this.#size) + this.#size) % this.#size;
  }
}

/** The last trouble a host had, as the dashboard shows it. */
export interface LastError {
  /** Epoch milliseconds. */
  at: number;
  text: string;
}

interface HostEntry {
  rates: SecondCounters | undefined;
  lastError: LastError | undefined;
  /** The second of the last activity: entries are moved to the back of the map once a second at most. */
  touched: number;
}

/** Each host's recent deliveries and last error, for at most `maxHosts` hosts. */
export class HostActivity {
  readonly #hosts = new Map<string, HostEntry>();

  constructor(
    private readonly withRates: boolean,
    private readonly maxHosts = MAX_TRACKED_HOSTS,
  ) {}

  delivered(origin: string, second: number): void {
    if (!this.withRates) return;
    const entry = this.#touch(origin, second);
    (entry.rates ??= new SecondCounters(1, RATE_SECONDS + 1)).add(0, second);
  }

  failed(origin: string, at: number, text: string): void {
    this.#touch(origin, Math.floor(at / 1000)).lastError = { at, text };
  }

  /** Deliveries per second over the last {@link RATE_SECONDS} complete seconds; `undefined` without rates. */
  rate(origin: string, second: number): number | undefined {
    if (!this.withRates) return undefined;
    const rates = this.#hosts.get(origin)?.rates;
    return rates === undefined ? 0 : rates.sum(0, second - RATE_SECONDS, second - 1) / RATE_SECONDS;
  }

  lastError(origin: string): LastError | undefined {
    return this.#hosts.get(origin)?.lastError;
  }

  get size(): number {
    return this.#hosts.size;
  }

  #touch(origin: string, second: number): HostEntry {
    let entry = this.#hosts.get(origin);
    if (entry === undefined) {
      entry = { rates: undefined, lastError: undefined, touched: second };
      this.#hosts.set(origin, entry);
      // Map order is insertion order: the first key is the least recently active host.
      if (this.#hosts.size > this.maxHosts) this.#hosts.delete(this.#hosts.keys().next().value!);
    } else if (entry.touched !== second) {
      entry.touched = second;
      this.#hosts.delete(origin);
      this.#hosts.set(origin, entry);
    }
    return entry;
  }
}
