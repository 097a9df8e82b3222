import type { ActorSink } from '../delivery/actor-context.js';
import type { EventStream } from './event-stream.js';
import type { Ledger } from './ledger.js';
import { publishEnded } from '../telemetry/diagnostics.js';
import type { Journal } from '../persistence/journal.js';
import { messageFacts, type Message } from '../model/message.js';
import type { OpenTelemetry } from '../telemetry/open-telemetry.js';
import type { AttemptResult } from '../transport/transport.js';
import type { DispatcherEvents, Failed } from '../model/types.js';

/** What the sink reports into; named, so a new seam is one more field, not one more argument. */
export interface SinkContext {
  readonly ledger: Ledger;
  /** The dispatcher's private emitter. */
  readonly events: EventStream<DispatcherEvents>;
  readonly journal: Journal;
  readonly otel: OpenTelemetry | undefined;
  /** After each end or release (`undefined`: messages released unread from disk). */
  ended(message: Message | undefined): void;
}

function errorOf(result: AttemptResult | undefined): { code: string; message: string } | undefined {
  return result?.error === undefined ? undefined : { code: result.error.code, message: result.error.message };
}


/**
 * Turns what actors report into the dispatcher's counts, public events, `diagnostics_channel`
 * messages and OpenTelemetry metrics. Payloads are built only when someone listens; `ended`
 * runs after each terminal event.
 */
export function createSink({ ledger, events, journal, otel, ended }: SinkContext): ActorSink {
  return {
    delivered(m, status, latencyMs) {
      ledger.delivered();
      journal.delivered(m, status, latencyMs);
      otel?.delivered(m);
      publishEnded(m, 'delivered');
      if (events.has('delivered')) {
        // Written out rather than `...messageFacts(m)`: this runs once per delivery, and the spread
        // showed in profiles of the hot path. The other events are rarer.
        const { endpoint, event } = m;
        events.emit('delivered', { messageId: m.id, eventId: event.id, eventType: event.type, url: endpoint.url, origin: endpoint.origin, attempts: m.attempts, status, latencyMs });
      }
      ended(m);
    },
    failed(m, reason, result) {
      ledger.failed();
      journal.failed(m, reason, result);
      otel?.failed(m, reason);
      publishEnded(m, 'failed', reason);
      if (events.has('failed')) {
        const event: Failed = { ...messageFacts(m), attempts: m.attempts, reason };
        const last = m.last;
        if (last?.status !== undefined) {
          event.status = last.status;
          if (last.body) event.responseBody = last.body;
        }
        const error = errorOf(last);
        if (error !== undefined) event.error = error;
        events.emit('failed', event);
      }
      ended(m);
    },
    released(m) {
      ledger.released();
      ended(m);
    },
    releasedOnDisk(count) {
      ledger.released(count);
      ended(undefined);
    },
    retrying(m, delayMs) {
      ledger.retried();
      journal.retrying(m);
      otel?.retrying(m);
      if (events.has('retry')) events.emit('retry', { ...messageFacts(m), attempt: m.attempts, delayMs, status: m.last?.status, error: errorOf(m.last) });
    },
    attempted(m, result) {
      if (events.has('attempt')) events.emit('attempt', { ...messageFacts(m), attempt: m.attempts, status: result.status, error: errorOf(result), latencyMs: result.latencyMs });
    },
    gone(m) {
      if (events.has('gone')) events.emit('gone', messageFacts(m));
    },
    breaker(origin, state, url) {
      if (events.has('breaker')) events.emit('breaker', url === undefined ? { origin, state } : { origin, state, url });
    },
  };
}
