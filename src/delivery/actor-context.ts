import type { Clock } from '../core/clock.js';
import type { ResolvedOptions } from '../config/options.js';
import type { RateLimiterFactory } from '../limits/rate-limiter.js';
import type { Message } from '../model/message.js';
import type { BreakerState, FailureReason } from '../model/types.js';
import type { Backlog } from '../persistence/backlog.js';
import type { SharedBreakers } from '../cluster/shared-breakers.js';
import type { AttemptTelemetry } from '../telemetry/attempt-telemetry.js';
import type { AttemptResult } from '../transport/transport.js';

/** Where an actor reports what happens to its messages. Implementations must not throw. */
export interface ActorSink {
  delivered(message: Message, status: number, latencyMs: number): void;
  /** `result`: the attempt whose outcome ended it, when one did. */
  failed(message: Message, reason: FailureReason, result?: AttemptResult): void;
  /** A closing dispatcher hands an unfinished message back to its durable store, which keeps it for the next run. */
  released(message: Message): void;
  /**
   * `count` messages of a durable backlog on disk leave this dispatcher without an event: a
   * closing one leaves them, never paged in, to end in a later run; or the store no longer holds
   * them as pending when they are paged in (someone else ended them).
   */
  releasedOnDisk(count: number): void;
  retrying(message: Message, delayMs: number): void;
  attempted(message: Message, result: AttemptResult): void;
  gone(message: Message): void;
  /** `url`: an endpoint's own breaker; without it, the host's. */
  breaker(origin: string, state: BreakerState, url?: string): void;
}

/** What every actor of a dispatcher shares: the seams through which it meets the world. */
export interface ActorContext {
  readonly options: ResolvedOptions;
  /** With a durable store: messages past the in-memory window stay on disk and are paged in. */
  readonly backlog: Backlog | undefined;
  readonly sink: ActorSink;
  readonly clock: Clock;
  /** Makes a rate-limited host's limiter: local by default, shared in a cluster. */
  readonly rateLimiter: RateLimiterFactory;
  /** Observes each attempt: `diagnostics_channel` and OpenTelemetry spans. */
  readonly telemetry: AttemptTelemetry;
  /**
   * A durable store keeps unfinished messages for later (closing hands them back instead of
   * failing them). Implied by `backlog`; a shared store has no backlog but keeps them too.
   */
  readonly keepsUnfinished?: boolean;
  /** In a cluster: open breakers of other processes, which hold this host's sends too. */
  readonly sharedBreakers?: SharedBreakers | undefined;
}

