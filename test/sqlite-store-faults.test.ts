/**
 * Every way the SQLite file can fail the store becomes `WD_STORE_UNAVAILABLE` saying what
 * failed, with SQLite's (or the system's) message and the original error as `cause`: never a
 * raw error, never a crash. Where it can, the store goes on answering reads.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MessageStore } from '../src/persistence/store.js';
import { connectionOf } from '../src/stores/sqlite/sqlite-handle.js';
import { sqliteStore } from '../src/stores/sqlite/sqlite-store.js';
import { KEY, T0, accept, delivered, record, tempDir } from './support/store-fixtures.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function dir(): ReturnType<typeof tempDir> {
  const tmp = tempDir();
  cleanup.push(tmp.cleanup);
  return tmp;
}

/** Set per run of the suite below: the store runs its connection on a worker thread (`sqliteStore({ worker: true })`). */
let worker = false;

function store(path: string, encryptionKey: Buffer | string = KEY): MessageStore {
  const s = sqliteStore({ path, encryptionKey, worker });
  cleanup.push(() => s.close());
  return s;
}

/** A store on `path` holding one pending message, closed. */
async function written(path: string): Promise<string> {
  const s = store(path);
  await s.open();
  const r = record();
  await s.write([accept(r)]);
  await s.close();
  return r.id;
}

