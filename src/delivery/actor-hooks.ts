/**
 * What a host actor's parts (its holdings, timer and endpoint gates) call back on the actor.
 * They hold the actor itself rather than a closure per callback: with 10,000 hosts, five
 * closures and their context cost about 0.3 KiB per host.
 */
export interface ActorHooks {
  /** Something new may be sent: look at the queue again. */
  wake(): void;
  /** Closed without draining: whatever is left or comes back fails (or is handed back). */
  readonly aborted: boolean;
  /** The actor's one timer fired. */
  timerFired(): void;
  /** An endpoint's breaker opened: one failure against the host's breaker, at `ticket`. */
  endpointBreakerOpened(ticket: number, now: number): void;
}
