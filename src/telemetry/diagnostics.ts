/**
 * `node:diagnostics_channel` publication, as undici and pino do it: free when nobody
 * subscribes (one `hasSubscribers` read per message or attempt), and APM tools, loggers and
 * tests subscribe without the dispatcher knowing them.
 *
 * - `webhook-dispatcher:message:accepted`: `{ messageId, eventId, eventType, url, origin }`
 * - `webhook-dispatcher:message:ended`: `{ messageId, …, outcome: 'delivered' | 'failed', reason?, attempts }`
 * - tracing channel `webhook-dispatcher:attempt` (`tracing:webhook-dispatcher:attempt:start`,
 *   `…:asyncEnd` and `…:error`): one context object per attempt, `{ messageId, eventId,
 *   eventType, url, origin, attempt }` at start, with `status` or `error` and `latencyMs` added
 *   by its end. Secrets and header values are never published.
 */
import diagnostics from 'node:diagnostics_channel';
import { messageFacts, type Message } from '../model/message.js';
import type { AttemptResult } from '../transport/transport.js';
import type { FailureReason } from '../model/types.js';

export const acceptedChannel = diagnostics.channel('webhook-dispatcher:message:accepted');
export const endedChannel = diagnostics.channel('webhook-dispatcher:message:ended');
export const attemptChannel = diagnostics.tracingChannel<string, AttemptContext>('webhook-dispatcher:attempt');

/** What an attempt's subscribers see; the same object from start to end. */
export interface AttemptContext {
  messageId: string;
  eventId: string;
  eventType: string;
  url: string;
  origin: string;
  attempt: number;
  status?: number;
  error?: { code: string; message: string };
  latencyMs?: number;
}


export function publishAccepted(m: Message): void {
  if (acceptedChannel.hasSubscribers) acceptedChannel.publish(messageFacts(m));
}

export function publishEnded(m: Message, outcome: 'delivered' | 'failed', reason?: FailureReason): void {
  if (endedChannel.hasSubscribers) endedChannel.publish({ ...messageFacts(m), outcome, attempts: m.attempts, ...(reason === undefined ? {} : { reason }) });
}

/** Publishes an attempt's start; returns its context for {@link publishAttemptEnd}, or `undefined` when nobody listens. */
export function publishAttemptStart(m: Message): AttemptContext | undefined {
  if (!attemptChannel.hasSubscribers) return undefined;
  const context: AttemptContext = { ...messageFacts(m), attempt: m.attempts };
  attemptChannel.start.publish(context);
  return context;
}

export function publishAttemptEnd(context: AttemptContext, result: AttemptResult): void {
  context.latencyMs = result.latencyMs;
  if (result.error !== undefined) {
    context.error = { code: result.error.code, message: result.error.message };
    attemptChannel.error.publish(context);
  } else context.status = result.status;
  attemptChannel.asyncEnd.publish(context);
}
