/**
 * `traceparent` (and `tracestate`) for an attempt's request.
 *
 * When the registered propagator is the W3C Trace Context one, the headers are written from
 * the span's context directly, as that propagator would write them: no context made per
 * attempt to hold the span, no carrier round trip through the global API. Any other
 * propagator (a composite one, B3, a custom one) is called as usual, with a context that
 * holds the attempt's span, so what it injects is still its own choice.
 */
import type * as Api from '@opentelemetry/api';

/** The SDK's key for "tracing suppressed" (`@opentelemetry/core`); context keys are `Symbol.for` their description. */
const SUPPRESS_TRACING = Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/** Whether `propagator` is `@opentelemetry/core`'s W3C Trace Context propagator itself, not a subclass nor a patched instance. */
export function isW3CTraceContext(propagator: unknown): boolean {
  if (typeof propagator !== 'object' || propagator === null) return false;
  const proto = Object.getPrototypeOf(propagator) as { constructor?: { name?: string } } | null;
  if (proto?.constructor?.name !== 'W3CTraceContextPropagator' || Object.getPrototypeOf(proto) !== Object.prototype) return false;
  if (Object.hasOwn(propagator, 'inject')) return false;
  const fields = (propagator as Api.TextMapPropagator).fields();
  return fields.length === 2 && fields[0] === 'traceparent' && fields[1] === 'tracestate';
}

export class TraceHeaders {
  readonly #api: typeof Api;
  /** The propagator last seen, and whether it is the W3C one: checked again only when another is registered. */
  #propagator: unknown = undefined;
  #direct = false;
  /** Carries the flat header array through `propagation.inject`. */
  readonly #setter: Api.TextMapSetter<string[]> = { set: (carrier, key, value) => void carrier.push(key, value) };

  constructor(api: typeof Api) {
    this.#api = api;
  }

  /** Adds the headers that carry `span` (a child of `parent`) to the receiver to `headers`, a flat name/value list. */
  write(parent: Api.Context, span: Api.Span, headers: string[]): void {
    const api = this.#api;
    // The API keeps its getter private; without it (another API version), the propagator path.
    const propagator = (api.propagation as unknown as { _getGlobalPropagator?: () => unknown })._getGlobalPropagator?.();
    if (propagator !== this.#propagator) {
      this.#propagator = propagator;
      this.#direct = isW3CTraceContext(propagator);
    }
    if (!this.#direct) {
      api.propagation.inject(api.trace.setSpan(parent, span), headers, this.#setter);
      return;
    }
    // What W3CTraceContextPropagator.inject does, for the context `setSpan(parent, span)` would make.
    if (parent.getValue(SUPPRESS_TRACING) === true) return;
    const sc = span.spanContext();
    if (!api.trace.isSpanContextValid(sc)) return;
    headers.push('traceparent', `00-${sc.traceId}-${sc.spanId}-0${Number(sc.traceFlags || 0).toString(16)}`);
    if (sc.traceState) headers.push('tracestate', sc.traceState.serialize());
  }
}
