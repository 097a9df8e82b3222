/**
 * Shared tools of the red-team suite: a catalogue of hostile values, a recorder of every event
 * a dispatcher emits, and seams that prove nothing was resolved, connected or sent.
 */
import { expect } from 'vitest';
import type { LookupFunction } from '../../src/security/address-policy.js';
import { isWebhookError, type Dispatcher, type TransportFactory, type WebhookError } from '../../src/index.js';

export const CODES: ReadonlySet<string> = new Set([
  'WD_INVALID_OPTIONS',
  'WD_INVALID_ENDPOINT',
  'WD_INVALID_EVENT',
  'WD_PAYLOAD_TOO_LARGE',
  'WD_QUEUE_FULL',
  'WD_BLOCKED_DESTINATION',
  'WD_CLOSED',
  'WD_VERIFICATION_FAILED',
]);

/** What a hostile getter or trap throws, so a test can find it again as `cause`. */
export class Sentinel extends Error {
  override readonly name = 'Sentinel';
}

export interface Hostile {
  readonly name: string;
  readonly value: unknown;
  /** The error the value throws when read, and whether it has thrown yet. */
  readonly sentinel?: { error: Sentinel; thrown: boolean };
}

function trapping(name: string, target: object, traps: (keyof ProxyHandler<object>)[]): Hostile {
  const sentinel = { error: new Sentinel(`${name} threw`), thrown: false };
  const handler: ProxyHandler<object> = {};
  for (const trap of traps) {
    (handler as Record<string, unknown>)[trap] = () => {
      sentinel.thrown = true;
      throw sentinel.error;
    };
  }
  return { name, value: new Proxy(target, handler), sentinel };
}

function getter(name: string, keys: string[]): Hostile {
  const sentinel = { error: new Sentinel(`${name} threw`), thrown: false };
  const value: Record<string, unknown> = {};
  for (const key of keys) {
    Object.defineProperty(value, key, {
      enumerable: true,
      get() {
        sentinel.thrown = true;
        throw sentinel.error;
      },
    });
  }
  return { name, value, sentinel };
}

