/**
 * OpenTelemetry, natively: spans and metrics through `@opentelemetry/api`, an optional peer.
 * Without the package nothing here runs; with it but no SDK registered, the API's no-op
 * tracer and meter make it nearly free.
 *
 * A span per attempt, child of the caller's context at `send` time, with the HTTP client
 * semantic-convention attributes (the URL's query values redacted: tokens live there) and the
 * event type and message id; `traceparent` goes to the receiver so its trace continues from
 * the caller's. Metrics: deliveries, failures by reason, retries, attempt duration, queue
 * depth, in flight, open breakers. Per-host attributes only when asked (cardinality).
 */
import { createRequire } from 'node:module';
import type * as Api from '@opentelemetry/api';
import type { Message } from './message.js';
import type { AttemptResult } from './transport.js';
import type { DispatcherStats, FailureReason } from './types.js';

/** The `telemetry` option. */
export interface TelemetryOptions {
  /** Use `@opentelemetry/api` when it is installed. @default true */
  openTelemetry?: boolean;
  /** Add `server.address`/`server.port` to metrics: one series per host, so only with few hosts. @default false */
  hostAttributes?: boolean;
}

function loadApi(): typeof Api | undefined {
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as typeof Api;
  } catch {
    return undefined;
  }
}

/** `https://h/p?token=abc&x=1` → `https://h/p?token=REDACTED&x=REDACTED`. */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const redacted = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? pair : `${pair.slice(0, eq)}=REDACTED`;
    })
    .join('&');
  return `${url.slice(0, q)}?${redacted}`;
}

const VERSION = '0.1.0';

/** Spans and metrics for one dispatcher. */
export class OpenTelemetry {
  readonly #api: typeof Api;
  readonly #tracer: Api.Tracer;
  readonly #hostAttributes: boolean;
  readonly #deliveries: Api.Counter;
  readonly #failures: Api.Counter;
  readonly #retries: Api.Counter;
  readonly #duration: Api.Histogram;
  /** Carries the flat header array through `propagation.inject`. */
  readonly #setter: Api.TextMapSetter<string[]> = { set: (carrier, key, value) => void carrier.push(key, value) };

  static create(options: TelemetryOptions, stats: () => DispatcherStats): OpenTelemetry | undefined {
    if (options.openTelemetry === false) return undefined;
    const api = loadApi();
    return api === undefined ? undefined : new OpenTelemetry(api, options.hostAttributes === true, stats);
  }

  private constructor(api: typeof Api, hostAttributes: boolean, stats: () => DispatcherStats) {
    this.#api = api;
    this.#hostAttributes = hostAttributes;
    this.#tracer = api.trace.getTracer('webhook-dispatcher', VERSION);
    const meter = api.metrics.getMeter('webhook-dispatcher', VERSION);
    this.#deliveries = meter.createCounter('webhook.deliveries', { description: 'Messages delivered (2xx)' });
    this.#failures = meter.createCounter('webhook.failures', { description: 'Messages that ended without delivery, by reason' });
    this.#retries = meter.createCounter('webhook.retries', { description: 'Attempts that will be tried again' });
    this.#duration = meter.createHistogram('webhook.attempt.duration', { description: 'One attempt, from sending to the last byte of the answer', unit: 's' });
    const queued = meter.createObservableGauge('webhook.queue.depth', { description: 'Messages queued or waiting to retry' });
    const inFlight = meter.createObservableGauge('webhook.in_flight', { description: 'Attempts in flight' });
    const open = meter.createObservableGauge('webhook.breakers.open', { description: 'Hosts whose circuit breaker is open' });
    meter.addBatchObservableCallback(
      (observer) => {
        const s = stats();
        let q = 0;
        let f = 0;
        let o = 0;
        for (const [origin, h] of Object.entries(s.hosts)) {
          q += h.queued + h.waiting;
          f += h.inFlight;
          if (h.breaker === 'open') o++;
          if (hostAttributes) {
            const attrs = this.#hostAttrs(origin);
            observer.observe(queued, h.queued + h.waiting, attrs);
            observer.observe(inFlight, h.inFlight, attrs);
          }
        }
        if (!hostAttributes) {
          observer.observe(queued, q);
          observer.observe(inFlight, f);
        }
        observer.observe(open, o);
      },
      [queued, inFlight, open],
    );
  }

  /** The caller's context at `send`: attempts' spans are its children. */
  capture(): unknown {
    return this.#api.context.active();
  }

  /** Starts an attempt's span and adds `traceparent` (and `tracestate`) to its headers. */
  attemptStarted(m: Message, headers: string[]): Api.Span {
    const api = this.#api;
    const parent = (m.trace as Api.Context | undefined) ?? api.context.active();
    const url = new URL(m.endpoint.url);
    const span = this.#tracer.startSpan(
      'POST',
      {
        kind: api.SpanKind.CLIENT,
        attributes: {
          'http.request.method': 'POST',
          'url.full': redactQuery(m.endpoint.url),
          'server.address': url.hostname,
          'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
          'webhook.event_type': m.event.type,
          'webhook.event_id': m.event.id,
          'webhook.message_id': m.id,
          ...(m.attempts > 1 ? { 'http.request.resend_count': m.attempts - 1 } : {}),
        },
      },
      parent,
    );
    api.propagation.inject(api.trace.setSpan(parent, span), headers, this.#setter);
    return span;
  }

  attemptEnded(span: unknown, m: Message, result: AttemptResult): void {
    const s = span as Api.Span;
    const api = this.#api;
    const attrs = this.#hostAttributes ? this.#hostAttrs(m.endpoint.origin) : {};
    if (result.error !== undefined) {
      s.setAttribute('error.type', result.error.code);
      s.setStatus({ code: api.SpanStatusCode.ERROR, message: result.error.message });
      this.#duration.record(result.latencyMs / 1000, { ...attrs, 'error.type': result.error.code });
    } else {
      s.setAttribute('http.response.status_code', result.status);
      if (result.status >= 400) {
        s.setAttribute('error.type', String(result.status));
        s.setStatus({ code: api.SpanStatusCode.ERROR });
      }
      this.#duration.record(result.latencyMs / 1000, { ...attrs, 'http.response.status_code': result.status });
    }
    s.end();
  }

  delivered(m: Message): void {
    this.#deliveries.add(1, this.#hostAttributes ? this.#hostAttrs(m.endpoint.origin) : undefined);
  }

  failed(m: Message, reason: FailureReason): void {
    this.#failures.add(1, { 'webhook.failure.reason': reason, ...(this.#hostAttributes ? this.#hostAttrs(m.endpoint.origin) : {}) });
  }

  retrying(m: Message): void {
    this.#retries.add(1, this.#hostAttributes ? this.#hostAttrs(m.endpoint.origin) : undefined);
  }

  #hostAttrs(origin: string): Api.Attributes {
    const url = new URL(origin);
    return { 'server.address': url.hostname, 'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
  }
}
