/**
 * The obvious store: a map of messages and linear scans. The property test runs random ops
 * against it and a real store and asks both the same questions.
 */
import type { MessageRecord } from '../../src/model/message-record.js';
import type { AttemptRecord, DeadLetter, MessageHistory, StoreOp } from '../../src/persistence/store.js';
import type { FailureReason } from '../../src/model/types.js';

interface ModelMessage {
  record: MessageRecord;
  state: 'pending' | 'delivered' | 'failed';
  attempts: AttemptRecord[];
  endedAt: number;
  reason: FailureReason | null;
  replayed?: { as: string; at: number };
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class StoreModel {
  readonly messages = new Map<string, ModelMessage>();

  /** Applies `ops` when every one is valid in turn; otherwise changes nothing and returns false. */
  apply(ops: readonly StoreOp[]): boolean {
    const next = new Map([...this.messages].map(([id, m]) => [id, { ...m, record: { ...m.record }, attempts: [...m.attempts] }]));
    for (const op of ops) {
      if (op.op === 'accept') {
        if (next.has(op.record.id)) return false;
        next.set(op.record.id, { record: { ...op.record }, state: 'pending', attempts: [], endedAt: 0, reason: null });
        continue;
      }
      const m = next.get(op.id);
      if (op.op === 'replayed') {
        if (m?.state !== 'failed') return false;
        m.replayed = { as: op.as, at: op.at };
        continue;
      }
      if (m === undefined || m.state !== 'pending') return false;
      if (op.op === 'attempt') {
        m.attempts.push(op.attempt);
        Object.assign(m.record, { attempts: op.attempts, dueAt: op.dueAt, last: op.last });
      } else {
        if (op.attempt !== null) m.attempts.push(op.attempt);
        m.record.attempts = op.attempts;
        m.endedAt = op.at;
        m.state = op.outcome.state;
        if (op.outcome.state === 'failed') {
          m.reason = op.outcome.reason;
          m.record.last = op.outcome.last;
        }
      }
    }
    this.messages.clear();
    for (const [id, m] of next) this.messages.set(id, m);
    return true;
  }

  pending(origin?: string): MessageRecord[] {
    return [...this.messages.values()].filter((m) => m.state === 'pending' && (origin === undefined || m.record.origin === origin)).map((m) => m.record).sort(byId);
  }

  pendingOrigins(): { origin: string; count: number }[] {
    const counts = new Map<string, number>();
    for (const r of this.pending()) counts.set(r.origin, (counts.get(r.origin) ?? 0) + 1);
    return [...counts].map(([origin, count]) => ({ origin, count })).sort((a, b) => (a.origin < b.origin ? -1 : 1));
  }

  deadLetters(filter: { origin?: string; reason?: FailureReason } = {}): DeadLetter[] {
    return [...this.messages.values()]
      .filter((m) => m.state === 'failed' && (filter.origin === undefined || m.record.origin === filter.origin) && (filter.reason === undefined || m.reason === filter.reason))
      .sort((a, b) => b.endedAt - a.endedAt || -byId(a.record, b.record))
      .map((m) => {
        const r = m.record;
        const d: DeadLetter = { messageId: r.id, eventId: r.eventId, eventType: r.eventType, url: r.url, origin: r.origin, attempts: r.attempts, reason: m.reason!, failedAt: new Date(m.endedAt) };
        if (r.last?.status != null) d.status = r.last.status;
        if (r.last?.error != null) d.error = r.last.error;
        if (r.last?.body != null) d.responseBody = r.last.body;
        if (m.replayed !== undefined) Object.assign(d, { replayedAs: m.replayed.as, replayedAt: new Date(m.replayed.at) });
        return d;
      });
  }

  history(id: string): MessageHistory | undefined {
    const m = this.messages.get(id);
    if (m === undefined) return undefined;
    const r = m.record;
    return {
      messageId: r.id, eventId: r.eventId, eventType: r.eventType, url: r.url, origin: r.origin, state: m.state, acceptedAt: new Date(r.acceptedAt),
      attempts: m.attempts.map((a) => ({ at: new Date(a.at), latencyMs: a.latencyMs, ...(a.status !== null && { status: a.status }), ...(a.error !== null && { error: a.error }) })),
      ...(m.replayed !== undefined && { replayedAs: m.replayed.as }),
    };
  }

  /** What `get` gives: every kept record, or only pending and failed ones for a store that drops delivered bodies. */
  get(id: string, keepsDelivered: boolean): MessageRecord | undefined {
    const m = this.messages.get(id);
    return m === undefined || (m.state === 'delivered' && !keepsDelivered) ? undefined : m.record;
  }

  prune(before: { delivered: number; failed: number }): number {
    let n = 0;
    for (const [id, m] of this.messages) {
      if ((m.state === 'delivered' && m.endedAt < before.delivered) || (m.state === 'failed' && m.endedAt < before.failed)) {
        this.messages.delete(id);
        n++;
      }
    }
    return n;
  }
}
