import type { ActorContext } from './actor-context.js';
import type { Message } from '../model/message.js';
import { attemptHeaders } from '../signing/signatures.js';
import type { AttemptResult, Transport } from '../transport/transport.js';

/** Sends one attempt of `message` at `now`: signs it, lets telemetry observe it, and calls `done` with the answer. */
export function sendAttempt(ctx: ActorContext, transport: Transport, message: Message, now: number, done: (result: AttemptResult) => void): void {
  const { options, telemetry } = ctx;
  message.attempts++;
  const { endpoint, event } = message;
  const headers = attemptHeaders(options.userAgent, endpoint.headers, endpoint.scheme, endpoint.keys, event.id, Math.floor(now / 1000), event.body, options.signatureHeader);
  // Undefined unless someone observes attempts: then it may add `traceparent` to the headers.
  const trace = telemetry.start(message, headers);
  transport.send(endpoint.path, headers, event.body, (result) => {
    if (trace !== undefined) telemetry.end(trace, message, result);
    done(result);
  });
}
