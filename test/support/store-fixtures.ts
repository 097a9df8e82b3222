/** Records, ops and temp directories for the store tests. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '../../src/core/ids.js';
import type { MessageRecord } from '../../src/model/message-record.js';
import type { AttemptRecord, Fence, StoreOp } from '../../src/persistence/store.js';
import type { FailureReason } from '../../src/model/types.js';

export const T0 = 1_800_000_000_000;
let idClock = T0;

/** A new message id, later than every one made before (UUIDv7). */
export function newId(): string {
  return uuidv7(idClock++);
}

/** A record as `toRecord` makes one: distinct secrets and header values, so leaks can be searched for. */
export function record(origin = 'https://a.example', overrides: Partial<MessageRecord> = {}): MessageRecord {
  const id = overrides.id ?? newId();
  return {
    id,
    eventId: `evt_${id}`,
    eventType: 'order.paid',
    body: Buffer.from(JSON.stringify({ id, type: 'order.paid', data: { amount: 42 } })),
    url: `${origin}/hooks?tenant=7`,
    origin,
    scheme: 'standard-webhooks',
    secrets: [`whsec_${randomBytes(24).toString('base64')}`],
    headers: [['authorization', `Bearer ${randomBytes(12).toString('hex')}`], ['x-tenant', 't-7']],
    acceptedAt: T0,
    expiresAt: T0 + 86_400_000,
    maxAttempts: 5,
    attempts: 0,
    dueAt: 0,
    idempotencyKey: null,
    last: null,
    ...overrides,
  };
}

export const accept = (r: MessageRecord): StoreOp => ({ op: 'accept', record: r });

export function tried(at: number, status: number | null, latencyMs = 12.5): AttemptRecord {
  return { at, status, error: status === null ? { code: 'UND_ERR_SOCKET', message: 'other side closed' } : null, latencyMs };
}

/** An attempt that failed with `status` (or a socket error when `null`); the message waits for another. */
export function attempt(id: string, attempts: number, at: number, status: number | null = 503): StoreOp {
  const a = tried(at, status);
  return { op: 'attempt', id, attempt: a, attempts, dueAt: at + 1_000, last: { status, error: a.error, body: status === null ? null : 'busy' } };
}

export function delivered(id: string, attempts: number, at: number): StoreOp {
  return { op: 'end', id, at, attempt: tried(at, 200), attempts, outcome: { state: 'delivered', status: 200 } };
}

/** The message ended failed: after an attempt (with its answer as `last`), or without one (`expired`, `cancelled`, `closed`, `blocked`). */
export function failed(id: string, attempts: number, at: number, reason: FailureReason = 'exhausted', status: number | null = 500): StoreOp {
  if (reason === 'expired' || reason === 'cancelled' || reason === 'closed' || reason === 'blocked') {
    return { op: 'end', id, at, attempt: null, attempts, outcome: { state: 'failed', reason, last: null } };
  }
  const a = tried(at, status);
  return { op: 'end', id, at, attempt: a, attempts, outcome: { state: 'failed', reason, last: { status, error: a.error, body: status === null ? null : 'nope' } } };
}

/** The dead letter `id` was replayed as the message `as`. */
export const replayed = (id: string, as: string, at: number): StoreOp => ({ op: 'replayed', id, as, at });

/** A temp directory removed by `cleanup`. */
export function tempDir(prefix = 'wd-store-'): { dir: string; file: (name?: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name = 'store.db') => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const KEY = randomBytes(32);

/** `op` (an attempt or an end) written under `fence`: it applies only while that lease is held. */
export function fenced(op: StoreOp, fence: Fence): StoreOp {
  return op.op === 'accept' || op.op === 'replayed' ? op : { ...op, fence };
}
