import type { ActorContext } from './actor-context.js';
import { HostActor } from './host-actor.js';
import { optionsForOrigin } from '../config/resolve-options.js';
import type { Timer } from '../core/clock.js';
import type { TransportFactory } from '../transport/transport.js';

/**
 * Origin → host actor, like undici's `Agent` maps origin → pool: actors are created on first
 * use and dropped (connections, limiter and all) once idle for `idleTimeoutMs`. One sweep
 * timer serves every actor, and it runs only while there are actors.
 */
export class Router {
  readonly #actors = new Map<string, HostActor>();
  #sweep: Timer | undefined;

  constructor(
    private readonly ctx: ActorContext,
    private readonly transport: TransportFactory,
  ) {}

  get size(): number {
    return this.#actors.size;
  }

  actors(): IterableIterator<HostActor> {
    return this.#actors.values();
  }

  /** The actor for `origin` if there is one. */
  get(origin: string): HostActor | undefined {
    return this.#actors.get(origin);
  }

  /**
   * The actor for `origin`, created if there is none; `undefined` when making one would pass
   * `maxHosts` even after idle actors are dropped (unless `force`: recovered messages have a
   * host whatever the cap).
   */
  actorFor(origin: string, force = false): HostActor | undefined {
    let actor = this.#actors.get(origin);
    if (actor === undefined) {
      const { options } = this.ctx;
      if (!force && this.#actors.size >= options.maxHosts && (this.evictIdle() === 0 || this.#actors.size >= options.maxHosts)) return undefined;
      const host = optionsForOrigin(options, origin);
      actor = new HostActor(origin, host, this.transport(origin, host.concurrency), this.ctx);
      this.#actors.set(origin, actor);
      this.#startSweep();
    }
    return actor;
  }

  /** Drops idle actors. Exposed so tests need not wait for the sweep timer. */
  evictIdle(): number {
    const now = this.ctx.clock.now();
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
    // Idle actors alone must not keep the process alive.
    this.#sweep = this.ctx.clock.setTimer(this.#onSweep, every, false);
  }

  readonly #onSweep = (): void => {
    this.#sweep = undefined;
    this.evictIdle();
    if (this.#actors.size > 0) this.#startSweep();
  };

  #stopSweep(): void {
    this.#sweep?.cancel();
    this.#sweep = undefined;
  }
}
