/**
 * The telemetry hooks' cost per attempt, in a tight loop, beside the least an SDK user pays:
 * a bare span (`startSpan` + `end`, no attribute, no propagation, no metric). Run with an
 * SDK registered (see `registerSdk` in otel-sdk.ts) to price the SDK's path, or without one to
 * price the no-op path. Nanoseconds per attempt, the best of three runs after a warm-up.
 */
import { trace } from '@opentelemetry/api';
import type { Message } from '../../src/model/message.js';
import { AttemptTelemetry } from '../../src/telemetry/attempt-telemetry.js';
import { OpenTelemetry } from '../../src/telemetry/open-telemetry.js';
import type { AttemptResult } from '../../src/transport/transport.js';

function best(iterations: number, body: () => void): number {
  const loop = (n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) body();
    return Number(process.hrtime.bigint() - t0) / n;
  };
  loop(iterations / 3);
  return Math.min(loop(iterations), loop(iterations), loop(iterations));
}

/** One delivered message's hooks: capture at send, attempt start and end, the delivery count. */
export function hooksPerAttempt(iterations = 100_000): number {
  const otel = OpenTelemetry.create({ openTelemetry: true, hostAttributes: false }, () => ({ hosts: {} }) as never);
  if (otel === undefined) throw new Error('@opentelemetry/api is not installed');
  const hooks = new AttemptTelemetry(otel);
  const endpoint = { url: 'http://127.0.0.1:9/hook?token=x', origin: 'http://127.0.0.1:9' };
  const message = { id: 'm', endpoint, event: { id: 'e', type: 'bench.event' }, attempts: 1, trace: undefined } as unknown as Message;
  const result = { status: 200, retryAfter: undefined, body: undefined, latencyMs: 1 } as unknown as AttemptResult;
  const ns = best(iterations, () => {
    message.trace = otel.capture();
    const headers: string[] = [];
    const t = hooks.start(message, headers);
    if (t !== undefined) hooks.end(t, message, result);
    otel.delivered(message);
  });
  otel.close();
  return ns;
}

/** A span started and ended, nothing else: the floor of any traced attempt. */
export function bareSpan(iterations = 100_000): number {
  const tracer = trace.getTracer('bench-bare');
  return best(iterations, () => tracer.startSpan('POST').end());
}
