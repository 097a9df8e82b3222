import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import { WebhookError, describe, invalidOptions, reasonOf } from '../core/errors.js';
import { readObject } from '../core/option-checks.js';

/** Several processes sharing each host's rate limit and open breakers through Redis. */
export interface ClusterOptions {
  /**
   * An ioredis client (`new Redis(…)`, left open by `close()`: it is yours), or ioredis
   * options (`{ host: '127.0.0.1', port: 6379 }`), from which the dispatcher makes its own
   * connections and closes them. ioredis is an optional peer dependency.
   */
  redis: Redis | RedisOptions;
  /**
   * Put before every key and channel name the dispatcher uses, so several applications can
   * share one Redis. 1 to 100 characters, no whitespace. @default 'wd:'
   */
  keyPrefix?: string;
}

export interface ResolvedCluster {
  /** The caller's client, or one made from their options. */
  client: Redis;
  /** Whether the dispatcher made `client` and so must close it. */
  owned: boolean;
  keyPrefix: string;
}

export const CLUSTER_KEYS = ['redis', 'keyPrefix'] as const;
export const CLUSTER_DEFAULTS = { keyPrefix: 'wd:' } as const;

/**
 * Forced on every connection the dispatcher makes. `disconnectTimeout: 0`: it is cut only
 * after `quit()` had its chance (see closeConnection), and ioredis would otherwise arm a
 * 2-second timer for a socket that is already gone (Redis unreachable), keeping the process
 * alive after `close()` resolved.
 */
export const OWN_CONNECTION = { lazyConnect: false, disconnectTimeout: 0 } as const;

/** What a client must have for the dispatcher to use it: checked by shape, since ioredis may be another copy. */
const CLIENT_METHODS = ['evalsha', 'eval', 'duplicate', 'set', 'del', 'publish', 'subscribe', 'on', 'quit'] as const;

function isClient(value: object): value is Redis {
  const o = value as Record<string, unknown>;
  return CLIENT_METHODS.every((m) => typeof o[m] === 'function') && typeof o.status === 'string';
}

/** ioredis, loaded only when the dispatcher must make a client itself. Throws `WD_INVALID_OPTIONS` when it is missing. */
function loadIoredis(): new (options: RedisOptions) => Redis {
  try {
    const mod = createRequire(import.meta.url)('ioredis') as { default?: unknown; Redis?: unknown };
    const ctor = (mod.default ?? mod.Redis ?? mod) as new (options: RedisOptions) => Redis;
    if (typeof ctor !== 'function') throw new TypeError('ioredis exports no client class');
    return ctor;
  } catch (error) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected the optional peer dependency \`ioredis\` (>= 5) to be installed for \`cluster.redis\` options, got ${reasonOf(error)}; install it or pass a client`, { cause: error });
  }
}

/**
 * Checks the `cluster` option and, for options rather than a client, makes the client.
 * `undefined` when there is no cluster. Throws `WD_INVALID_OPTIONS`.
 */
export function clusterOption(value: unknown): ResolvedCluster | undefined {
  if (value === undefined) return undefined;
  const o = readObject('cluster', value, CLUSTER_KEYS);
  const keyPrefix = o('keyPrefix') ?? CLUSTER_DEFAULTS.keyPrefix;
  if (typeof keyPrefix !== 'string' || keyPrefix.length < 1 || keyPrefix.length > 100 || /\s/.test(keyPrefix)) {
    throw invalidOptions('cluster.keyPrefix', 'a string of 1 to 100 characters without whitespace', keyPrefix);
  }
  const redis = o('redis');
  if (typeof redis !== 'object' || redis === null || Array.isArray(redis)) {
    // A string is likely a URL with a password in it: never echoed.
    const got = typeof redis === 'string' ? 'a string (pass `{ host, port, … }` options or a client, not a URL)' : describe(redis);
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`cluster.redis\` to be an ioredis client or ioredis options such as \`{ host, port }\`, got ${got}`);
  }
  if (isClient(redis)) return { client: redis, owned: false, keyPrefix };
  if (Object.getPrototypeOf(redis) !== Object.prototype && Object.getPrototypeOf(redis) !== null) {
    throw invalidOptions('cluster.redis', 'an ioredis client or a plain object of ioredis options', redis);
  }
  const Client = loadIoredis();
  // Commands fail at once while disconnected rather than queueing: the dispatcher then falls
  // back to local limits instead of holding sends. Reconnection is ioredis's own.
  const client = new Client({ enableOfflineQueue: false, maxRetriesPerRequest: 1, ...(redis as RedisOptions), ...OWN_CONNECTION });
  return { client, owned: true, keyPrefix };
}
