import type { ActorSink } from './host-actor.js';
import { publishEnded } from '../telemetry/diagnostics.js';
import type { Journal } from '../persistence/journal.js';
import type { Message } from '../model/message.js';
import type { OpenTelemetry } from '../telemetry/open-telemetry.js';
import type { AttemptResult } from '../transport/undici-transport.js';
import type { DispatcherEvents, Failed } from '../model/types.js';

/** The dispatcher's running totals; the sink counts into them. */
export interface Counts {
  accepted: number;
  delivered: number;
  failed: number;
  retries: number;
  /** Handed back unfinished to a durable store by a closing dispatcher: they end in a later run. */
  released: number;
}

type Emit = <E extends keyof DispatcherEvents>(name: E, payload: Parameters<DispatcherEvents[E]>[0]) => void;

function errorOf(result: AttemptResult | undefined): { code: string; message: string } | undefined {
  return result?.error === undefined ? undefined : { code: result.error.code, message: result.error.message };
}

function facts(m: Message) {
  return { messageId: m.id, eventId: m.event.id, eventType: m.event.type, url: m.endpoint.url, origin: m.endpoint.origin };
}

/**
 * Turns what actors report into the dispatcher's counts, public events, `diagnostics_channel`
 * messages and OpenTelemetry metrics. Payloads are built only when someone listens; `ended`
 * runs after each terminal event.
 */
export function createSink(
  counts: Counts,
  emit: Emit,
  listening: (name: keyof DispatcherEvents) => boolean,
  ended: (message: Message | undefined) => void,
  journal: Journal,
  otel: OpenTelemetry | undefined,
): ActorSink {
  return {
    delivered(m, status, latencyMs) {
      counts.delivered++;
      journal.delivered(m, status, latencyMs);
      otel?.delivered(m);
      publishEnded(m, 'delivered');
      if (listening('delivered')) {
        // Written out rather than `...facts(m)`: this runs once per delivery, and the spread
        // showed in profiles of the hot path. The other events are rarer.
        const { endpoint, event } = m;
        emit('delivered', { messageId: m.id, eventId: event.id, eventType: event.type, url: endpoint.url, origin: endpoint.origin, attempts: m.attempts, status, latencyMs });
      }
      ended(m);
    },
    failed(m, reason, result) {
      counts.failed++;
      journal.failed(m, reason, result);
      otel?.failed(m, reason);
      publishEnded(m, 'failed', reason);
      if (listening('failed')) {
        const event: Failed = { ...facts(m), attempts: m.attempts, reason };
        const last = m.last;
        if (last?.status !== undefined) {
          event.status = last.status;
          if (last.body) event.responseBody = last.body;
        }
        const error = errorOf(last);
        if (error !== undefined) event.error = error;
        emit('failed', event);
      }
      ended(m);
    },
    released(m) {
      counts.released++;
      ended(m);
    },
    releasedOnDisk(count) {
      counts.released += count;
      ended(undefined);
    },
    retrying(m, delayMs) {
      counts.retries++;
      journal.retrying(m);
      otel?.retrying(m);
      if (listening('retry')) emit('retry', { ...facts(m), attempt: m.attempts, delayMs, status: m.last?.status, error: errorOf(m.last) });
    },
    attempted(m, result) {
      if (listening('attempt')) emit('attempt', { ...facts(m), attempt: m.attempts, status: result.status, error: errorOf(result), latencyMs: result.latencyMs });
    },
    gone(m) {
      if (listening('gone')) emit('gone', facts(m));
    },
    breaker(origin, state) {
      if (listening('breaker')) emit('breaker', { origin, state });
    },
  };
}
