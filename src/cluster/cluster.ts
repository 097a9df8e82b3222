import type { Clock } from '../core/clock.js';
import { clusterOption } from './cluster-options.js';
import type { RateLimiterFactory } from '../limits/rate-limiter.js';
import { RedisLink } from './redis-link.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { SharedBreakers } from './shared-breakers.js';
import type { ClusterWarning } from '../model/types.js';

/** What a dispatcher with the `cluster` option shares with its peers, and how to let go of it. */
export interface Cluster {
  /** Each rate-limited host's limiter, shared through Redis. */
  readonly rateLimiter: RateLimiterFactory;
  readonly breakers: SharedBreakers;
  /** Settles once Redis's first connection is up or refused (or after a bounded wait). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the cluster the `cluster` option describes, or returns `undefined` without one.
 * Throws `WD_INVALID_OPTIONS` for a bad option or a missing ioredis.
 * @param attemptTimeoutMs one attempt's timeout: how long another process's probe may keep a host closed to this one
 * @param wake called with an origin another process's breaker no longer holds open
 */
export function startCluster(option: unknown, clock: Clock, attemptTimeoutMs: number, warn: (warning: ClusterWarning) => void, wake: (origin: string) => void): Cluster | undefined {
  const resolved = clusterOption(option);
  if (resolved === undefined) return undefined;
  const link = new RedisLink(resolved, clock, warn);
  const breakers = new SharedBreakers(link, clock, attemptTimeoutMs, wake);
  return {
    rateLimiter: (limit, now, wakeActor, origin) => new RedisRateLimiter(limit, now, wakeActor, link, origin, clock),
    breakers,
    ready: link.connected,
    async close() {
      await breakers.close();
      await link.close();
    },
  };
}
