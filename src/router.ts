import type { AddressPolicy } from './address-policy.js';
import { HostActor, type ActorContext } from './host-actor.js';
import { optionsForOrigin } from './options.js';
import { Transport, clientOptions, type TransportOptions } from './transport.js';
import type { Client } from 'undici';

/**
 * Origin → host actor, like undici's `Agent` maps origin → pool: actors are created on first
 * use and dropped (connections, limiter and all) once idle for `idleTimeoutMs`. One sweep
 * timer serves every actor, and it runs only while there are actors.
 */
export class Router {
  readonly #actors = new Map<string, HostActor>();
  #sweep: NodeJS.Timeout | undefined;
  readonly #transport: TransportOptions;
  readonly #client: Client.Options;

  constructor(
    private readonly ctx: ActorContext,
    policy: AddressPolicy,
  ) {
    const { timeoutMs, responseBodyBytes } = ctx.options;
    this.#transport = { timeoutMs, responseBodyBytes, lookup: policy.lookup };
    this.#client = clientOptions(this.#transport);
  }

  get size(): number {
    return this.#actors.size;
  }

  actors(): IterableIterator<HostActor> {
    return this.#actors.values();
  }

  /** The actor for `origin`, created if there is none. */
  actorFor(origin: string): HostActor {
    let actor = this.#actors.get(origin);
    if (actor === undefined) {
      const { options } = this.ctx;
      const host = optionsForOrigin(options, origin);
      const transport = new Transport(origin, host.concurrency, this.#transport, this.#client);
      actor = new HostActor(origin, host, transport, this.ctx);
      this.#actors.set(origin, actor);
      this.#startSweep();
    }
    return actor;
  }

  /** Drops idle actors. Exposed so tests need not wait for the sweep timer. */
  evictIdle(): number {
    const now = this.ctx.now();
    const idleMs = this.ctx.options.idleTimeoutMs;
    let evicted = 0;
    for (const [origin, actor] of this.#actors) {
      if (!actor.evictable(now, idleMs)) continue;
      this.#actors.delete(origin);
      actor.dispose().catch(() => {});
      evicted++;
    }
    if (this.#actors.size === 0) this.#stopSweep();
    return evicted;
  }

  /** Stops the sweep and releases every actor. */
  async dispose(): Promise<void> {
    this.#stopSweep();
    const actors = [...this.#actors.values()];
    this.#actors.clear();
    await Promise.all(actors.map((a) => a.dispose()));
  }

  #startSweep(): void {
    if (this.#sweep !== undefined) return;
    const every = Math.max(250, Math.min(this.ctx.options.idleTimeoutMs / 2, 30_000));
    this.#sweep = setInterval(() => this.evictIdle(), every);
    // Idle actors alone must not keep the process alive.
    this.#sweep.unref();
  }

  #stopSweep(): void {
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#sweep = undefined;
  }
}
