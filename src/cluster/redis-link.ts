import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../core/clock.js';
import type { ResolvedCluster } from './cluster-options.js';
import { reasonOf } from '../core/errors.js';
import { closeConnection } from './close-connection.js';
import type { ClusterWarning } from '../model/types.js';

/**
 * One token bucket in a Redis hash `{ t: last refill (ms, server clock), n: tokens }`, taken
 * from (ARGV[3] > 0) or given back to (ARGV[3] < 0) in one round trip. The server's TIME is
 * the clock, so processes with skewed clocks still share one bucket exactly.
 *
 * A batch may be reserved ahead: the bucket may go down to `-ARGV[4]` tokens, and the answer
 * says when the batch is covered. Spent from then on, the permits are exactly what the bucket
 * would have granted at that instant, so processes queue for the rate in one round trip per
 * batch instead of polling a busy bucket. Permits given back while reservations are queued are
 * dropped instead: a freed slot in the middle of the queue would let the next reservation
 * share a slot with one already made. Returns `{ granted, waitMs, skewMs }`: with a grant, the
 * wait before spending it; without one (the queue ahead is full), the wait before asking again.
 *
 * A stored time ahead of the server's (its clock stepped back, a failover to a replica whose
 * clock is behind, a hostile write) would never refill the bucket, each call refreshing its
 * TTL: it is taken as now, and `skewMs` says by how much it was ahead (0 normally).
 */
