/**
 * A typed listener registry whose emitting side stays private to its owner.
 *
 * Why not an EventEmitter: an emitter's `emit` is public, so any holder of the dispatcher
 * could forge a `delivered`; and every emitter stops at the first listener that throws,
 * while one subscriber's bug must never keep another from hearing a terminal event. The
 * owner holds the {@link EventStream} and hands users only {@link Subscribable}.
 */

import { WebhookError, describe } from '../core/errors.js';

// Listener signatures vary per event; `never` keeps the map a map of one-argument functions.
type Listeners<Events> = { [E in keyof Events]: (payload: never) => void };

/** What a subscriber sees: add, remove and count listeners; nothing to emit with. */
export interface Subscribable<Events extends Listeners<Events>> {
  on<E extends keyof Events>(name: E, listener: Events[E]): this;
  once<E extends keyof Events>(name: E, listener: Events[E]): this;
  off<E extends keyof Events>(name: E, listener?: Events[E]): this;
  listenerCount(name: keyof Events): number;
}

interface Entry {
  readonly fn: (payload: unknown) => void;
  readonly once: boolean;
}

/** Listener lists are replaced, never changed in place: an emit in progress keeps its snapshot. */
export class EventStream<Events extends Listeners<Events>> {
  readonly #lists = new Map<keyof Events, readonly Entry[]>();

  constructor(
    /** Called with whatever a listener throws; it must not throw itself. */
    private readonly onListenerError: (error: unknown) => void,
  ) {}

  add(name: keyof Events, listener: unknown, once: boolean): void {
    if (typeof listener !== 'function') {
      throw new WebhookError('WD_INVALID_OPTIONS', `Expected the listener for \`${String(name)}\` to be a function, got ${describe(listener)}`);
    }
    const list = this.#lists.get(name) ?? [];
    this.#lists.set(name, [...list, { fn: listener as Entry['fn'], once }]);
  }

  /** Removes the most recently added registration of `listener`, or every listener of `name`. */
  remove(name: keyof Events, listener?: unknown): void {
    const list = this.#lists.get(name);
    if (list === undefined) return;
    if (listener === undefined) {
      this.#lists.delete(name);
      return;
    }
    const i = list.map((e) => e.fn).lastIndexOf(listener as Entry['fn']);
    if (i < 0) return;
    const next = list.filter((_, j) => j !== i);
    if (next.length === 0) this.#lists.delete(name);
    else this.#lists.set(name, next);
  }

  count(name: keyof Events): number {
    return this.#lists.get(name)?.length ?? 0;
  }

  /** True when someone listens: callers skip building a payload nobody reads. */
  has(name: keyof Events): boolean {
    return this.#lists.has(name);
  }

  /**
   * Calls every listener of `name` with `payload`, each in its own try, with `this` set to
   * `thisArg`. A `once` listener is removed before it runs, so an emit from inside it does not
   * reach it again. What a listener throws goes to `onError` (by default the constructor's).
   */
  emit<E extends keyof Events>(name: E, payload: Parameters<Events[E]>[0], thisArg: unknown, onError = this.onListenerError): void {
    const list = this.#lists.get(name);
    if (list === undefined) return;
    for (const entry of list) {
      if (entry.once) this.#removeEntry(name, entry);
      try {
        entry.fn.call(thisArg, payload);
      } catch (error) {
        onError(error);
      }
    }
  }

  #removeEntry(name: keyof Events, entry: Entry): void {
    const list = this.#lists.get(name);
    if (list === undefined) return;
    const next = list.filter((e) => e !== entry);
    if (next.length === 0) this.#lists.delete(name);
    else this.#lists.set(name, next);
  }
}
