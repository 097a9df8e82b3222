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
import type { Message } from '../model/message.js';
import { Instruments, type GaugeSource } from './metrics.js';
import { TraceHeaders } from './trace-headers.js';
import type { AttemptResult } from '../transport/transport.js';
import type { DispatcherStats, FailureReason } from '../model/types.js';

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
  readonly #instruments: Instruments;
  readonly #source: GaugeSource;
  /** `server.address`/`server.port` per origin: parsed once, not per attempt. */
  readonly #hosts = new Map<string, Api.Attributes>();
  /**
   * Each endpoint's span attributes (method, redacted URL, host), built once per endpoint:
   * resolved endpoints are shared by every message to them, also when the caller hands over
   * a new object with known content.
   */
  readonly #endpointAttrs = new WeakMap<object, Api.Attributes>();
  /** The duration histogram's attributes per origin (or `''`) and outcome: the SDK keeps no reference, so one object serves every record. */
  readonly #outcomeAttrs = new Map<string, Api.Attributes>();
  readonly #spanOptions: Api.SpanOptions;
  readonly #traceHeaders: TraceHeaders;

  static create(options: TelemetryOptions, stats: () => DispatcherStats): OpenTelemetry | undefined {
    if (options.openTelemetry === false) return undefined;
    const api = loadApi();
    return api === undefined ? undefined : new OpenTelemetry(api, options.hostAttributes === true, stats);
  }

  private constructor(api: typeof Api, hostAttributes: boolean, stats: () => DispatcherStats) {
    this.#api = api;
    this.#hostAttributes = hostAttributes;
    this.#tracer = api.trace.getTracer('webhook-dispatcher', VERSION);
    this.#spanOptions = { kind: api.SpanKind.CLIENT };
    this.#traceHeaders = new TraceHeaders(api);
    const instruments = (this.#instruments = Instruments.of(api.metrics.getMeter('webhook-dispatcher', VERSION)));
    this.#source = { stats, hostAttributes: (origin) => (hostAttributes ? this.#hostAttrs(origin) : undefined) };
    instruments.add(this.#source);
  }

  /** Stops observing this dispatcher: a meter provider would otherwise keep it alive once closed. */
  close(): void {
    this.#instruments.remove(this.#source);
  }

  /** The caller's context at `send`: attempts' spans are its children. */
  capture(): unknown {
    return this.#api.context.active();
  }

  /** Starts an attempt's span and adds `traceparent` (and `tracestate`) to its headers. */
  attemptStarted(m: Message, headers: string[]): Api.Span {
    const api = this.#api;
    const parent = (m.trace as Api.Context | undefined) ?? api.context.active();
    const span = this.#tracer.startSpan('POST', this.#spanOptions, parent);
    // Attributes only for a span that records: without an SDK (or when sampled out) building
    // them would be most of the cost of telemetry. The endpoint's are one object built once
    // (not given to startSpan: the SDK copies start attributes twice before setting them).
    if (span.isRecording()) {
      span.setAttributes(this.#spanAttrs(m.endpoint));
      span.setAttribute('webhook.event_type', m.event.type);
      span.setAttribute('webhook.event_id', m.event.id);
      span.setAttribute('webhook.message_id', m.id);
      if (m.attempts > 1) span.setAttribute('http.request.resend_count', m.attempts - 1);
    }
    this.#traceHeaders.write(parent, span, headers);
    return span;
  }

  attemptEnded(span: unknown, m: Message, result: AttemptResult): void {
    const s = span as Api.Span;
    const recording = s.isRecording();
    if (result.error !== undefined) {
      if (recording) {
        s.setAttribute('error.type', result.error.code);
        s.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: result.error.message });
      }
      this.#instruments.attemptDuration(result.latencyMs / 1000, this.#outcome(m.endpoint.origin, 'error.type', result.error.code));
    } else {
      if (recording) {
        s.setAttribute('http.response.status_code', result.status);
        if (result.status >= 400) {
          s.setAttribute('error.type', String(result.status));
          s.setStatus({ code: this.#api.SpanStatusCode.ERROR });
        }
      }
      this.#instruments.attemptDuration(result.latencyMs / 1000, this.#outcome(m.endpoint.origin, 'http.response.status_code', result.status));
    }
    s.end();
  }

  delivered(m: Message): void {
    // Counted here, added to the SDK's counter in one call per series when the meter collects.
    this.#instruments.delivered(this.#hostAttributes ? this.#hostAttrs(m.endpoint.origin) : undefined);
  }

  failed(m: Message, reason: FailureReason): void {
    this.#instruments.failures.add(1, { 'webhook.failure.reason': reason, ...(this.#hostAttributes ? this.#hostAttrs(m.endpoint.origin) : {}) });
  }

  retrying(m: Message): void {
    this.#instruments.retries.add(1, this.#hostAttributes ? this.#hostAttrs(m.endpoint.origin) : undefined);
  }

  #spanAttrs(endpoint: Message['endpoint']): Api.Attributes {
    let attrs = this.#endpointAttrs.get(endpoint);
    if (attrs === undefined) {
      attrs = { 'http.request.method': 'POST', 'url.full': redactQuery(endpoint.url), ...this.#hostAttrs(endpoint.origin) };
      this.#endpointAttrs.set(endpoint, attrs);
    }
    return attrs;
  }

  /** The histogram's attributes for one outcome: the host's (when asked) and the status or error. */
  #outcome(origin: string, name: 'http.response.status_code' | 'error.type', value: number | string): Api.Attributes {
    const key = this.#hostAttributes ? `${origin} ${value}` : String(value);
    let attrs = this.#outcomeAttrs.get(key);
    if (attrs === undefined) {
      attrs = { ...(this.#hostAttributes ? this.#hostAttrs(origin) : {}), [name]: value };
      // Bounded like the hosts: statuses and error codes are few, hosts may not be.
      if (this.#outcomeAttrs.size >= 10_000) this.#outcomeAttrs.clear();
      this.#outcomeAttrs.set(key, attrs);
    }
    return attrs;
  }

  #hostAttrs(origin: string): Api.Attributes {
    let attrs = this.#hosts.get(origin);
    if (attrs === undefined) {
      const url = new URL(origin);
      // IPv6 hosts come bracketed from URL; the convention wants the bare address.
      const address = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      attrs = { 'server.address': address, 'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
      // Bounded like the dispatcher's hosts: forget all when it grows past what metrics could use.
      if (this.#hosts.size >= 10_000) this.#hosts.clear();
      this.#hosts.set(origin, attrs);
    }
    return attrs;
  }
}
