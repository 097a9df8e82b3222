/**
 * The dispatcher's OpenTelemetry instruments, made once per meter and shared by every
 * dispatcher of the process: two dispatchers add up in one series instead of overwriting
 * each other's gauges (and the SDK warns about instruments registered twice).
 */
import type * as Api from '@opentelemetry/api';
import type { DispatcherStats } from '../model/types.js';

/** One live dispatcher, as the gauges read it. */
export interface GaugeSource {
  stats(): DispatcherStats;
  /** The host's attributes, or `undefined` to add this dispatcher's hosts into one series. */
  hostAttributes(origin: string): Api.Attributes | undefined;
}

/**
 * Attempt durations held before they are recorded. Held until the collection (up to 10,000),
 * they were recorded in one burst that took 5–120 ms of the event loop; 256 take about 0.15 ms
 * and keep the saving of recording them in a run.
 */
const HELD_DURATIONS = 256;

export class Instruments {
  readonly deliveries: Api.Counter;
  readonly failures: Api.Counter;
  readonly retries: Api.Counter;
  readonly duration: Api.Histogram;
  readonly #sources = new Set<GaugeSource>();
  /**
   * Deliveries counted but not yet added to the counter, per attribute set (`undefined`: no
   * host attributes). One `add` per series at collection instead of one per message: the SDK
   * runs its observable callbacks before it reads the counters, so a collection sees them all.
   */
  readonly #pendingDeliveries = new Map<Api.Attributes | undefined, number>();
  /**
   * Attempt durations not yet recorded, per attribute set: recorded in runs of at most
   * {@link HELD_DURATIONS} (and at collection), a run of `record`s with one attribute object
   * costs less than one `record` amid each attempt's work (the SDK hashes the attributes,
   * sorted keys to JSON, at every `record`). The histogram gets the same values with the same
   * attributes before it is read.
   */
  readonly #pendingDurations = new Map<Api.Attributes, number[]>();
  #pendingDurationCount = 0;
  readonly #meter: Api.Meter;
  readonly #gauges: Api.Observable[];

  static #byMeter = new WeakMap<Api.Meter, Instruments>();

  /** The instruments of `meter`, made at its first use. */
  static of(meter: Api.Meter): Instruments {
    let instruments = Instruments.#byMeter.get(meter);
    if (instruments === undefined) Instruments.#byMeter.set(meter, (instruments = new Instruments(meter)));
    return instruments;
  }

  private constructor(meter: Api.Meter) {
    this.#meter = meter;
    this.deliveries = meter.createCounter('webhook.deliveries', { description: 'Messages delivered (2xx)' });
    this.failures = meter.createCounter('webhook.failures', { description: 'Messages that ended without delivery, by reason' });
    this.retries = meter.createCounter('webhook.retries', { description: 'Attempts that will be tried again' });
    this.duration = meter.createHistogram('webhook.attempt.duration', { description: 'One attempt, from sending to the last byte of the answer', unit: 's' });
    this.#gauges = [
      meter.createObservableGauge('webhook.queue.depth', { description: 'Messages queued or waiting to retry' }),
      meter.createObservableGauge('webhook.in_flight', { description: 'Attempts in flight' }),
      meter.createObservableGauge('webhook.breakers.open', { description: 'Hosts whose circuit breaker is open' }),
      meter.createObservableGauge('webhook.endpoints.held', { description: 'Endpoints held on their own while their host goes on: their own breaker open, or waiting for a permit of their own rate limit' }),
    ];
  }

  /** Counts one delivery; it reaches the counter at the next collection (or when a dispatcher closes). */
  delivered(attrs: Api.Attributes | undefined): void {
    this.#pendingDeliveries.set(attrs, (this.#pendingDeliveries.get(attrs) ?? 0) + 1);
    // Without a meter that collects (the API alone), nothing flushes: keep the map small.
    if (this.#pendingDeliveries.size > 10_000) this.flush();
  }

  /** Records one attempt's duration in seconds; it reaches the histogram within {@link HELD_DURATIONS} attempts, at the next collection or when a dispatcher closes. */
  attemptDuration(seconds: number, attrs: Api.Attributes): void {
    let values = this.#pendingDurations.get(attrs);
    if (values === undefined) this.#pendingDurations.set(attrs, (values = []));
    values.push(seconds);
    if (++this.#pendingDurationCount >= HELD_DURATIONS) this.#recordDurations();
  }

  /** Adds the deliveries counted and the durations held since the last flush to their instruments. */
  flush(): void {
    if (this.#pendingDeliveries.size !== 0) {
      for (const [attrs, n] of this.#pendingDeliveries) this.deliveries.add(n, attrs);
      this.#pendingDeliveries.clear();
    }
    this.#recordDurations();
  }

  #recordDurations(): void {
    if (this.#pendingDurationCount === 0) return;
    for (const [attrs, values] of this.#pendingDurations) for (const v of values) this.duration.record(v, attrs);
    this.#pendingDurations.clear();
    this.#pendingDurationCount = 0;
  }

  /** Observes `source` until {@link remove}: the meter provider holds it meanwhile. */
  add(source: GaugeSource): void {
    if (this.#sources.size === 0) this.#meter.addBatchObservableCallback(this.#observe, this.#gauges);
    this.#sources.add(source);
  }

  remove(source: GaugeSource): void {
    // A closed dispatcher's deliveries are counted before its gauges stop being observed.
    this.flush();
    if (this.#sources.delete(source) && this.#sources.size === 0) this.#meter.removeBatchObservableCallback(this.#observe, this.#gauges);
  }

  readonly #observe: Api.BatchObservableCallback = (observer) => {
    this.flush();
    const [queued, inFlight, open, heldGauge] = this.#gauges as [Api.Observable, Api.Observable, Api.Observable, Api.Observable];
    // One series per attribute set, summed over dispatchers: keyed by the attributes' origin.
    const series = new Map<string, { attrs: Api.Attributes | undefined; queued: number; inFlight: number }>();
    let breakersOpen = 0;
    let held = 0;
    for (const source of this.#sources) {
      for (const [origin, h] of Object.entries(source.stats().hosts)) {
        if (h.breaker === 'open') breakersOpen++;
        held += h.endpointsHeld;
        const attrs = source.hostAttributes(origin);
        const key = attrs === undefined ? '' : origin;
        let s = series.get(key);
        if (s === undefined) series.set(key, (s = { attrs, queued: 0, inFlight: 0 }));
        s.queued += h.queued + h.waiting;
        s.inFlight += h.inFlight;
      }
    }
    if (!series.has('')) series.set('', { attrs: undefined, queued: 0, inFlight: 0 });
    for (const s of series.values()) {
      observer.observe(queued, s.queued, s.attrs);
      observer.observe(inFlight, s.inFlight, s.attrs);
    }
    observer.observe(open, breakersOpen);
    // A total, never per URL: endpoint URLs are unbounded (cardinality) and may carry tokens.
    observer.observe(heldGauge, held);
  };
}