const unavailable = (...says: string[]) => expect.objectContaining({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringMatching(says.map((s) => s.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')).join('.*')), cause: expect.anything() });

describe.each([{ worker: false }, { worker: true }])('worker thread: $worker', (mode) => {
  beforeEach(() => {
    worker = mode.worker;
  });

  describe('the SQLite store refuses to open, saying why', () => {
    it('when the directory does not exist', async () => {
      const path = join(dir().dir, 'missing', 'store.db');
      await expect(store(path).open()).rejects.toEqual(unavailable('Cannot open the SQLite store at', path, 'ENOENT'));
    });

    it('when the path is a directory', async () => {
      const { file } = dir();
      mkdirSync(file());
      await expect(store(file()).open()).rejects.toEqual(unavailable('Cannot open the SQLite store at', 'EISDIR'));
    });

    it('when the file is read-only', async (context) => {
      const path = dir().file();
      await written(path);
      chmodSync(path, 0o400);
      let fd: number | undefined;
      try {
        fd = openSync(path, 'r+'); // root writes anyway: make the file immutable instead
      } catch {
        // Read-only as it should be.
      }
      if (fd !== undefined) {
        closeSync(fd);
        try {
          execFileSync('chattr', ['+i', path], { stdio: 'ignore' });
          cleanup.push(() => execFileSync('chattr', ['-i', path], { stdio: 'ignore' }));
        } catch {
          context.skip('running as root without chattr: cannot make a file read-only');
        }
      }
      await expect(store(path).open()).rejects.toEqual(unavailable('Cannot open the SQLite store at', 'for writing', 'E'));
    });

    it('when another connection holds the file, and opens once it lets go', async () => {
      const path = dir().file();
      await written(path);
      const other = new Database(path);
      other.exec('BEGIN EXCLUSIVE');
      const s = store(path);
      await expect(s.open()).rejects.toEqual(unavailable('Cannot open the SQLite store at', 'another process', 'database is locked'));
      other.exec('ROLLBACK');
      other.close();
      await s.open();
      expect(await s.pending({ limit: 10 })).toHaveLength(1);
    });

    it('when another store has the file open: one owner at a time, and the owner goes on', async () => {
      const path = dir().file();
      const first = store(path);
      await first.open();
      await expect(store(path).open()).rejects.toEqual(unavailable('database is locked'));
      await first.write([accept(record())]);
      expect(await first.pending({ limit: 10 })).toHaveLength(1);
    });

    it('when the file is not a database', async () => {
      const path = dir().file();
      writeFileSync(path, randomBytes(8192));
      await expect(store(path).open()).rejects.toEqual(unavailable('Cannot open the SQLite store at', 'file is not a database'));
    });

    it('when the file is damaged inside, on open or on the first read', async () => {
      const path = dir().file();
      const s0 = store(path);
      await s0.open();
      await s0.write(Array.from({ length: 200 }, () => accept(record())));
      await s0.close();
      // Scribble over every page but the header page.
      const fd = openSync(path, 'r+');
      writeSync(fd, Buffer.alloc(statSync(path).size - 4096, 0x5a), 0, undefined, 4096);
      closeSync(fd);
      const s = store(path);
      const failure = await s.open().then(() => s.pending({ limit: 10 })).then(() => undefined, (error: unknown) => error);
      expect(failure).toEqual(unavailable('SQLite store at', 'malformed'));
    });

    it('when the encryption key is not the one the file was created with, without showing either key', async () => {
      const path = dir().file();
      await written(path);
      const wrong = randomBytes(32).toString('base64');
      const failure = await store(path, wrong).open().then(() => undefined, (error: unknown) => error as Error);
      expect(failure).toEqual(unavailable('Cannot open the SQLite store at', '`encryptionKey` does not match the key this database was created with'));
      for (const key of [wrong, KEY.toString('base64'), KEY.toString('hex')]) expect(JSON.stringify({ m: failure!.message, c: String(failure!.cause) })).not.toContain(key.slice(0, 12));
    });

    it('when its schema is newer than this version knows', async () => {
      const path = dir().file();
      await written(path);
      const db = new Database(path);
      db.pragma('user_version = 4');
      db.close();
      await expect(store(path).open()).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('schema version 4 is newer than this version of webhook-dispatcher handles (3)') });
    });

    it("when the file is another program's database, and leaves it untouched", async () => {
      const path = dir().file();
      const db = new Database(path);
      db.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)');
      db.close();
      await expect(store(path).open()).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining("another program's SQLite database") });
      const again = new Database(path);
      expect(again.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all()).toEqual(['invoices']);
      again.close();
    });
  });

  describe('an open SQLite store', () => {
    it('refuses a write when the disk is full, applies nothing of it, and goes on once there is room', async () => {
      const path = dir().file();
      const s = store(path);
      await s.open();
      const kept = record();
      await s.write([accept(kept)]);
      // The worker store's connection lives on its thread (the full disk is fault-matrix.test.ts's tmpfs test).
      if (worker) return;
      const db = connectionOf(s)!;
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      const big = Array.from({ length: 50 }, () => accept(record('https://a.example', { body: randomBytes(4_000) })));
      await expect(s.write(big)).rejects.toEqual(unavailable('Writing 50 operations to the SQLite store at', 'nothing of them applied', 'database or disk is full'));
      expect((await s.pending({ limit: 100 })).map((r) => r.id)).toEqual([kept.id]);
      db.pragma('max_page_count = 1073741823');
      await s.write(big);
      expect(await s.pending({ limit: 100 })).toHaveLength(51);
    });

    it('refuses writes once its directory is removed, instead of writing into a deleted file, and still answers reads', async () => {
      const tmp = tempDir();
      const s = store(tmp.file());
      await s.open();
      const r = record();
      await s.write([accept(r)]);
      rmSync(tmp.dir, { recursive: true, force: true });
      await expect(s.write([delivered(r.id, 1, T0)])).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining('the database file was deleted or replaced while open') });
      expect((await s.pending({ limit: 10 })).map((p) => p.id)).toEqual([r.id]);
    });

    it('refuses a row whose url was pointed at another destination, naming it, and serves the others', async () => {
      const path = dir().file();
      const s0 = store(path);
      await s0.open();
      const [a, b] = [record(), record()];
      await s0.write([accept(a), accept(b)]);
      await s0.close();
      const db = new Database(path);
      db.prepare("UPDATE messages SET url = 'https://attacker.example/collect' WHERE id = ?").run(b.id);
      db.close();
      const s = store(path);
      await s.open();
      await expect(s.get(b.id)).rejects.toMatchObject({ code: 'WD_STORE_UNAVAILABLE', message: expect.stringContaining(`Cannot open the sealed fields of message \`${b.id}\``) });
      expect(await s.get(a.id)).toEqual(a);
    });
  });
});
