import type { Message } from '../model/message.js';
import type { AttemptTrace } from '../telemetry/attempt-telemetry.js';
import type { AttemptListener, AttemptResult } from '../transport/transport.js';

/** Whoever sent an attempt and hears its outcome: the host actor. */
export interface InFlightOwner {
  attemptEnded(attempt: InFlight, result: AttemptResult): void;
}

/**
 * One attempt in flight: what its outcome needs (its message, the breakers' tickets, its
 * telemetry) and the listener its transport tells. One object of five fields in place of a
 * callback closing over them: a closure and its context cost twice as much, per attempt in
 * flight, and 10,000 hosts may each have one.
 */
export class InFlight implements AttemptListener {
  /**
   * @param ticket the host breaker's ticket for this attempt
   * @param laneTicket its endpoint breaker's
   * @param trace what telemetry holds between the attempt's start and end (undefined when nobody observes)
   */
  constructor(
    readonly owner: InFlightOwner,
    readonly message: Message,
    readonly ticket: number,
    readonly laneTicket: number,
    readonly trace: AttemptTrace | undefined,
  ) {}

  attemptDone(result: AttemptResult): void {
    this.owner.attemptEnded(this, result);
  }
}
