import type { Clock, Timer } from '../core/clock.js';
import type { WebhookError } from '../core/errors.js';
import { storeUnavailable } from './store-errors.js';
import type { MessageRecord } from '../model/message-record.js';
import type { ClaimedRecord, SharedStore } from './shared-store.js';
import { HeldLeases, type LostMessage } from './held-leases.js';

/** Messages claimed per round trip. */
export const CLAIM_BATCH = 100;

/** What the dispatcher does with what is claimed. */
export interface ClaimTarget {
  /** Messages this process can take now (its actors' room, within its memory bound). */
  room(): number;
  /** Hands claimed messages to their host actors; returns the ids it had no room for. */
  adopt(records: readonly MessageRecord[]): string[];
}

/** What the dispatcher does when this process may have lost messages to another. */
export interface LeaseHolder {
  /** Drops these messages from their actors with no event: another process owns them now. */
  forget(lost: readonly LostMessage[]): void;
  /** This process's leases may have lapsed (it stalled): start no attempt until {@link resume}. */
  hold(): void;
  /** A renewal said what this process still holds (the rest forgotten): attempts may start again. */
  resume(): void;
}

/**
 * A renewal older than this share of `leaseMs` may have lapsed by the time an attempt starts:
 * renewals run every third of a lease, so only a stalled (or cut off) process gets there.
 */
const STALE_SHARE = 2 / 3;

/**
 * A dispatcher's leases on a shared store: renews everything it holds every `leaseMs / 3`,
 * claims due work in batches while its actors have room (on each tick, on `NOTIFY`, and when
 * nudged), gives back what it could not take, and releases everything on close. One claim
 * runs at a time; a wake-up during one runs another after it.
 *
 * It also knows what this process holds ({@link held}, the fencing tokens), and finds out what
 * it lost: a renewal lists the messages the process still holds, and the others, taken by
 * another process while this one stalled, are dropped from the actors before their next
 * attempt. Past two thirds of a lease without a renewal, attempts are held until one answers.
 */
export class LeaseKeeper {
  #timer: Timer | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #subscribing = false;
  #claiming: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  /** Claiming is off (a closing dispatcher): renewals go on until {@link stop}. */
  #noClaims = false;
  /** The last claim filled its batch: more work is waiting in the store. */
  #more = false;
  /** Reports a failing store once per outage, not on every tick. */
  #failing = false;
  /** What this process holds, with the lease generation of each. */
  readonly held: HeldLeases;
  #holder: LeaseHolder | undefined;
  /** When the last renewal that answered was sent (this process's clock: only intervals count). */
  #renewedAt: number;
  #renewing: Promise<void> | undefined;
  /** Attempts are held until a renewal answers. */
  #holding = false;

  constructor(
    readonly owner: string,
    readonly store: SharedStore,
    private readonly clock: Clock,
    private readonly target: ClaimTarget,
    private readonly onError: (error: WebhookError) => void,
  ) {
    this.held = new HeldLeases(owner);
    this.#renewedAt = clock.now();
  }

  /** Where lost messages go, and who holds attempts while a renewal is late. */
  attach(holder: LeaseHolder): void {
    this.#holder = holder;
  }

  /**
   * Called before attempts may start (an answer arrived): after a stall, attempts wait for a
   * renewal, which drops what was lost, rather than re-send messages another process took.
   */
  checkLease(): void {
    if (this.#holding || this.#stopped || this.held.size === 0) return;
    if (this.clock.now() < this.#renewedAt + this.store.leaseMs * STALE_SHARE) return;
    this.#holding = true;
    this.#holder?.hold();
    void this.renew();
  }

  /** A write about these messages was refused: another process holds them; drop them here. */
  refused(ids: readonly string[]): void {
    const lost = ids.map((id) => this.held.refused(id)).filter((l): l is LostMessage => l !== undefined);
    if (lost.length > 0) this.#holder?.forget(lost);
  }

  /** Renews now (one renewal at a time); forgets what another process took; resumes held attempts. */
  renew(): Promise<void> {
    this.#renewing ??= this.#renew().finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  async #renew(): Promise<void> {
    const sentAt = this.clock.now();
    const before = this.held.snapshot();
    let listed: string[];
    try {
      listed = await this.store.renew(this.owner, sentAt);
      this.#ok();
    } catch (error) {
      return this.#failed('renew its leases', error);
    }
    this.#renewedAt = sentAt;
    const lost = this.held.lost(before, listed);
    if (lost.length > 0) this.#holder?.forget(lost);
    if (this.#holding) {
      this.#holding = false;
      this.#holder?.resume();
    }
  }

  /** Starts renewing and claiming; listens for new messages (polling alone if that fails). */
  async start(): Promise<void> {
    await this.#subscribe();
    this.#schedule();
    this.nudge();
  }

  async #subscribe(): Promise<void> {
    this.#subscribing = true;
    try {
      const stop = await this.store.subscribe(
        () => this.nudge(),
        () => (this.#unsubscribe = undefined),
      );
      if (this.#stopped) await stop();
      else this.#unsubscribe = stop;
    } catch {
      // NOTIFY is a shortcut: the tick finds new messages anyway, within `leaseMs / 3`, and
      // tries to listen again.
    } finally {
      this.#subscribing = false;
    }
  }

  /** Claims soon: there may be new work, or room for it. */
  nudge(): void {
    if (this.#stopped || this.#noClaims) return;
    if (this.#claiming !== undefined) {
      this.#again = true;
      return;
    }
    this.#claiming = this.#claim().finally(() => {
      this.#claiming = undefined;
      if (this.#again) {
        this.#again = false;
        this.nudge();
      }
    });
  }

  /** Claims again if the last claim left work in the store: room opened (a message ended). */
  roomOpened(): void {
    if (this.#more && this.#claiming === undefined) this.nudge();
  }

  /** Takes no more work; renewals go on (a draining dispatcher still holds its messages). */
  async stopClaiming(): Promise<void> {
    this.#noClaims = true;
    await this.#claiming;
  }

  /** Stops claiming and renewing (leases run on until {@link release}). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    await this.#claiming;
    await this.#unsubscribe?.().catch(() => {});
  }

  /** Gives back every lease: the messages left are anybody's at once. */
  release(): Promise<void> {
    return this.store.release(this.owner);
  }

  #schedule(): void {
    this.#timer = this.clock.setTimer(
      () => {
        if (this.#stopped) return;
        void this.renew();
        this.nudge();
        if (this.#unsubscribe === undefined && !this.#subscribing) void this.#subscribe();
        this.#schedule();
      },
      Math.floor(this.store.leaseMs / 3),
      false,
    );
  }

  async #claim(): Promise<void> {
    for (;;) {
      const limit = Math.min(CLAIM_BATCH, this.target.room());
      if (limit <= 0 || this.#stopped || this.#noClaims) return;
      let records: ClaimedRecord[];
      try {
        records = await this.store.claim(this.owner, limit, this.clock.now());
        this.#ok();
      } catch (error) {
        return this.#failed('claim messages', error);
      }
      this.#more = records.length === limit;
      for (const r of records) this.held.confirm(r.id, r.origin, r.leaseGen);
      const refused = this.target.adopt(records);
      for (const id of refused) this.held.drop(id);
      if (refused.length > 0) await this.store.release(this.owner, refused).catch((error: unknown) => this.#failed('give back claimed messages', error));
      if (records.length < limit || refused.length > 0) return;
    }
  }

  #ok(): void {
    this.#failing = false;
  }

  #failed(what: string, error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.onError(storeUnavailable(`Could not ${what}`, error));
  }
}
