import type { ActorContext } from './actor-context.js';
import type { Message } from '../model/message.js';
import { attemptHeaders } from '../signing/signatures.js';

/**
 * The headers of `message`'s next attempt at `now`, signed, and counts the attempt. The actor
 * then lets telemetry observe it and sends it with one callback of its own: a callback here
 * too would cost a closure and its context per attempt in flight.
 */
export function attemptHeadersFor(ctx: ActorContext, message: Message, now: number): string[] {
  const { options } = ctx;
  message.attempts++;
  const { endpoint, event } = message;
  return attemptHeaders(options.userAgent, endpoint.headers, endpoint.scheme, endpoint.keys, event.id, Math.floor(now / 1000), event.body, options.signatureHeader);
}
