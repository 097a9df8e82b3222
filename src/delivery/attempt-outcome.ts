import { retryWait } from './backoff.js';
import type { Outcome } from './classify.js';
import type { ActorContext } from './actor-context.js';
import type { HostHoldings } from './host-holdings.js';
import type { Message } from '../model/message.js';
import type { AttemptResult } from '../transport/transport.js';

/**
 * What an attempt's outcome does to its message: delivered, ended (rejected, gone, blocked,
 * exhausted, expired), or waiting for its retry in `held`. Returns until when the whole host
 * should be slowed down (a 429, or a 503 with `Retry-After`); 0 when it should not.
 */
export function afterAttempt(ctx: ActorContext, held: HostHoldings, message: Message, result: AttemptResult, outcome: Outcome, now: number): number {
  const { sink } = ctx;
  if (outcome.kind === 'delivered') {
    sink.delivered(message, result.status!, result.latencyMs);
    return 0;
  }
  // Kept for the terminal event, whenever it comes.
  message.last = result;
  if (outcome.kind !== 'retry') {
    if (outcome.kind === 'gone') sink.gone(message);
    sink.failed(message, outcome.kind === 'refused' ? 'rejected' : outcome.kind, result);
    return 0;
  }
  if (message.attempts >= message.maxAttempts) {
    sink.failed(message, 'exhausted', result);
    return 0;
  }
  const { delay, pauseMs } = retryWait(message.attempts, result.error === undefined ? result.retryAfter : undefined, now, ctx.options.retry, ctx.clock.random);
  message.dueAt = now + delay;
  if (message.dueAt >= message.expiresAt) sink.failed(message, 'expired', result);
  else {
    held.retry(message);
    held.queue.lane(message.endpoint.url).held++;
    sink.retrying(message, delay);
  }
  return outcome.slowHost ? now + pauseMs : 0;
}
