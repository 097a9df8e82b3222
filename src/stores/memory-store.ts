// Placeholder until the store layer lands: the smallest MessageStore that keeps records in memory.
import type { MessageRecord } from '../message-record.js';
import type { AttemptRecord, DeadLetter, DeadLetterQuery, MessageHistory, MessageStore, StoreOp } from '../store.js';

interface Row {
  record: MessageRecord;
  state: 'pending' | 'delivered' | 'failed';
  attempts: AttemptRecord[];
  endedAt: number;
  failure: DeadLetter | undefined;
}

export class MemoryStore implements MessageStore {
  readonly durable: boolean;
  readonly #rows = new Map<string, Row>();

  constructor(options: { durable?: boolean } = {}) {
    this.durable = options.durable ?? false;
  }

  async open(): Promise<void> {}

  async write(ops: readonly StoreOp[]): Promise<void> {
    for (const op of ops) {
      if (op.op === 'accept') {
        this.#rows.set(op.record.id, { record: { ...op.record }, state: 'pending', attempts: [], endedAt: 0, failure: undefined });
        continue;
      }
      const row = this.#rows.get(op.id);
      if (row === undefined) continue;
      if (op.op === 'attempt') {
        row.attempts.push(op.attempt);
        row.record = { ...row.record, attempts: op.attempts, dueAt: op.dueAt, last: op.last };
      } else {
        if (op.attempt !== null) row.attempts.push(op.attempt);
        row.record = { ...row.record, attempts: op.attempts };
        row.state = op.outcome.state;
        row.endedAt = op.at;
        if (op.outcome.state === 'failed') {
          const r = row.record;
          const last = op.outcome.last;
          row.failure = {
            messageId: r.id, eventId: r.eventId, eventType: r.eventType, url: r.url, origin: r.origin, attempts: op.attempts, reason: op.outcome.reason, failedAt: new Date(op.at),
            ...(last?.status != null ? { status: last.status } : {}),
            ...(last?.error != null ? { error: last.error } : {}),
            ...(last?.body != null ? { responseBody: last.body } : {}),
          };
        }
      }
    }
  }

  async pending(query: { origin?: string; afterId?: string; limit: number }): Promise<MessageRecord[]> {
    const out: MessageRecord[] = [];
    const rows = [...this.#rows.values()].filter((r) => r.state === 'pending' && (query.origin === undefined || r.record.origin === query.origin) && (query.afterId === undefined || r.record.id > query.afterId));
    rows.sort((a, b) => (a.record.id < b.record.id ? -1 : 1));
    for (const r of rows.slice(0, query.limit)) out.push({ ...r.record });
    return out;
  }

  async pendingOrigins(): Promise<{ origin: string; count: number }[]> {
    const counts = new Map<string, number>();
    for (const r of this.#rows.values()) if (r.state === 'pending') counts.set(r.record.origin, (counts.get(r.record.origin) ?? 0) + 1);
    return [...counts].map(([origin, count]) => ({ origin, count }));
  }

  async get(id: string): Promise<MessageRecord | undefined> {
    const row = this.#rows.get(id);
    return row === undefined ? undefined : { ...row.record };
  }

  async deadLetters(query: DeadLetterQuery): Promise<{ items: DeadLetter[]; cursor?: string }> {
    const items = [...this.#rows.values()]
      .filter((r) => r.failure !== undefined && (query.origin === undefined || r.record.origin === query.origin) && (query.reason === undefined || r.failure.reason === query.reason))
      .sort((a, b) => b.endedAt - a.endedAt || (a.record.id < b.record.id ? 1 : -1))
      .map((r) => r.failure!);
    const start = query.cursor === undefined ? 0 : Number(query.cursor);
    const limit = query.limit ?? 100;
    const page = items.slice(start, start + limit);
    return start + limit < items.length ? { items: page, cursor: String(start + limit) } : { items: page };
  }

  async history(id: string): Promise<MessageHistory | undefined> {
    const row = this.#rows.get(id);
    if (row === undefined) return undefined;
    const r = row.record;
    return {
      messageId: r.id, eventId: r.eventId, eventType: r.eventType, url: r.url, origin: r.origin, state: row.state, acceptedAt: new Date(r.acceptedAt),
      attempts: row.attempts.map((a) => ({ at: new Date(a.at), latencyMs: a.latencyMs, ...(a.status !== null ? { status: a.status } : {}), ...(a.error !== null ? { error: a.error } : {}) })),
    };
  }

  async prune(before: { delivered: number; failed: number }): Promise<number> {
    let n = 0;
    for (const [id, row] of this.#rows) {
      if ((row.state === 'delivered' && row.endedAt < before.delivered) || (row.state === 'failed' && row.endedAt < before.failed)) {
        this.#rows.delete(id);
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> {}
}
