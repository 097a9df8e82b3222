import type { LookupFunction } from '../security/address-policy.js';
import type { Clock } from '../core/clock.js';
import { WebhookError, describe, guarded } from '../core/errors.js';
import type { TransportFactory } from '../transport/transport.js';

/** Seams for tests and embedding that are not part of everyday configuration. */
export interface DispatcherInternals {
  /** Resolves host names; its answers are still checked against the address policy. @default dns.lookup */
  lookup?: LookupFunction;
  /** Time, timers and randomness for everything the dispatcher does. @default the system clock */
  clock?: Clock;
  /** Makes each origin's transport, in place of undici (a recorder in an app's tests). @default undici */
  transport?: TransportFactory;
}

export function readInternals(internals: unknown): DispatcherInternals {
  if (internals === undefined) return {};
  return guarded('WD_INVALID_OPTIONS', 'the second constructor argument', () => {
    if (typeof internals !== 'object' || internals === null) throw new WebhookError('WD_INVALID_OPTIONS', `Expected the second constructor argument to be an object, got ${describe(internals)}`);
    const own = (key: string) => (Object.hasOwn(internals, key) ? (internals as Record<string, unknown>)[key] : undefined);
    const lookup = own('lookup');
    const clock = own('clock') as Partial<Clock> | undefined;
    const transport = own('transport');
    if (lookup !== undefined && typeof lookup !== 'function') throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`lookup\` to be a dns.lookup-shaped function, got ${describe(lookup)}`);
    if (transport !== undefined && typeof transport !== 'function') throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`transport\` to be a function (origin, connections) => Transport, got ${describe(transport)}`);
    if (clock !== undefined && (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.setTimer !== 'function' || typeof clock.random !== 'function')) {
      throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`clock\` to be an object with now(), setTimer() and random(), got ${describe(clock)}`);
    }
    return { lookup: lookup as LookupFunction | undefined, clock: clock as Clock | undefined, transport: transport as TransportFactory | undefined };
  });
}

