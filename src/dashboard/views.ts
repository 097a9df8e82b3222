/**
 * What the API sends, field by field: each view names what it copies, so a field a store or a
 * later version adds is never shown by accident. URLs lose their query strings, free text is
 * redacted and clipped.
 */
import type { DeadLetter, MessageHistory } from '../persistence/store.js';
import type { DispatcherStats, Failed, Retry } from '../model/types.js';
import { CHART_SECONDS, RATE_SECONDS, type HostActivity, type SecondCounters } from './counters.js';
import { clip, redactText, redactUrl } from './redact.js';

/** Longest error message and response body shown. */
const TEXT_MAX = 500;

export interface ErrorView {
  code: string;
  message: string;
}

function errorView(error: { code: string; message: string } | undefined): ErrorView | undefined {
  return error === undefined ? undefined : { code: clip(String(error.code), 60), message: clip(redactText(String(error.message)), TEXT_MAX) };
}

/** The chart of a dashboard built moments ago starts when it was built, and spans at least this many seconds. */
const CHART_MIN_SECONDS = 60;

export function statsView(stats: DispatcherStats, chart: SecondCounters, nowMs: number, startedMs: number) {
  const second = Math.floor(nowMs / 1000);
  // The current second is still counting: the chart ends at the last complete one.
  const from = Math.max(second - CHART_SECONDS, Math.min(Math.floor(startedMs / 1000), second - CHART_MIN_SECONDS));
  return {
    accepted: stats.accepted,
    delivered: stats.delivered,
    failed: stats.failed,
    retries: stats.retries,
    pending: stats.pending,
    hosts: Object.keys(stats.hosts).length,
    chart: { start: from, delivered: chart.range(0, from, second - 1), failed: chart.range(1, from, second - 1) },
  };
}

export function hostsView(stats: DispatcherStats, activity: HostActivity, nowMs: number) {
  const second = Math.floor(nowMs / 1000);
  return {
    rateSeconds: RATE_SECONDS,
    hosts: Object.entries(stats.hosts).map(([origin, h]) => {
      const last = activity.lastError(origin);
      return {
        origin,
        queued: h.queued,
        inFlight: h.inFlight,
        waiting: h.waiting,
        breaker: h.breaker,
        paused: h.paused,
        endpoints: h.endpoints,
        endpointsHeld: h.endpointsHeld,
        held: h.held.map((e) => ({ url: redactUrl(e.url), why: e.why, queued: e.queued })),
        busiest: h.busiest === undefined ? null : { url: redactUrl(h.busiest.url), queued: h.busiest.queued, share: h.busiest.share },
        rate: activity.rate(origin, second) ?? null,
        lastError: last === undefined ? null : { at: new Date(last.at).toISOString(), text: last.text },
      };
    }),
  };
}

export function deadLetterView(d: DeadLetter) {
  return {
    messageId: d.messageId,
    eventId: d.eventId,
    eventType: d.eventType,
    url: redactUrl(d.url),
    origin: d.origin,
    attempts: d.attempts,
    reason: d.reason,
    status: d.status ?? null,
    error: errorView(d.error) ?? null,
    responseBody: d.responseBody === undefined ? null : clip(redactText(d.responseBody), TEXT_MAX),
    failedAt: d.failedAt.toISOString(),
    // Replayed already: the page shows the replay instead of offering another.
    replayedAs: d.replayedAs ?? null,
    replayedAt: d.replayedAt?.toISOString() ?? null,
  };
}

export function historyView(h: MessageHistory) {
  return {
    messageId: h.messageId,
    eventId: h.eventId,
    eventType: h.eventType,
    url: redactUrl(h.url),
    origin: h.origin,
    state: h.state,
    acceptedAt: h.acceptedAt.toISOString(),
    replayedAs: h.replayedAs ?? null,
    attempts: h.attempts.map((a) => ({ at: a.at.toISOString(), status: a.status ?? null, error: errorView(a.error) ?? null, latencyMs: a.latencyMs })),
  };
}

/** One line for a host's last trouble: `503 · will retry`, `ECONNREFUSED: connect … · exhausted`. */
export function troubleText(event: Failed | Retry): string {
  const what = event.error !== undefined ? `${event.error.code}: ${event.error.message}` : event.status !== undefined ? `HTTP ${event.status}` : 'no answer';
  const outcome = 'reason' in event ? event.reason : 'delayMs' in event ? 'will retry' : '';
  return clip(redactText(outcome === '' ? what : `${what} · ${outcome}`), 300);
}
