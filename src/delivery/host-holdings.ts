import { refusal, type WebhookError } from '../core/errors.js';
import { RetryHeap } from '../core/retry-heap.js';
import type { ResolvedHostOptions } from '../config/options.js';
import type { Message } from '../model/message.js';
import type { ActorContext } from './actor-context.js';
import { DiskBacklog } from './disk-backlog.js';
import { EndpointTurns, type Lane } from './endpoint-turns.js';
import { RoomWaiters } from './room-waiters.js';
import type { ActorHooks } from './actor-hooks.js';

/** What a host without retries shows: only read, never pushed to. */
const NO_RETRIES: Pick<RetryHeap<Message>, 'size' | 'peek'> = new RetryHeap<Message>();

/**
 * What one host's actor holds and how much room is left: the queue served in endpoint turns,
 * the retries waiting for their time, the backlog on disk, the messages being committed, and
 * the callers waiting for room. The actor decides when to send; this only counts and answers
 * "is there room" (for the host, and for one endpoint's share of it).
 *
 * Its helpers are `private` methods, not `#` ones: a class with `#` methods gives each instance
 * one more slot (its brand), 8 bytes that 10,000 hosts hold 10,000 times.
 */
export class HostHoldings {
  readonly queue: EndpointTurns;
  /** Retries waiting for their time; made at the first: most hosts never retry. */
  #retries: RetryHeap<Message> | undefined;
  /** With a durable store: the backlog past the in-memory window, on disk. */
  readonly disk: DiskBacklog | undefined;
  /** Messages the dispatcher is committing for this host: they count against the capacity. */
  reserved = 0;
  /** The refusal for a full queue, made once: during a flood it is thrown thousands of times a second. */
  #queueFull: WebhookError | undefined;
  /** Callers waiting for room, resolved when the queue (or their endpoint's share) has room again. */
  #waiters: RoomWaiters | undefined;

  /**
   * Its origin, clock and sink are the actor's, read through it rather than kept again: with
   * 10,000 hosts each field costs 80 KB.
   * @param actor woken when something new may be sent; asked whether it is closed without draining
   */
  constructor(
    private readonly host: ResolvedHostOptions,
    private readonly ctx: ActorContext,
    private readonly actor: Pick<ActorHooks, 'wake' | 'aborted'> & { readonly origin: string },
  ) {
    this.queue = new EndpointTurns(host.ordered);
    const { backlog } = ctx;
    if (backlog !== undefined) this.disk = new DiskBacklog(backlog, actor.origin, Math.max(64, 4 * host.concurrency, Math.min(1_024, host.queueCapacity >> 3)));
  }

  private get origin(): string {
    return this.actor.origin;
  }

  private get clock(): ActorContext['clock'] {
    return this.ctx.clock;
  }

  private get sink(): ActorContext['sink'] {
    return this.ctx.sink;
  }

  /** The most one endpoint may hold: its share of `queueCapacity`. */
  get endpointRoom(): number {
    return Math.max(1, Math.floor(this.host.queueCapacity * this.host.endpointQueueShare));
  }

  /** The retries waiting for their time, to look at (a shared empty heap before the first). */
  get retries(): Pick<RetryHeap<Message>, 'size' | 'peek'> {
    return this.#retries ?? NO_RETRIES;
  }

