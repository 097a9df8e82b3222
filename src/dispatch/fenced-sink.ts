import type { ActorSink } from '../delivery/actor-context.js';
import type { Message } from '../model/message.js';
import type { EndOutcome, Journal } from '../persistence/journal.js';
import type { StoreOp } from '../persistence/store.js';

/**
 * With a shared store, a terminal event fires only in the process whose end the store kept.
 * Wraps the dispatcher's sink (the actors do not know): a `delivered` or `failed` from an
 * actor is first written to the store under the message's lease (its fencing token), and
 * passed on only once the store kept it. An end the store refuses (another process took the
 * message over while this one stalled) is passed on as `released`: counted out, no event.
 * An end the store could not write at all is reported (`store-write-failed`) and its event
 * fires all the same, as it did before: the answer was real.
 *
 * Before anything an answer makes the actor start next, the lease is checked: after a stall,
 * attempts wait for a renewal that drops what was lost. Other stores get `inner` itself.
 */
export function fencedSink(inner: ActorSink, journal: Journal): ActorSink {
  const leases = journal.leases;
  if (!journal.fenced || leases === undefined) return inner;
  const settle = (m: Message, op: StoreOp, emit: () => void): void => {
    void journal.end(m, op).then((outcome: EndOutcome) => (outcome === 'lost' ? inner.released(m) : emit()));
  };
  return {
    delivered(m, status, latencyMs) {
      settle(m, journal.deliveredOp(m, status, latencyMs), () => inner.delivered(m, status, latencyMs));
    },
    failed(m, reason, result) {
      settle(m, journal.failedOp(m, reason, result), () => inner.failed(m, reason, result));
    },
    released(m) {
      leases.held.drop(m.id);
      inner.released(m);
    },
    releasedOnDisk: (count) => inner.releasedOnDisk(count),
    retrying: (m, delayMs) => inner.retrying(m, delayMs),
    attempted(m, result) {
      // Called as an answer arrives, before the actor starts another attempt.
      leases.checkLease();
      inner.attempted(m, result);
    },
    gone: (m) => inner.gone(m),
    breaker: (origin, state) => inner.breaker(origin, state),
  };
}
