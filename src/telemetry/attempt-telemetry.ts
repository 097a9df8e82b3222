import { publishAttemptEnd, publishAttemptStart, type AttemptContext } from './diagnostics.js';
import type { Message } from '../model/message.js';
import type { OpenTelemetry } from './open-telemetry.js';
import type { AttemptResult } from '../transport/transport.js';

/** What one attempt's observers hold between its start and its end. */
export interface AttemptTrace {
  channel: AttemptContext | undefined;
  span: unknown;
}

/**
 * The actor's one hook for observing attempts: diagnostics_channel always (free without
 * subscribers), OpenTelemetry when it is on. `start` may add headers (`traceparent`).
 */
export class AttemptTelemetry {
  constructor(private readonly otel: OpenTelemetry | undefined) {}

  start(m: Message, headers: string[]): AttemptTrace | undefined {
    const channel = publishAttemptStart(m);
    const span = this.otel?.attemptStarted(m, headers);
    return channel === undefined && span === undefined ? undefined : { channel, span };
  }

  end(trace: AttemptTrace, m: Message, result: AttemptResult): void {
    if (trace.channel !== undefined) publishAttemptEnd(trace.channel, result);
    if (trace.span !== undefined) this.otel!.attemptEnded(trace.span, m, result);
  }
}