  /** Waits for its time (`dueAt`) in the retry heap. */
  retry(message: Message): void {
    (this.#retries ??= new RetryHeap<Message>()).push(message);
  }

  /** Is there room for one more message (retries count against the capacity)? */
  get hasRoom(): boolean {
    return this.queue.length + this.retries.size + (this.disk?.count ?? 0) + this.reserved < this.host.queueCapacity;
  }

  /** Is there room for one more message to `url`: room in the host's queue and in the endpoint's share? */
  hasRoomFor(url: string): boolean {
    return this.hasRoom && (this.host.ordered || this.queue.holds(url) < this.endpointRoom);
  }

  /**
   * Takes a message; call only when {@link hasRoom} (or it was reserved). An aborted actor ends
   * it at once. With a backlog, a message beyond the in-memory window stays on disk only.
   */
  accept(message: Message, reserved: boolean): void {
    if (reserved) this.reserved--;
    const lane = this.queue.lane(message.endpoint.url);
    if (!reserved) lane.held++;
    if (this.actor.aborted) {
      this.left(lane, this.clock.now());
      return this.sink.failed(message, 'closed');
    }
    if (this.disk !== undefined && this.disk.keeps(message, this.queue.length)) return;
    this.queue.push(message);
    this.actor.wake();
  }

  /** A message claimed from a shared store; call only when {@link hasRoom}. A retry scheduled elsewhere keeps its time. */
  adopt(message: Message): void {
    if (this.actor.aborted) return this.sink.released(message);
    this.queueOrWait(message, this.clock.now(), true);
    this.actor.wake();
  }

  /** Messages an earlier run left pending for this host: they are paged in from the store. */
  recover(count: number): void {
    this.disk?.recovered(count);
    this.pageIn();
  }

  /** Reads the next part of the backlog on disk into memory, if there is room in the window. */
  pageIn(): void {
    const disk = this.disk;
    if (disk === undefined || this.actor.aborted) return;
    disk.pageIn(this.queue.length, (messages, uncounted, vanished) => {
      if (this.actor.aborted) return;
      const now = this.clock.now();
      // Recovered ones count against their endpoint once their URL is known; a retry
      // scheduled by an earlier run keeps its time.
      for (const m of messages) this.queueOrWait(m, now, uncounted-- > 0);
      if (vanished !== undefined) {
        for (const [url, count] of vanished.byUrl) {
          const lane = this.queue.find(url);
          for (let i = 0; lane !== undefined && i < count && lane.held > 0; i++) this.queue.left(lane, now);
        }
        // Ended by someone else: not ours to report, and nothing to wait for.
        this.sink.releasedOnDisk(vanished.count);
        this.notifyRoom();
      }
      this.actor.wake();
    });
  }

  /** Into its endpoint's queue, or the retry heap when a retry is not due yet; `count`: it is new to its endpoint's share. */
  private queueOrWait(message: Message, now: number, count: boolean): void {
    if (count) this.queue.lane(message.endpoint.url).held++;
    if (message.attempts > 0 && message.dueAt > now) this.retry(message);
    else this.queue.push(message);
  }

  /** Retries due at `now` go back to their endpoint's queue; lanes parked until `now` take turns again. */
  due(now: number): void {
    const due: Message[] = [];
    const retries = this.#retries;
    if (retries !== undefined) while ((retries.peek()?.dueAt ?? Infinity) <= now) due.push(retries.pop()!);
    // Retries are older than anything queued: they go first in their endpoint's queue, earliest due at the very front.
    for (let i = due.length - 1; i >= 0; i--) this.queue.unshift(due[i]!);
    this.queue.unparkDue(now);
  }

  /** Queued in memory and on disk (not the retries). */
  get queued(): number {
    return this.queue.length + (this.disk?.count ?? 0);
  }

  /** Nothing held, being committed or kept for an endpoint at `now`. */
  empty(now: number): boolean {
    return this.queue.length === 0 && this.queue.settled(now) && (this.disk?.count ?? 0) === 0 && this.reserved === 0 && this.retries.size === 0;
  }

  reserve(url: string): void {
    this.reserved++;
    this.queue.lane(url).held++;
  }

  unreserve(url: string, now: number): void {
    this.reserved--;
    const lane = this.queue.find(url);
    if (lane !== undefined) this.queue.left(lane, now);
    this.notifyRoom();
  }

  left(lane: Lane, now: number): void {
    this.queue.left(lane, now);
  }

  leftWith(message: Message, now: number): void {
    this.queue.leftWith(message, now);
  }

  /** `WD_QUEUE_FULL` for the host, or for the endpoint `url` when the host has room but the endpoint holds its share. */
  queueFullError(url?: string): WebhookError {
    const lane = url === undefined || !this.hasRoom ? undefined : this.queue.find(url);
    if (lane !== undefined) {
      return (lane.full ??= Object.freeze(
        refusal('WD_QUEUE_FULL', `Expected room in the queue for ${url}, got its full share (\`endpointQueueShare\` ${this.host.endpointQueueShare} of \`queueCapacity\` ${this.host.queueCapacity}: ${this.endpointRoom} messages)`),
      ));
    }
    return (this.#queueFull ??= Object.freeze(refusal('WD_QUEUE_FULL', `Expected room in the queue for ${this.origin}, got a full queue (\`queueCapacity\` ${this.host.queueCapacity})`)));
  }

  /** Room for the host (`url` undefined) or for `url`'s share: what a waiter waits for. */
  roomFor(url: string | undefined): boolean {
    return url === undefined ? this.hasRoom : this.hasRoomFor(url);
  }

  /** Resolves once there is room (for `url`'s share when given), at once if there is now or `aborted`. */
  waitForRoom(url: string | undefined, aborted: boolean): Promise<void> {
    if (this.roomFor(url) || aborted) return Promise.resolve();
    return (this.#waiters ??= new RoomWaiters()).wait(url);
  }

  /** Resolves the waiters that have room now; every waiter when `all` (the actor is aborted). */
  notifyRoom(all = false): void {
    const waiters = this.#waiters;
    if (waiters === undefined) return;
    if (all) waiters.notify(this, true);
    else if (waiters.any && this.hasRoom) waiters.notify(this);
  }

  /** Removes the queued and waiting messages `pick` picks. */
  removeWhere(pick: (message: Message) => boolean): Message[] {
    return [...this.queue.removeWhere(pick), ...(this.#retries?.removeWhere(pick) ?? [])];
  }

  /** Every queued and waiting message, removed. */
  drain(): Message[] {
    return [...this.queue.drain(), ...(this.#retries?.drain() ?? [])];
  }
}
