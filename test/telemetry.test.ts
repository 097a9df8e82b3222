/**
 * Telemetry against the real OpenTelemetry SDK (in-memory exporters) and real receivers:
 * spans per attempt, the caller's trace continued at the receiver, metrics, and the
 * `diagnostics_channel` publications.
 */
import diagnostics from 'node:diagnostics_channel';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, suppressTracing, TraceState, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Dispatcher } from '../src/index.js';
import { redactQuery } from '../src/telemetry/open-telemetry.js';
import { isW3CTraceContext, TraceHeaders } from '../src/telemetry/trace-headers.js';
import * as api from '@opentelemetry/api';
import { newSecret, refusal, scoped, Terminals } from './helpers.js';
import { ok, status } from './receiver.js';

/** Collects on demand: the test decides when metrics are read. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const spans = new InMemorySpanExporter();
const reader = new TestReader();
const { receiver, dispatcher } = scoped();
const secret = newSecret();

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
});

afterAll(() => {
  trace.disable();
  metrics.disable();
  propagation.disable();
  context.disable();
});

beforeEach(() => spans.reset());

/** Every data point of one metric, across what has been collected so far. */
async function points(name: string): Promise<DataPoint<unknown>[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.filter((s) => s.scope.name === 'webhook-dispatcher').flatMap((s) => s.metrics.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as DataPoint<unknown>[]));
}

/** The sum of a counter's points whose attributes include `match`. */
async function total(name: string, match: Record<string, unknown> = {}): Promise<number> {
  return (await points(name)).filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v)).reduce((sum, p) => sum + (p.value as number), 0);
}