function revoked(target: object): unknown {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

const ALL_TRAPS: (keyof ProxyHandler<object>)[] = ['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'apply', 'construct', 'defineProperty', 'set'];

/** Every key a reader of options, endpoints, events or headers might look up. */
const READ_KEYS = ['url', 'secret', 'headers', 'signature', 'type', 'data', 'id', 'timestamp', 'attempts', 'ttlMs', 'idempotencyKey', 'origin', 'drain', 'timeoutMs', 'retry', 'concurrency', 'toJSON', 'lookup', 'clock', 'transport'];

/**
 * A fresh catalogue (Proxies are revoked and sentinels reset per call). Every value is one a
 * caller could hand the library by mistake or on purpose.
 */
export function hostileValues(): Hostile[] {
  const cycle: Record<string, unknown> = { name: 'cycle' };
  cycle.self = cycle;
  const throwingToJSON = getter('a toJSON that throws', []);
  (throwingToJSON.value as Record<string, unknown>).toJSON = () => {
    throwingToJSON.sentinel!.thrown = true;
    throw throwingToJSON.sentinel!.error;
  };
  return [
    getter('throwing getters on every key', READ_KEYS),
    throwingToJSON,
    trapping('a Proxy whose every trap throws', {}, ALL_TRAPS),
    trapping('an array Proxy whose every trap throws', [], ALL_TRAPS),
    trapping('a Proxy whose get throws', {}, ['get']),
    trapping('a Proxy whose ownKeys throws', {}, ['ownKeys']),
    trapping('a Proxy whose getPrototypeOf throws', {}, ['getPrototypeOf']),
    trapping('a Proxy whose has throws', {}, ['has']),
    { name: 'a revoked Proxy', value: revoked({}) },
    { name: 'a revoked array Proxy', value: revoked([]) },
    { name: 'a revoked function Proxy', value: revoked(() => {}) },
    { name: 'a cycle', value: cycle },
    { name: 'a BigInt', value: 10n },
    { name: 'a BigInt of 5,001 digits', value: 10n ** 5000n },
    { name: 'a Uint8Array', value: new Uint8Array([1, 2, 3]) },
    { name: 'a BigInt64Array', value: new BigInt64Array(2) },
    { name: 'a Date', value: new Date(0) },
    { name: 'an invalid Date', value: new Date(Number.NaN) },
    { name: 'a lone surrogate', value: '\uD800' },
    { name: 'a string of lone surrogates', value: '\uDC00x\uD800' },
    { name: 'NaN', value: Number.NaN },
    { name: 'Infinity', value: Infinity },
    { name: '-Infinity', value: -Infinity },
    { name: '-0', value: -0 },
    { name: '-1', value: -1 },
    { name: 'a fraction', value: 0.5 },
    { name: 'Number.MAX_VALUE', value: Number.MAX_VALUE },
    { name: 'a boxed number', value: Object(5) },
    { name: 'a 1 MiB string', value: 'x'.repeat(1024 * 1024) },
    { name: 'an object with a 1 MiB key', value: { ['k'.repeat(1024 * 1024)]: 1 } },
    { name: 'a symbol', value: Symbol('s') },
    { name: 'a function', value: () => 1 },
    { name: 'null', value: null },
    { name: 'a Map', value: new Map([['a', 1]]) },
    { name: 'a null-prototype object', value: Object.create(null) as object },
    { name: 'an object with __proto__ and constructor own keys', value: JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as object },
    { name: 'an Error', value: new Error('an error as input') },
  ];
}

/** The thrown value of `fn`, or `undefined` when it returned. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

/**
 * Checks a refusal against the contract: a `WebhookError` with a known code and a message of
 * bounded length that says what was expected (or names the unknown option); when the input
 * threw while being read, that error is the `cause`.
 */
export function expectRefusal(error: unknown, hostile?: Hostile, code?: string): asserts error is WebhookError {
  expect(isWebhookError(error), `a WebhookError, got ${String(error)}`).toBe(true);
  const e = error as WebhookError;
  expect(CODES.has(e.code), e.code).toBe(true);
  if (code !== undefined) expect(e.code).toBe(code);
  expect(e.message).toMatch(/Expected|Unknown|Refused|verification failed/);
  expect(e.message.length, e.message.slice(0, 200)).toBeLessThan(2048);
  if (hostile?.sentinel?.thrown) expect(e.cause, `cause of: ${e.message}`).toBe(hostile.sentinel.error);
}

/** Every event of a dispatcher, in order, with its message id when it has one. */
export function recordEvents(d: Dispatcher): { name: string; messageId?: string }[] {
  const seen: { name: string; messageId?: string }[] = [];
  for (const name of ['delivered', 'failed', 'attempt', 'retry', 'gone', 'breaker', 'error'] as const) {
    d.on(name, ((payload: { messageId?: string }) => seen.push({ name, messageId: payload?.messageId })) as never);
  }
  return seen;
}

/** A resolver that records each name asked and answers from `answer` (or fails: nothing should ask). */
export function recordingLookup(answer?: (hostname: string, call: number) => string | string[]): LookupFunction & { calls: string[] } {
  const calls: string[] = [];
  const lookup: LookupFunction = (hostname, options, callback) => {
    calls.push(hostname);
    if (answer === undefined) return callback(Object.assign(new Error(`unexpected lookup of ${hostname}`), { code: 'ENOTFOUND' }), []);
    const given = answer(hostname, calls.length);
    const list = (Array.isArray(given) ? given : [given]).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    if (options.all) callback(null, list);
    else callback(null, list[0]!.address, list[0]!.family);
  };
  return Object.assign(lookup, { calls });
}

/** A transport factory that records every origin it was made for and every request; answers 200. */
export function recordingTransport(): TransportFactory & { origins: string[]; sent: string[] } {
  const origins: string[] = [];
  const sent: string[] = [];
  const factory: TransportFactory = (origin) => {
    origins.push(origin);
    return {
      send(path, _headers, _body, onDone) {
        sent.push(origin + path);
        queueMicrotask(() => onDone({ status: 200, retryAfter: undefined, body: undefined, latencyMs: 0 }));
      },
      close: async () => {},
      destroy: async () => {},
    };
  };
  return Object.assign(factory, { origins, sent });
}

export const gc = (): void => (globalThis as { gc?: () => void }).gc!();
