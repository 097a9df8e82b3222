import type { Clock, Timer } from '../core/clock.js';
import type { ActorSink } from '../delivery/actor-context.js';
import type { Message } from '../model/message.js';
import type { EndOutcome, Journal } from '../persistence/journal.js';
import type { StoreOp } from '../persistence/store.js';

/** The first wait before an end the store could not write is written again; doubled each time. */
const FIRST_RETRY_MS = 100;
/** The longest wait between two writes of one end. */
const LAST_RETRY_MS = 3_200;

/** The dispatcher's sink, and what its close tells it. */
export interface FencedSink extends ActorSink {
  /**
   * The dispatcher is closing (its actors aborted): ends waiting to be written again are given
   * up now, released with no event (the message stays pending in the store, under a lease that
   * lapses, and is delivered again by whoever claims it). A write on its way still decides.
   */
  abandon(): void;
}

/**
 * With a shared store, a terminal event fires only in the process whose end the store kept.
 * Wraps the dispatcher's sink (the actors do not know): a `delivered` or `failed` from an
 * actor is first written to the store under the message's lease (its fencing token), and
 * passed on only once the store kept it. An end the store refuses (another process took the
 * message over while this one stalled) is passed on as `released`: counted out, no event.
 *
 * An end the store could not write at all (the database is down) is reported
 * (`store-write-failed`, at most one a second) and written again, after 100 ms doubling to
 * 3.2 s on `clock`, until the store keeps it (the event fires, once) or refuses it (released:
 * whoever took the message over ends it). Meanwhile the message stays held, so renewals keep
 * its lease, and it stays pending in the ledger (`onIdle` waits for it). Firing the event
 * without the write would let a second process, claiming the row once the lease lapsed,
 * deliver and end it again. {@link FencedSink.abandon} gives up what is still waiting.
 *
 * Before anything an answer makes the actor start next, the lease is checked: after a stall,
 * attempts wait for a renewal that drops what was lost. Other stores get `inner` itself
 * (with an `abandon` that does nothing).
 */
export function fencedSink(inner: ActorSink, journal: Journal, clock: Clock): FencedSink {
  const leases = journal.leases;
  if (!journal.fenced || leases === undefined) return { ...inner, abandon() {} };
  let closing = false;
  /** Ends waiting to be written again: each one's timer and its message. */
  const waiting = new Map<Timer, Message>();
  const giveUp = (m: Message): void => {
    leases.held.drop(m.id);
    inner.released(m);
  };
  // Callbacks, not an async loop: an end written at once costs what it did before (one `then`).
  const settle = (m: Message, op: StoreOp, emit: () => void, again = false, wait = FIRST_RETRY_MS): void => {
    void journal.end(m, op, again).then((outcome: EndOutcome) => {
      if (outcome === 'kept') return emit();
      if (outcome === 'lost') return inner.released(m);
      // Unwritten: the message is still held (renewed); written again unless the dispatcher closes.
      if (closing) return giveUp(m);
      const timer = clock.setTimer(
        () => {
          waiting.delete(timer);
          settle(m, op, emit, true, Math.min(wait * 2, LAST_RETRY_MS));
        },
        wait,
        false,
      );
      waiting.set(timer, m);
    });
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
    breaker: (origin, state, url) => inner.breaker(origin, state, url),
    abandon() {
      closing = true;
      const given = [...waiting];
      waiting.clear();
      for (const [timer, m] of given) {
        timer.cancel();
        giveUp(m);
      }
    },
  };
}
