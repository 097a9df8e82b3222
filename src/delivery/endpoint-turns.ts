import { RetryHeap } from '../core/retry-heap.js';
import type { Message } from '../model/message.js';
import { Lane } from './lane.js';

export { Lane };

/**
 * A host's queue, served one endpoint at a time in turn (round-robin): a backlog of thousands
 * on one URL delays a message to another URL of the host by at most one turn. With one URL it
 * is a queue plus one comparison per message. An ordered host has one lane for all
 * (key `''`), so acceptance order holds.
 *
 * Its helpers are `private` methods, not `#` ones: a class with `#` methods gives each instance
 * one more slot (its brand), 8 bytes that 10,000 hosts hold 10,000 times.
 */
export class EndpointTurns {
  /**
   * Every lane, when there are two or more. A host's one lane (the usual case, and always on
   * an ordered host) is in {@link #only}, and no map is made for it.
   */
  #lanes: Map<string, Lane> | undefined;
  #only: Lane | undefined;
  /**
   * Lanes with queued messages, not parked, in turn order: the head is served next. A list
   * linked through the lanes themselves ({@link Lane.ringNext}): no queue object per host.
   */
  #head: Lane | undefined;
  #tail: Lane | undefined;
  /** Parked lanes by when they are due; made at the first lane parked until a time. */
  #parked: RetryHeap<Lane> | undefined;
  /** The lane looked up last: a host's messages mostly come in runs to one URL. */
  #last: Lane | undefined;
  #length = 0;
  #parkedCount = 0;

  constructor(private readonly ordered: boolean) {}

  /** Messages queued in memory, across lanes (parked ones included). */
  get length(): number {
    return this.#length;
  }

  /** Endpoints with state: something queued, held, in flight, or a limiter or breaker still settling. */
  get size(): number {
    return this.#lanes !== undefined ? this.#lanes.size : this.#only !== undefined ? 1 : 0;
  }

  /** Lanes out of the turns for now (an open breaker, or waiting for a permit). */
  get parked(): number {
    return this.#parkedCount;
  }