describe('OpenTelemetry', () => {
  it("sends the caller's trace to the receiver: its traceparent carries the caller's trace id and the attempt span's id", async () => {
    const r = await receiver();
    const d = dispatcher();
    const t = new Terminals(d);
    const tracer = trace.getTracer('caller');
    const parent = tracer.startSpan('checkout');
    await context.with(trace.setSpan(context.active(), parent), () => d.send({ url: `${r.url()}?token=s3cr3t&x=1`, secret }, { type: 'order.paid', data: { n: 1 } }));
    // The span is ended after the send resolved, before delivery: attempts still join it.
    parent.end();
    await d.onIdle();
    expect(t.delivered).toHaveLength(1);
    const header = r.requests[0]!.headers.traceparent as string;
    const [, traceId, spanId] = header.split('-');
    expect(traceId).toBe(parent.spanContext().traceId);
    const attempt = spans.getFinishedSpans().find((s) => s.name === 'POST')!;
    expect(attempt.spanContext().spanId).toBe(spanId);
    expect(attempt.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(attempt.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': r.port,
      'webhook.event_type': 'order.paid',
      'webhook.message_id': t.delivered[0]!.messageId,
      'webhook.event_id': t.delivered[0]!.eventId,
    });
    // The query's values are tokens as often as not: none reaches the span.
    expect(attempt.attributes['url.full']).toBe(`${r.url()}?token=REDACTED&x=REDACTED`);
    expect(JSON.stringify(spans.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })))).not.toContain('s3cr3t');
  });

  it('makes one span per attempt, marks failed ones as errors and counts the resend', async () => {
    const r = await receiver((_req, i) => (i === 0 ? status(503) : ok));
    const d = dispatcher({ breaker: false });
    await d.send({ url: r.url(), secret }, { type: 'retry.me', data: 1 });
    await d.onIdle();
    const attempts = spans.getFinishedSpans().filter((s) => s.name === 'POST');
    expect(attempts).toHaveLength(2);
    expect(attempts[0]!.attributes['http.response.status_code']).toBe(503);
    expect(attempts[0]!.attributes['error.type']).toBe('503');
    expect(attempts[0]!.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(attempts[1]!.attributes['http.request.resend_count']).toBe(1);
    expect(attempts[1]!.status.code).not.toBe(2);
  });

  it('a connection error ends the span with its error code', async () => {
    const r = await receiver();
    const url = r.url();
    await r.down();
    const d = dispatcher({ retry: { attempts: 1 } });
    await d.send({ url, secret }, { type: 'down', data: 1 });
    await d.onIdle();
    const [span] = spans.getFinishedSpans();
    expect(span!.attributes['error.type']).toBe('ECONNREFUSED');
    expect(span!.attributes['http.response.status_code']).toBeUndefined();
  });

  it('counts deliveries, failures by reason, retries and attempt durations, without per-host attributes unless asked', async () => {
    const r = await receiver((req) => (req.url.startsWith('/gone') ? status(410) : req.url.startsWith('/flaky') && !req.headers['x-seen'] ? status(500) : ok));
    const before = { delivered: await total('webhook.deliveries'), gone: await total('webhook.failures', { 'webhook.failure.reason': 'gone' }), retries: await total('webhook.retries') };
    const d = dispatcher({ breaker: false, retry: { attempts: 2 } });
    await d.send({ url: r.url('/ok'), secret }, { type: 't', data: 1 });
    await d.send({ url: r.url('/gone'), secret }, { type: 't', data: 2 });
    await d.send({ url: r.url('/flaky'), secret }, { type: 't', data: 3 });
    await d.onIdle();
    expect((await total('webhook.deliveries')) - before.delivered).toBe(1);
    expect((await total('webhook.failures', { 'webhook.failure.reason': 'gone' })) - before.gone).toBe(1);
    expect((await total('webhook.failures', { 'webhook.failure.reason': 'exhausted' }))).toBeGreaterThanOrEqual(1);
    expect((await total('webhook.retries')) - before.retries).toBe(1);
    const durations = await points('webhook.attempt.duration');
    expect(durations.reduce((n, p) => n + (p.value as Histogram).count, 0)).toBeGreaterThanOrEqual(4);
    for (const p of [...durations, ...(await points('webhook.deliveries'))]) expect(p.attributes['server.address']).toBeUndefined();
  });

  it('counts every delivery once, also those of a dispatcher closed before the next collection, per host when asked', async () => {
    const r = await receiver();
    const before = await total('webhook.deliveries');
    const beforeHost = await total('webhook.deliveries', { 'server.port': r.port });
    const plain = dispatcher();
    const perHost = dispatcher({ telemetry: { hostAttributes: true } });
    for (let i = 0; i < 3; i++) await plain.send({ url: r.url(), secret }, { type: 't', data: i });
    await perHost.send({ url: r.url(), secret }, { type: 't', data: 'host' });
    await Promise.all([plain.onIdle(), perHost.onIdle()]);
    // Collected while both live, then more deliveries and a close before the next collection.
    expect((await total('webhook.deliveries')) - before).toBe(4);
    await plain.send({ url: r.url(), secret }, { type: 't', data: 3 });
    await plain.onIdle();
    await plain.close();
    await perHost.close();
    expect((await total('webhook.deliveries')) - before).toBe(5);
    expect((await total('webhook.deliveries', { 'server.port': r.port })) - beforeHost).toBe(1);
  });

  it('records every attempt duration once, per outcome, also those of a dispatcher closed before the next collection', async () => {
    const r = await receiver((req) => (req.url.startsWith('/gone') ? status(410) : ok));
    const histogram = async (code: number) => {
      const p = (await points('webhook.attempt.duration')).filter((x) => x.attributes['http.response.status_code'] === code);
      return p.reduce((acc, x) => ({ count: acc.count + (x.value as Histogram).count, sum: acc.sum + (x.value as Histogram).sum! }), { count: 0, sum: 0 });
    };
    const before = { ok: await histogram(200), gone: await histogram(410) };
    const d = dispatcher();
    for (let i = 0; i < 3; i++) await d.send({ url: r.url(), secret }, { type: 't', data: i });
    await d.send({ url: r.url('/gone'), secret }, { type: 't', data: 'gone' });
    await d.onIdle();
    const live = { ok: await histogram(200), gone: await histogram(410) };
    expect(live.ok.count - before.ok.count).toBe(3);
    expect(live.gone.count - before.gone.count).toBe(1);
    expect(live.ok.sum).toBeGreaterThan(before.ok.sum);
    // A collection empties what was held: the next one adds only what came after.
    expect((await histogram(200)).count).toBe(live.ok.count);
    await d.send({ url: r.url(), secret }, { type: 't', data: 'last' });
    await d.onIdle();
    await d.close();
    expect((await histogram(200)).count - before.ok.count).toBe(4);
  });

  it("gives each endpoint's span its own URL and status, with new endpoint objects and the same one alike", async () => {
    const r = await receiver((req) => (req.url.startsWith('/gone') ? status(410) : ok));
    const d = dispatcher();
    const copy = (text: string) => (' ' + text).slice(1);
    const urls = [r.url('/a?token=1'), r.url('/b'), r.url('/a?token=1'), r.url('/gone')];
    for (const url of urls) await d.send({ url: copy(url), secret: copy(secret) }, { type: 't', data: url });
    await d.onIdle();
    const attempts = spans.getFinishedSpans().filter((s) => s.name === 'POST');
    expect(attempts.map((s) => [s.attributes['url.full'], s.attributes['http.response.status_code']])).toEqual([
      [r.url('/a?token=REDACTED'), 200],
      [r.url('/b'), 200],
      [r.url('/a?token=REDACTED'), 200],
      [r.url('/gone'), 410],
    ]);
    expect(attempts.map((s) => s.attributes['webhook.event_id'])).toEqual([...new Set(attempts.map((s) => s.attributes['webhook.event_id']))]);
  });

  it('observes queue depth, in flight and open breakers of live dispatchers only', async () => {
    let bothArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (bothArrived = resolve));
    const r = await receiver((_req, i) => {
      if (i === 1) bothArrived();
      return { kind: 'hang' };
    });
    const d = dispatcher({ concurrency: 2, telemetry: { hostAttributes: true } });
    for (let i = 0; i < 5; i++) await d.send({ url: r.url(), secret }, { type: 't', data: i });
    await arrived;
    const origin = { 'server.address': '127.0.0.1', 'server.port': r.port };
    const depth = (await points('webhook.queue.depth')).find((p) => p.attributes['server.port'] === r.port);
    const inFlight = (await points('webhook.in_flight')).find((p) => p.attributes['server.port'] === r.port);
    expect(depth?.attributes).toEqual(origin);
    expect(depth?.value).toBe(3);
    expect(inFlight?.value).toBe(2);
    await d.close();
    // A closed dispatcher is no longer observed (nor kept alive by the meter provider).
    const observed = vi.spyOn(d, 'stats');
    await reader.collect();
    expect(observed).not.toHaveBeenCalled();
  });

  it('adds up two dispatchers in one series, and counts open breakers', async () => {
    let arrived = 0;
    let allArrived!: () => void;
    const both = new Promise<void>((resolve) => (allArrived = resolve));
    const r = await receiver(() => {
      if (++arrived === 2) allArrived();
      return { kind: 'hang' };
    });
    const down = await receiver();
    const downUrl = down.url();
    await down.down();
    const a = dispatcher({ concurrency: 1 });
    const b = dispatcher({ concurrency: 1, breaker: { failureThreshold: 1, cooldownMs: 60_000 } });
    for (let i = 0; i < 3; i++) await a.send({ url: r.url(), secret }, { type: 't', data: i });
    for (let i = 0; i < 2; i++) await b.send({ url: r.url(), secret }, { type: 't', data: i });
    const opened = new Promise((resolve) => b.once('breaker', resolve));
    await b.send({ url: downUrl, secret }, { type: 't', data: 'down' });
    await Promise.all([both, opened]);
    const unlabelled = async (name: string) => (await points(name)).find((p) => Object.keys(p.attributes).length === 0)?.value;
    expect(await unlabelled('webhook.in_flight')).toBe(2);
    // a: 2 queued behind its one in flight; b: 1 queued, and the message for the down host waiting to retry.
    expect(await unlabelled('webhook.queue.depth')).toBe(4);
    expect(await unlabelled('webhook.breakers.open')).toBe(1);
    // Connection failures hold the host, not one endpoint: no endpoint is held on its own.
    expect(await unlabelled('webhook.endpoints.held')).toBe(0);
  });

  it('is off with `telemetry: { openTelemetry: false }`: no span, no traceparent', async () => {
    const r = await receiver();
    const d = dispatcher({ telemetry: { openTelemetry: false } });
    await d.send({ url: r.url(), secret }, { type: 't', data: 1 });
    await d.onIdle();
    expect(r.requests[0]!.headers.traceparent).toBeUndefined();
    expect(spans.getFinishedSpans()).toHaveLength(0);
  });

  it('refuses a bad `telemetry` option with WD_INVALID_OPTIONS naming it', () => {
    expect(refusal(() => new Dispatcher({ telemetry: { openTelemetry: 'yes' as never } })).message).toContain('telemetry.openTelemetry');
    expect(refusal(() => new Dispatcher({ telemetry: { hostAttribute: true } as never })).message).toContain('hostAttributes');
    expect(refusal(() => new Dispatcher({ telemetry: 1 as never })).code).toBe('WD_INVALID_OPTIONS');
  });

  it('redacts every query value and drops the fragment', () => {
    expect(redactQuery('https://h/p')).toBe('https://h/p');
    expect(redactQuery('https://h/p?a=1&b&c=2#frag')).toBe('https://h/p?a=REDACTED&b&c=REDACTED');
  });
});

