/**
 * The OpenTelemetry SDK as the telemetry benchmarks register it: a tracer provider with the
 * batch span processor (default settings, as production runs it) exporting to a no-op
 * exporter, a meter provider with a reader that collects only when asked, the async-hooks
 * context manager and the W3C propagator. Used by scenario 15 in its own process and by
 * telemetry-worker.ts in a child process of its own.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Takes spans and drops them: the cost measured is the SDK's, not an exporter's I/O. */
export class NoopExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.exported += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

/** Collects only when asked, as a periodic reader would between its intervals. */
export class QuietReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** Registers the SDK globally for one round (every trace sampled, or `ratio` of them); returns what unregisters it. */
export function registerSdk(exporter: NoopExporter, ratio?: number): () => Promise<void> {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  const sampler = ratio === undefined ? undefined : new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)], ...(sampler && { sampler }) });
  const reader = new QuietReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  // The context manager's async hook starts with the first `context.with` (the batch
  // processor's first export makes one, as does any instrumentation): from then on every
  // promise of the process pays for it. Started here, so `sdkOnly` prices it too.
  context.with(context.active(), () => undefined);
  return async () => {
    await reader.collect();
    await tracerProvider.forceFlush();
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
    trace.disable();
    metrics.disable();
    propagation.disable();
    context.disable();
  };
}
