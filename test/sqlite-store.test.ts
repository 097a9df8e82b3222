/**
 * What only the SQLite store has: a file on disk that must be private, hold no secret in the
 * clear, survive the process being killed, and answer from its indexes.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageStore, StoreOp } from '../src/persistence/store.js';
import { connectionOf } from '../src/stores/sqlite/sqlite-handle.js';
import { SQL, deadLetterSql } from '../src/stores/sqlite/sqlite-rows.js';
import { sqliteStore } from '../src/stores/sqlite/sqlite-store.js';
import { KEY, T0, accept, attempt, delivered, failed, newId, record, tempDir } from './support/store-fixtures.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A store on a new temp file, closed and removed after the test. */
async function openStore(options: { synchronous?: 'normal' | 'full' } = {}): Promise<{ store: MessageStore; path: string }> {
  const tmp = tempDir();
  cleanup.push(tmp.cleanup);
  const path = tmp.file();
  const store = sqliteStore({ path, encryptionKey: KEY, ...options });
  cleanup.push(() => store.close());
  await store.open();
  return { store, path };
}

/** `value` as it could appear on disk: raw, hex, and base64 and base64url at each of the three byte alignments. */
function encodings(value: Buffer): string[] {
  const found = [value.toString('latin1'), value.toString('hex')];
  for (const alphabet of ['base64', 'base64url'] as const) {
    for (let shift = 0; shift < 3; shift++) {
      const text = Buffer.concat([Buffer.alloc(shift), value]).toString(alphabet);
      // Only the characters that depend on `value` alone: drop both ends.
      found.push(text.slice(Math.ceil((shift * 4) / 3) + 1, -4));
    }
  }
  return found.filter((s) => s.length >= 8);
}

function onDisk(path: string): string {
  return [path, `${path}-wal`, `${path}-shm`].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('\n');
}