describe('trace headers', () => {
  const w3c = new W3CTraceContextPropagator();
  const tracer = () => trace.getTracer('headers');
  /** What the W3C propagator itself injects for `span` under `parent`. */
  const expected = (parent: api.Context, span: api.Span) => {
    const out: string[] = [];
    w3c.inject(trace.setSpan(parent, span), out, { set: (c, k, v) => void c.push(k, v) });
    return out;
  };

  it('writes what the W3C propagator writes: sampled or not, with the parent trace state, none when suppressed or invalid', () => {
    const headers = new TraceHeaders(api);
    const root = context.active();
    const stated = trace.setSpanContext(root, { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1, traceState: new TraceState('vendor=x,other=y'), isRemote: true });
    const unsampled = trace.setSpanContext(root, { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 0, isRemote: true });
    const cases: [string, api.Context, api.Span][] = [
      ['root', root, tracer().startSpan('POST', {}, root)],
      ['trace state', stated, tracer().startSpan('POST', {}, stated)],
      ['unsampled parent', unsampled, tracer().startSpan('POST', {}, unsampled)],
      ['suppressed', suppressTracing(root), tracer().startSpan('POST', {}, suppressTracing(root))],
      ['suppressed, valid span', suppressTracing(root), tracer().startSpan('POST', {}, root)],
      ['invalid', root, trace.wrapSpanContext(api.INVALID_SPAN_CONTEXT)],
    ];
    for (const [name, parent, span] of cases) {
      const out: string[] = [];
      headers.write(parent, span, out);
      expect([name, out]).toEqual([name, expected(parent, span)]);
    }
    // The cases cover the header's shapes, not only its absence.
    expect(expected(stated, cases[1]![2])).toEqual(['traceparent', expect.stringMatching(/^00-a{32}-[0-9a-f]{16}-01$/), 'tracestate', 'vendor=x,other=y']);
    expect(expected(unsampled, cases[2]![2])[1]).toMatch(/^00-c{32}-[0-9a-f]{16}-00$/);
  });

  it('writes directly only for the W3C propagator itself: not a subclass, a patched instance or a composite', () => {
    class Custom extends W3CTraceContextPropagator {}
    const patched = new W3CTraceContextPropagator();
    patched.inject = () => {};
    expect(isW3CTraceContext(new W3CTraceContextPropagator())).toBe(true);
    expect(isW3CTraceContext(new Custom())).toBe(false);
    expect(isW3CTraceContext(patched)).toBe(false);
    expect(isW3CTraceContext(new CompositePropagator({ propagators: [new W3CTraceContextPropagator()] }))).toBe(false);
    expect(isW3CTraceContext(undefined)).toBe(false);
  });

  it('honours another registered propagator: a custom one, and a composite carrying baggage', async () => {
    const r = await receiver();
    const d = dispatcher();
    const custom: api.TextMapPropagator = {
      inject: (ctx, carrier, setter) => setter.set(carrier, 'x-custom-trace', trace.getSpanContext(ctx)!.spanId),
      extract: (ctx) => ctx,
      fields: () => ['x-custom-trace'],
    };
    try {
      // The API refuses to replace a registered propagator: unregister first.
      propagation.disable();
      expect(propagation.setGlobalPropagator(custom)).toBe(true);
      await d.send({ url: r.url(), secret }, { type: 't', data: 1 });
      await d.onIdle();
      propagation.disable();
      expect(propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }))).toBe(true);
      const withBaggage = propagation.setBaggage(context.active(), propagation.createBaggage({ tenant: { value: 'acme' } }));
      await context.with(withBaggage, () => d.send({ url: r.url(), secret }, { type: 't', data: 2 }));
      await d.onIdle();
    } finally {
      propagation.disable();
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
    const [first, second] = spans.getFinishedSpans().filter((s) => s.name === 'POST');
    expect(r.requests[0]!.headers['x-custom-trace']).toBe(first!.spanContext().spanId);
    expect(r.requests[0]!.headers.traceparent).toBeUndefined();
    expect(r.requests[1]!.headers.traceparent).toBe(`00-${second!.spanContext().traceId}-${second!.spanContext().spanId}-01`);
    expect(r.requests[1]!.headers.baggage).toBe('tenant=acme');
  });
});