const BUCKET_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local perMs = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local ahead = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 't', 'n')
local at = tonumber(state[1]) or now
local n = tonumber(state[2]) or cap
local skew = 0
if at > now then skew = math.min(at - now, 9007199254740991); at = now end
if now > at then n = math.min(cap, n + (now - at) * perMs); at = now end
local granted = 0
if want < 0 then if n >= 0 then n = math.min(cap, n - want) end elseif n - want >= -ahead then granted = want; n = n - want end
redis.call('HSET', KEYS[1], 't', at, 'n', tostring(n))
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - n) / perMs) + 1000)
local wait = 0
if granted > 0 and n < 0 then wait = math.ceil(-n / perMs)
elseif granted == 0 and want > 0 then wait = math.ceil((want - ahead - n) / perMs) end
return { granted, wait, skew }
`;
const BUCKET_SHA = createHash('sha1').update(BUCKET_SCRIPT).digest('hex');

/** A Redis answer slower than this counts as Redis being away: a send never waits longer for it. */
export const COMMAND_TIMEOUT_MS = 500;
/** After a failed command, how long the shared state is left alone before it is tried again. */
export const RETRY_AFTER_FAILURE_MS = 1_000;
/** How long `ready()` waits for the first connection before the process starts on local limits. */
export const FIRST_CONNECTION_WAIT_MS = 2_000;

/**
 * The dispatcher's connection to the cluster's shared state, and whether it is usable now.
 * Every shared piece (rate limits, open breakers) asks {@link usable} first and works locally
 * when it is not: a Redis outage slows nothing and refuses nothing. Going away and coming
 * back are each reported once, as a `warning` event.
 */
export class RedisLink {
  readonly client: Redis;
  readonly prefix: string;
  readonly #owned: boolean;
  readonly #clock: Clock;
  readonly #warn: (warning: ClusterWarning) => void;
  /** Reported away and not yet back. */
  #away = false;
  /** After a failed command, nothing is asked of Redis before this. */
  #quietUntil = 0;
  #closed = false;
  #wasReady = false;
  #skewReported = false;
  readonly #onReady = (): void => {
    this.#wasReady = true;
    this.#quietUntil = 0;
    this.#settleFirst();
  };
  readonly #onClose = (): void => {
    this.#settleFirst();
    this.failed(new Error('the connection closed'));
  };
  #settleFirst: () => void = () => {};
  /**
   * Settles once the first connection is up, refused, or {@link FIRST_CONNECTION_WAIT_MS} has
   * passed: until then each process limits on its own, so sends made right after `ready()`
   * would overshoot a shared limit by the other processes' bursts.
   */
  readonly connected: Promise<void>;
  readonly #onError = (): void => {
    // Reported through `close` and failed commands; without a listener ioredis would log it.
  };

  constructor(cluster: ResolvedCluster, clock: Clock, warn: (warning: ClusterWarning) => void) {
    this.client = cluster.client;
    this.prefix = cluster.keyPrefix;
    this.#owned = cluster.owned;
    this.#clock = clock;
    this.#warn = warn;
    this.connected =
      this.client.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = clock.setTimer(() => this.#settleFirst(), FIRST_CONNECTION_WAIT_MS, false);
            this.#settleFirst = () => {
              timer.cancel();
              this.#settleFirst = () => {};
              resolve();
            };
          });
    this.client.on('ready', this.#onReady);
    this.client.on('close', this.#onClose);
    if (this.#owned) this.client.on('error', this.#onError);
    // A client made with `lazyConnect` and handed over unconnected is meant to be used.
    if (this.client.status === 'wait') this.client.connect().catch(() => {});
  }

  /** Can shared state be asked now? Reports the outage the first time it is not. */
  usable(now: number): boolean {
    if (this.#closed) return false;
    const status = this.client.status;
    if (status !== 'ready') {
      // The first connection on its way is no outage; a lost one is (a refused first
      // connection is reported by its `close`).
      if (this.#wasReady) this.failed(new Error(`the connection is ${status}`));
      return false;
    }
    this.#wasReady = true;
    return now >= this.#quietUntil;
  }

  /** A command failed or timed out: work locally for a while, and say so once. */
  failed(error: unknown): void {
    if (this.#closed) return;
    this.#quietUntil = this.#clock.now() + RETRY_AFTER_FAILURE_MS;
    if (this.#away) return;
    this.#away = true;
    this.#warn({
      kind: 'cluster-unavailable',
      message: `Expected Redis to answer, got ${reasonOf(error)}: each process now applies host rate limits and breakers on its own until it is back`,
    });
  }

  /** A command succeeded: if Redis was away, say it is back. */
  succeeded(): void {
    if (!this.#away || this.#closed) return;
    this.#away = false;
    this.#warn({ kind: 'cluster-restored', message: 'Redis answers again: host rate limits and breakers are shared again' });
  }

  /** Runs `command` with a deadline; a failure or timeout marks Redis away and rejects. */
  run<T>(command: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.#clock.setTimer(() => fail(new Error(`no answer within ${COMMAND_TIMEOUT_MS} ms`)), COMMAND_TIMEOUT_MS, false);
      const fail = (error: unknown) => {
        timer.cancel();
        this.failed(error);
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      command().then((value) => {
        timer.cancel();
        this.succeeded();
        resolve(value);
      }, fail);
    });
  }

  /** Takes `want` tokens, reserving up to `ahead` ahead (or gives back `-want`), from the bucket at `key`. */
  bucket(key: string, perMs: number, capacity: number, want: number, ahead = 0): Promise<{ granted: number; waitMs: number }> {
    const args = [key, String(perMs), String(capacity), String(want), String(ahead)];
    return this.run(async () => {
      let reply: unknown;
      try {
        reply = await this.client.evalsha(BUCKET_SHA, 1, ...args);
      } catch (error) {
        // A restarted or flushed Redis has forgotten the script: send it whole once.
        if (!reasonOf(error).startsWith('NOSCRIPT')) throw error;
        reply = await this.client.eval(BUCKET_SCRIPT, 1, ...args);
      }
      const [granted, waitMs, skewMs] = reply as [number, number, number | undefined];
      if (Number(skewMs) > 0) this.#skewed(key, Number(skewMs));
      return { granted: Number(granted), waitMs: Number(waitMs) };
    });
  }

  /** A bucket's stored time was ahead of the server's clock: said once per process, not per call. */
  #skewed(key: string, ms: number): void {
    if (this.#skewReported || this.#closed) return;
    this.#skewReported = true;
    this.#warn({
      kind: 'cluster-clock-skew',
      message: `Expected the shared rate bucket \`${key}\` in Redis to hold a time at or before the Redis server's clock, got one ${ms} ms ahead (a clock that stepped back, a failover to a replica whose clock is behind, or a write from elsewhere): it is counted from the server's now, and further such buckets are corrected without another warning`,
    });
  }

  key(kind: string, origin: string): string {
    return `${this.prefix}${kind}:${origin}`;
  }

  /**
   * Stops listening, and closes the client if the dispatcher made it: resolves within
   * {@link COMMAND_TIMEOUT_MS} whatever state the connection is in (never up, reconnecting, gone).
   * The error listener stays: ioredis may still report the cut connection's last error.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#settleFirst();
    this.client.off('ready', this.#onReady);
    this.client.off('close', this.#onClose);
    if (this.#owned) await closeConnection(this.client, this.#clock, COMMAND_TIMEOUT_MS);
  }
}