describe('the SQLite file', () => {
  it('is created with mode 0600 even under umask 0, and so is its WAL', async () => {
    const umask = process.umask(0);
    try {
      const { store, path } = await openStore();
      await store.write([accept(record())]);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
      expect(existsSync(`${path}-shm`)).toBe(false); // exclusive locking keeps the WAL index in memory
    } finally {
      process.umask(umask);
    }
  });

  it('takes group and other permissions off an existing database file and WAL', async () => {
    const tmp = tempDir();
    cleanup.push(tmp.cleanup);
    const path = tmp.file();
    const first = sqliteStore({ path, encryptionKey: KEY });
    await first.open();
    await first.write([accept(record())]);
    await first.close();
    writeFileSync(`${path}-wal`, '');
    chmodSync(path, 0o644);
    chmodSync(`${path}-wal`, 0o666);
    const again = sqliteStore({ path, encryptionKey: KEY });
    cleanup.push(() => again.close());
    await again.open();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
    expect(await again.pending({ limit: 10 })).toHaveLength(1);
  });

  it('holds no secret, header value or key in any encoding, in the WAL or after a checkpoint', async () => {
    const { store, path } = await openStore();
    const records = Array.from({ length: 20 }, (_, i) => record(i % 2 ? 'https://a.example' : 'https://b.example'));
    await store.write(records.map(accept));
    await store.write(records.slice(0, 10).map((r, i) => (i % 2 ? failed(r.id, 1, T0 + i, 'rejected', 401) : delivered(r.id, 1, T0 + i))));
    const secrets = records.flatMap((r) => [...r.secrets, ...r.headers.map(([, v]) => v)]).filter((v) => v.length >= 8);
    const needles = [...secrets.map((s) => Buffer.from(s)), KEY].flatMap(encodings);

    const check = () => {
      const bytes = onDisk(path);
      // The scan sees the rows: bodies are stored as they are.
      expect(bytes).toContain(records[3]!.body.toString('latin1'));
      for (const needle of needles) expect(bytes.includes(needle), `found ${needle.slice(0, 6)}… on disk`).toBe(false);
    };
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    check();
    connectionOf(store)!.pragma('wal_checkpoint(TRUNCATE)');
    expect(statSync(`${path}-wal`).size).toBe(0);
    check();
    await store.close();
    check();
  });

  it('runs in WAL mode, locked to this connection, synchronous NORMAL by default and FULL when asked', async () => {
    const normal = connectionOf((await openStore()).store)!;
    expect(normal.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(normal.pragma('locking_mode', { simple: true })).toBe('exclusive');
    expect(normal.pragma('synchronous', { simple: true })).toBe(1);
    expect(connectionOf((await openStore({ synchronous: 'full' })).store)!.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('answers every query from an index, never a scan of the messages table or a sort', async () => {
    const db = connectionOf((await openStore()).store)!;
    const queries: string[] = [SQL.pending, SQL.pendingOf, SQL.pendingOrigins, SQL.get, SQL.facts, SQL.attemptsOf, SQL.prunableDelivered, SQL.prunableFailed, SQL.deleteAttempts];
    for (const origin of [false, true]) for (const reason of [false, true]) for (const after of [false, true]) queries.push(deadLetterSql(origin, reason, after));
    for (const sql of queries) {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...new Array(sql.split('?').length - 1).fill(null)) as { detail: string }[]).map((r) => r.detail).join('; ');
      expect(plan, sql).toMatch(/INDEX/);
      expect(plan, sql).not.toMatch(/SCAN (messages|attempts)$|SCAN (messages|attempts);|TEMP B-TREE/);
    }
  });
});

describe('the SQLite store under load', () => {
  it('keeps concurrent write calls apart: each batch applies whole or not at all', async () => {
    const { store } = await openStore();
    const batches = Array.from({ length: 60 }, (_, i) => {
      const rs = [record(), record()];
      const ops: StoreOp[] = [accept(rs[0]!), accept(rs[1]!), attempt(rs[0]!.id, 1, T0 + i), delivered(rs[1]!.id, 1, T0 + i)];
      // Every third batch ends with an op that cannot apply.
      if (i % 3 === 2) ops.push(attempt(newId(), 1, T0));
      return { rs, ops, valid: i % 3 !== 2 };
    });
    const results = await Promise.allSettled(batches.map((b) => store.write(b.ops)));
    for (const [i, b] of batches.entries()) {
      expect(results[i]!.status).toBe(b.valid ? 'fulfilled' : 'rejected');
      const [h0, h1] = [await store.history(b.rs[0]!.id), await store.history(b.rs[1]!.id)];
      if (b.valid) {
        expect([h0?.state, h0?.attempts.length, h1?.state, h1?.attempts.length]).toEqual(['pending', 1, 'delivered', 1]);
      } else {
        expect([h0, h1]).toEqual([undefined, undefined]);
      }
    }
    expect(await store.pending({ limit: 1_000 })).toHaveLength(40);
  });

  it('prunes in chunks until everything before the cutoff is gone, attempts included', async () => {
    const { store } = await openStore();
    const rs = Array.from({ length: 1_234 }, () => record());
    await store.write(rs.flatMap((r, i) => [accept(r), delivered(r.id, 1, T0 + i)]));
    expect(await store.prune({ delivered: T0 + 1_200, failed: 0 })).toBe(1_200);
    const db = connectionOf(store)!;
    expect(db.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 34 });
    // Each end's attempt is in its message's row (schema 3): what is left keeps its history.
    expect(db.prepare('SELECT count(*) AS n FROM messages WHERE final_at IS NOT NULL').get()).toEqual({ n: 34 });
    expect((await store.history(rs[1_233]!.id))?.attempts).toHaveLength(1);
    expect(await store.history(rs[0]!.id)).toBeUndefined();
  });

  it('prunes the attempts rows of what it prunes, and only those', async () => {
    const { store } = await openStore();
    const rs = Array.from({ length: 600 }, () => record());
    // An attempt before the end: a row of `attempts` each, then the end's attempt in the message's row.
    await store.write(rs.flatMap((r, i) => [accept(r), attempt(r.id, 1, T0 + i), delivered(r.id, 2, T0 + i)]));
    expect(await store.prune({ delivered: T0 + 550, failed: 0 })).toBe(550);
    const db = connectionOf(store)!;
    expect(db.prepare('SELECT count(*) AS n FROM attempts').get()).toEqual({ n: 50 });
    expect((await store.history(rs[599]!.id))?.attempts).toHaveLength(2);
  });

  it('loses no committed batch when the process is killed at any instant (kill -9), and applies none in part', async () => {
    const tmp = tempDir();
    cleanup.push(tmp.cleanup);
    const path = tmp.file();
    const fixture = fileURLToPath(new URL('./fixtures/store-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, path, KEY.toString('base64'), '50'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[][] = [];
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) acked.push(line.split(','));
        // Killed while it keeps writing: the instant falls anywhere in a write.
        if (acked.length >= 40 && !child.killed) child.kill('SIGKILL');
      });
      // `close`, not `exit`: every line the child wrote has been read by then.
      child.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${signal ?? code}`))));
    });

    const store = sqliteStore({ path, encryptionKey: KEY });
    cleanup.push(() => store.close());
    await store.open();
    for (const [i, ids] of acked.entries()) {
      for (const id of ids) {
        const state = (await store.history(id))?.state;
        // A batch followed by an acknowledged one was ended by it.
        expect(state, `batch ${i}`).toBe(i < acked.length - 1 ? 'delivered' : state === 'delivered' ? 'delivered' : 'pending');
      }
    }
    await store.close();
    const db = new Database(path, { readonly: true });
    const sizes = db.prepare('SELECT count(*) AS n FROM messages GROUP BY body').pluck().all() as number[];
    db.close();
    expect(new Set(sizes)).toEqual(new Set([50]));
  });
});

describe('sqliteStore options', () => {
  it('are checked when the store is made, and never echo the key', () => {
    const key = randomBytes(31).toString('base64');
    const cases: [unknown, string][] = [
      [{ path: '', encryptionKey: KEY }, 'Expected `path` to be a file path'],
      [{ path: ':memory:', encryptionKey: KEY }, 'is not durable'],
      [{ path: 'x.db' }, 'Expected `encryptionKey` to be 32 bytes'],
      [{ path: 'x.db', encryptionKey: key }, 'got a string of 44 characters that decodes to 31 bytes'],
      [{ path: 'x.db', encryptionKey: KEY, synchronous: 'off' }, "Expected `synchronous` to be `'normal'` or `'full'`"],
      [{ path: 'x.db', encryptionKey: KEY, pth: 'y' }, 'Unknown option `pth`'],
      [null, 'Expected `sqliteStore options` to be an object'],
    ];
    for (const [options, says] of cases) {
      expect(() => sqliteStore(options as never)).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining(says) }));
    }
    try {
      sqliteStore({ path: 'x.db', encryptionKey: key });
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(key.slice(0, 10));
    }
  });
});