describe('diagnostics_channel', () => {
  it('publishes accepted, each attempt (start, error, asyncEnd) and ended, with the same context per attempt and no secret', async () => {
    const r = await receiver((_req, i) => (i === 0 ? status(500) : ok));
    const seen: { channel: string; message: Record<string, unknown> }[] = [];
    const record = (channel: string) => (message: unknown) => seen.push({ channel, message: { ...(message as Record<string, unknown>) } });
    const subs: [string, (m: unknown) => void][] = [
      ['webhook-dispatcher:message:accepted', record('accepted')],
      ['webhook-dispatcher:message:ended', record('ended')],
      ['tracing:webhook-dispatcher:attempt:start', record('start')],
      ['tracing:webhook-dispatcher:attempt:error', record('error')],
      ['tracing:webhook-dispatcher:attempt:asyncEnd', record('end')],
    ];
    for (const [name, fn] of subs) diagnostics.subscribe(name, fn);
    try {
      const d = dispatcher({ breaker: false, telemetry: { openTelemetry: false } });
      const receipt = await d.send({ url: r.url(), secret }, { type: 'diag', data: 1 });
      await d.onIdle();
      expect(seen.map((s) => s.channel)).toEqual(['accepted', 'start', 'end', 'start', 'end', 'ended']);
      for (const { message } of seen) expect(message).toMatchObject({ messageId: receipt.messageId, eventId: receipt.eventId, eventType: 'diag', origin: r.origin });
      expect(seen[2]!.message).toMatchObject({ attempt: 1, status: 500 });
      expect(seen[4]!.message).toMatchObject({ attempt: 2, status: 200 });
      expect(seen[5]!.message).toMatchObject({ outcome: 'delivered', attempts: 2 });
      expect(JSON.stringify(seen)).not.toContain(secret.slice(6, 20));
    } finally {
      for (const [name, fn] of subs) diagnostics.unsubscribe(name, fn);
    }
  });

  it('an attempt that fails to connect goes through the error channel, and a failed message ends with its reason', async () => {
    const r = await receiver();
    const url = r.url();
    await r.down();
    const errors: unknown[] = [];
    const ended: unknown[] = [];
    const onError = (m: unknown) => errors.push({ ...(m as object) });
    const onEnded = (m: unknown) => ended.push(m);
    diagnostics.subscribe('tracing:webhook-dispatcher:attempt:error', onError);
    diagnostics.subscribe('webhook-dispatcher:message:ended', onEnded);
    try {
      const d = dispatcher({ retry: { attempts: 1 }, telemetry: { openTelemetry: false } });
      await d.send({ url, secret }, { type: 'down', data: 1 });
      await d.onIdle();
      expect(errors).toEqual([expect.objectContaining({ attempt: 1, error: expect.objectContaining({ code: 'ECONNREFUSED' }) })]);
      expect(ended).toEqual([expect.objectContaining({ outcome: 'failed', reason: 'exhausted', attempts: 1 })]);
    } finally {
      diagnostics.unsubscribe('tracing:webhook-dispatcher:attempt:error', onError);
      diagnostics.unsubscribe('webhook-dispatcher:message:ended', onEnded);
    }
  });
});
