/**
 * OpenTelemetry: register the SDK (a tracer provider with an in-memory exporter), a context
 * manager and the W3C TraceContext propagator, then send inside a span of your own. The
 * dispatcher makes a client span per attempt, a child of yours, and sends `traceparent` to
 * the receiver so its trace continues from the caller's.
 *
 *   node --import tsx examples/opentelemetry.ts
 *
 * Without a propagator the receiver gets no `traceparent`: `@opentelemetry/api` propagates
 * nothing until one is registered. Register everything before making the dispatcher. In
 * production, swap the in-memory exporter for an OTLP one (@opentelemetry/exporter-trace-otlp-http)
 * behind a BatchSpanProcessor, or use @opentelemetry/sdk-node, which registers all three.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Dispatcher } from '../src/index.js';
import { startReceiver } from './local-receiver.js';

const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

const receiver = await startReceiver();
const dispatcher = new Dispatcher({ allowPrivateNetworks: true });

// The caller's own span, as an HTTP server instrumentation would make for a request.
const tracer = trace.getTracer('example-app');
const traceId = await tracer.startActiveSpan('POST /orders', async (span) => {
  await dispatcher.send({ url: receiver.url(), secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, { type: 'order.created', data: { id: 7 } });
  span.end();
  return span.spanContext().traceId;
});
await dispatcher.onIdle();
await dispatcher.close();
await receiver.close();

const attempt = exporter.getFinishedSpans().find((s) => s.attributes['webhook.event_type'] === 'order.created');
const traceparent = receiver.requests[0]?.headers.traceparent;
console.log(`attempt span: ${attempt?.name} ${attempt?.attributes['url.full']} → ${attempt?.attributes['http.response.status_code']}`);
console.log(`traceparent at the receiver: ${traceparent}`);
console.log(typeof traceparent === 'string' && traceparent.split('-')[1] === traceId ? 'traceparent reached the receiver in the caller\'s trace' : 'no traceparent in the caller\'s trace');
