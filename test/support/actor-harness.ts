import { AttemptTelemetry } from '../../src/telemetry/attempt-telemetry.js';
import { AddressPolicy } from '../../src/security/address-policy.js';
import { EndpointResolver } from '../../src/model/endpoint.js';
import { prepareEvent } from '../../src/model/envelope.js';
import type { ActorSink } from '../../src/delivery/actor-context.js';
import { HostActor } from '../../src/delivery/host-actor.js';
import { uuidv7 } from '../../src/core/ids.js';
import { LocalRateLimiter } from '../../src/limits/local-rate-limiter.js';
import type { Message } from '../../src/model/message.js';
import { type DispatcherOptions } from '../../src/config/options.js';
import { optionsForOrigin, resolveOptions } from '../../src/config/resolve-options.js';
import type { FailureReason } from '../../src/model/types.js';
import { ManualClock } from './clock.js';
import { FakeTransport } from './fake-transport.js';

export const ORIGIN = 'http://127.0.0.1:9';
const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

/** What the actor reported, in order. */
export type Report =
  | { kind: 'delivered'; id: string; attempts: number }
  | { kind: 'failed'; id: string; reason: FailureReason; attempts: number }
  | { kind: 'retrying'; id: string; delayMs: number }
  | { kind: 'breaker'; state: string; url?: string };

/**
 * One HostActor on a manual clock and a fake transport: nothing touches the network, and time
 * moves only with `clock.advance`.
 */
export function actorHarness(options: DispatcherOptions = {}, randoms: number[] = [], listens = false) {
  const clock = new ManualClock(1_800_000_000_000, randoms);
  const transport = new FakeTransport(listens);
  const resolved = resolveOptions({ allowPrivateNetworks: true, ...options });
  const reports: Report[] = [];
  const sink: ActorSink = {
    delivered: (m) => reports.push({ kind: 'delivered', id: m.id, attempts: m.attempts }),
    failed: (m, reason) => reports.push({ kind: 'failed', id: m.id, reason, attempts: m.attempts }),
    retrying: (m, delayMs) => reports.push({ kind: 'retrying', id: m.id, delayMs }),
    attempted: () => {},
    released: () => {},
    releasedOnDisk: () => {},
    gone: () => {},
    breaker: (_origin, state, url) => reports.push(url === undefined ? { kind: 'breaker', state } : { kind: 'breaker', state, url }),
  };
  const actor = new HostActor(ORIGIN, optionsForOrigin(resolved, ORIGIN), transport, {
    options: resolved,
    backlog: undefined,
    sink,
    clock,
    telemetry: new AttemptTelemetry(undefined),
    rateLimiter: (limit, now) => new LocalRateLimiter(limit, now),
  });
  const endpoint = new EndpointResolver(resolved.signature, new AddressPolicy(true, []), false).resolve({ url: `${ORIGIN}/hook`, secret });
  let n = 0;
  /** Accepts a new message (data: its sequence number) and returns it. */
  const send = (overrides: { attempts?: number; ttlMs?: number } = {}): Message => {
    const now = clock.now();
    const message: Message = {
      id: uuidv7(now),
      endpoint,
      event: prepareEvent({ type: 't', data: n++ }, resolved.maxPayloadBytes, now),
      acceptedAt: now,
      maxAttempts: overrides.attempts ?? resolved.retry.attempts,
      expiresAt: now + (overrides.ttlMs ?? resolved.ttlMs),
      idempotencyKey: undefined,
      attempts: 0,
      dueAt: 0,
      trace: undefined,
      last: undefined,
    };
    actor.accept(message);
    return message;
  };
  /** Lets answered requests' microtasks run. */
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  /** The `data` of each request sent so far, in order. */
  const sent = () => transport.requests.map((r) => (JSON.parse(r.body) as { data: number }).data);
  return { actor, clock, transport, reports, send, settle, sent };
}