  lanes(): Iterable<Lane> {
    if (this.#lanes !== undefined) return this.#lanes.values();
    return this.#only === undefined ? [] : [this.#only];
  }

  /** The lane of `url`, made if there is none. */
  lane(url: string): Lane {
    const key = this.ordered ? '' : url;
    const last = this.#last;
    if (last !== undefined && last.url === key) return last;
    let lane = this.find(key);
    if (lane === undefined) {
      lane = new Lane(key);
      const only = this.#only;
      if (this.#lanes !== undefined) this.#lanes.set(key, lane);
      else if (only === undefined) this.#only = lane;
      else {
        this.#lanes = new Map([[only.url, only], [key, lane]]);
        this.#only = undefined;
      }
    }
    return (this.#last = lane);
  }

  /** The lane of `url` if it has one. */
  find(url: string): Lane | undefined {
    const key = this.ordered ? '' : url;
    if (this.#lanes !== undefined) return this.#lanes.get(key);
    return this.#only?.url === key ? this.#only : undefined;
  }

  push(message: Message): void {
    const lane = this.lane(message.endpoint.url);
    lane.queue.push(message);
    this.#length++;
    this.enter(lane);
  }

  /** Back at the front of its endpoint's queue (a retry that came due). */
  unshift(message: Message): void {
    const lane = this.lane(message.endpoint.url);
    lane.queue.unshift(message);
    this.#length++;
    this.enter(lane);
  }

  /** The lane whose turn it is, if any lane has a turn to take. */
  current(): Lane | undefined {
    return this.#head;
  }

  /** Takes the head of the current lane's queue and passes the turn to the next lane. */
  take(): Message {
    const lane = this.ringShift();
    const message = lane.queue.shift()!;
    this.#length--;
    if (lane.queue.length > 0) this.ringPush(lane);
    return message;
  }

  /** Drops the head of the current lane (expired) without passing the turn. */
  dropHead(): Message {
    const lane = this.#head!;
    const message = lane.queue.shift()!;
    this.#length--;
    if (lane.queue.length === 0) this.ringShift();
    return message;
  }

  /** Takes the current lane out of the turns until `until` (or until {@link unpark} when `Infinity`). */
  park(until: number, why: 'breaker' | 'rate'): void {
    const lane = this.ringShift();
    this.#parkedCount++;
    lane.dueAt = until;
    lane.why = why;
    if (until !== Infinity) (this.#parked ??= new RetryHeap<Lane>()).push(lane);
  }

  /** When the earliest parked lane may take turns again. */
  get nextUnpark(): number {
    const heap = this.#parked;
    if (heap === undefined) return Infinity;
    for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
      if (top.parked && top.dueAt !== Infinity) return top.dueAt;
      heap.pop();
    }
    return Infinity;
  }

  /** Lanes parked until `now` or before take turns again. */
  unparkDue(now: number): void {
    const heap = this.#parked;
    if (heap === undefined) return;
    for (let top = heap.peek(); top !== undefined && top.dueAt <= now; top = heap.peek()) {
      heap.pop();
      // A stale entry: the lane was unparked (and maybe parked again, with its own entry) since.
      if (top.parked && top.dueAt <= now) this.unpark(top);
    }
  }

  unpark(lane: Lane): void {
    if (!lane.parked) return;
    this.#parkedCount--;
    lane.why = undefined;
    this.enter(lane);
  }

  /** Removes every queued message `drop` picks, keeping each lane's order; returns them. */
  removeWhere(drop: (message: Message) => boolean): Message[] {
    const removed: Message[] = [];
    for (const lane of this.lanes()) {
      if (lane.queue.length === 0) continue;
      for (const m of lane.queue.removeWhere(drop)) removed.push(m);
    }
    this.#length -= removed.length;
    if (removed.length > 0) this.rebuildRing();
    return removed;
  }

  /** Empties every queue; returns the messages. */
  drain(): Message[] {
    const all: Message[] = [];
    for (const lane of this.lanes()) for (const m of lane.queue.drain()) all.push(m);
    this.#length = 0;
    this.rebuildRing();
    return all;
  }

  /** Messages `url` holds (queued, waiting, on disk, being committed). */
  holds(url: string): number {
    return this.find(url)?.held ?? 0;
  }

  /** One message of `lane` is no longer held (sent, ended or handed back): the lane goes once it holds nothing. */
  left(lane: Lane, now: number): void {
    lane.held--;
    if (lane.held === 0) this.release(lane, now);
  }

  /** {@link left} for a message whose lane is found by its URL. */
  leftWith(message: Message, now: number): void {
    const lane = this.find(message.endpoint.url);
    if (lane !== undefined) this.left(lane, now);
  }

  /** No endpoint keeps state (those kept only for a settling limiter are let go first). */
  settled(now: number): boolean {
    if (this.size > 0) this.sweep(now);
    return this.size === 0;
  }

  /** Forgets `lane` when it holds nothing and nothing of it needs keeping (its limiter settled). */
  release(lane: Lane, now: number): void {
    if (lane.held > 0 || lane.inFlight > 0 || lane.queue.length > 0) return;
    if (lane.limiter !== undefined && !lane.limiter.settled(now)) return;
    // An open breaker does not keep a lane that holds nothing, as it does not keep an idle
    // actor: with nothing waiting there is nobody for it to protect.
    if (lane.parked) {
      lane.why = undefined;
      this.#parkedCount--;
    }
    if (this.#only === lane) this.#only = undefined;
    else if (this.#lanes !== undefined && this.#lanes.get(lane.url) === lane) {
      this.#lanes.delete(lane.url);
      // Back to no map once every lane has gone: a host that had many endpoints and went quiet keeps none.
      if (this.#lanes.size === 0) this.#lanes = undefined;
    }
    if (this.#last === lane) this.#last = undefined;
    void lane.limiter?.close();
  }

  /** Forgets every lane {@link release} would: for lanes kept only for a settling limiter. */
  sweep(now: number): void {
    const only = this.#only;
    if (only !== undefined) {
      if (only.held === 0 && only.inFlight === 0) this.release(only, now);
      return;
    }
    // Deleting from a map while iterating it is safe; the iterator keeps the map if it is let go.
    for (const lane of this.#lanes?.values() ?? []) if (lane.held === 0 && lane.inFlight === 0) this.release(lane, now);
  }

  private enter(lane: Lane): void {
    // A parked lane whose messages were cancelled meanwhile has no turn to take.
    if (lane.inRing || lane.parked || lane.queue.length === 0) return;
    this.ringPush(lane);
  }

  /** Joins the ring at its tail. */
  private ringPush(lane: Lane): void {
    lane.ringNext = null;
    if (this.#tail === undefined) this.#head = lane;
    else this.#tail.ringNext = lane;
    this.#tail = lane;
  }

  /** Leaves the ring from its head; call only when the ring has a lane. */
  private ringShift(): Lane {
    const lane = this.#head!;
    const next = lane.ringNext ?? undefined;
    this.#head = next;
    if (next === undefined) this.#tail = undefined;
    lane.ringNext = undefined;
    return lane;
  }

  private rebuildRing(): void {
    const ring: Lane[] = [];
    while (this.#head !== undefined) ring.push(this.ringShift());
    for (const lane of ring) if (lane.queue.length > 0) this.enter(lane);
  }
}
