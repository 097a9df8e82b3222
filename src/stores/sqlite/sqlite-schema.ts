import type BetterSqlite3 from 'better-sqlite3';
import { WebhookError } from '../../core/errors.js';
import type { Sealer } from '../../signing/seal.js';

/**
 * The SQLite file's settings and schema. `PRAGMA user_version` holds the schema version and
 * `PRAGMA application_id` marks the file as ours, so a newer schema, or another program's
 * database, is refused instead of written into.
 *
 * Version 2 added `messages.replayed_as` and `replayed_at`: a dead letter's newest replay.
 * Version 3 added `messages.final_*`: the attempt that ended a message, kept in the message's
 * own row (which its end updates anyway) instead of a row of `attempts` and its index entry,
 * a third fewer rows written per message delivered at the first attempt. `attempts` keeps the
 * attempts before the last, and the ends of rows written before version 3.
 */

export const SCHEMA_VERSION = 3;
/** "WDMS" (webhook-dispatcher message store). */
export const APPLICATION_ID = 0x57444d53;

/** `messages.state`. */
export const PENDING = 0;
export const DELIVERED = 1;
export const FAILED = 2;

const SCHEMA = `
CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;

CREATE TABLE messages (
  id TEXT PRIMARY KEY NOT NULL,        -- UUIDv7: text order is acceptance order
  origin TEXT NOT NULL,
  state INTEGER NOT NULL,              -- 0 pending, 1 delivered, 2 failed
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  url TEXT NOT NULL,
  scheme TEXT NOT NULL,
  sealed BLOB NOT NULL,                -- secrets and headers, AES-256-GCM
  body BLOB NOT NULL,
  accepted_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  idempotency_key TEXT,
  has_last INTEGER NOT NULL,           -- the last-answer columns below are set
  last_status INTEGER,
  last_error_code TEXT,
  last_error_message TEXT,
  last_body TEXT,
  reason TEXT,                         -- failed only
  ended_at INTEGER,
  replayed_as TEXT,                    -- failed only: the newest replay's message id
  replayed_at INTEGER,
  final_at INTEGER,                    -- the attempt that ended the message, if one did (NULL: none)
  final_status INTEGER,
  final_error_code TEXT,
  final_error_message TEXT,
  final_latency_ms REAL
);
-- Partial indexes, one state each (SQLite uses a partial index only when the query names its
-- exact condition): pending and failed rows are few next to delivered ones kept for days.
CREATE INDEX messages_pending ON messages (id) WHERE state = 0;
CREATE INDEX messages_pending_origin ON messages (origin, id) WHERE state = 0;
CREATE INDEX messages_delivered ON messages (ended_at) WHERE state = 1;
CREATE INDEX messages_failed ON messages (ended_at, id) WHERE state = 2;
CREATE INDEX messages_failed_origin ON messages (origin, ended_at, id) WHERE state = 2;
CREATE INDEX messages_failed_reason ON messages (reason, ended_at, id) WHERE state = 2;

CREATE TABLE attempts (
  message_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  status INTEGER,
  error_code TEXT,
  error_message TEXT,
  latency_ms REAL NOT NULL
);
CREATE INDEX attempts_message ON attempts (message_id);
`;

const FINAL_COLUMNS = [
  ['final_at', 'INTEGER'],
  ['final_status', 'INTEGER'],
  ['final_error_code', 'TEXT'],
  ['final_error_message', 'TEXT'],
  ['final_latency_ms', 'REAL'],
] as const;

const KEY_CHECK = 'webhook-dispatcher key check';

/**
 * Connection settings. `locking_mode = EXCLUSIVE` makes this connection the file's only user
 * for as long as it is open: a second dispatcher on the same file (two processes recovering
 * the same messages would send each twice) fails to open instead. Set before WAL is entered,
 * it also keeps the WAL index in process memory: no -shm file.
 */
export function configure(db: BetterSqlite3.Database, synchronous: 'normal' | 'full'): void {
  db.pragma('locking_mode = EXCLUSIVE');
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new Error(`SQLite refused write-ahead logging (journal_mode stayed \`${String(mode)}\`)`);
  db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  // A checkpoint truncates the WAL back to this size, so one burst does not leave it large.
  db.pragma('journal_size_limit = 67108864');
}

/** Creates the schema in a new file, or checks an existing one and that `sealer` holds its key. Throws `WD_STORE_UNAVAILABLE` for a file it must not use. */
export function migrate(db: BetterSqlite3.Database, sealer: Sealer, path: string): void {
  const refuse = (why: string) => new WebhookError('WD_STORE_UNAVAILABLE', `Cannot open the SQLite store at \`${path}\`: ${why}`);
  // IMMEDIATE: the write lock now, held from here on (exclusive locking mode).
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    const application = db.pragma('application_id', { simple: true }) as number;
    if (version === 0) {
      const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number }).n;
      if (tables > 0 || application !== 0) throw refuse(`the file is another program's SQLite database (${tables} tables, no webhook-dispatcher schema); use a file of its own`);
      db.exec(SCHEMA);
      db.prepare("INSERT INTO meta (key, value) VALUES ('key_check', ?)").run(sealer.seal(Buffer.from(KEY_CHECK), 'key_check'));
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      return;
    }
    if (application !== APPLICATION_ID) throw refuse(`the file is another program's SQLite database (application_id ${application}); use a file of its own`);
    if (version > SCHEMA_VERSION) {
      throw refuse(`its schema version ${version} is newer than this version of webhook-dispatcher handles (${SCHEMA_VERSION}); upgrade webhook-dispatcher to open it`);
    }
    // Nullable columns: SQLite adds them without rewriting a row.
    if (version < 2) {
      // 1 → 2: a dead letter's newest replay; rows written before stand as never replayed.
      db.exec('ALTER TABLE messages ADD COLUMN replayed_as TEXT; ALTER TABLE messages ADD COLUMN replayed_at INTEGER;');
    }
    if (version < 3) {
      // 2 → 3: the final attempt in the row; rows written before keep theirs in `attempts`.
      db.exec(FINAL_COLUMNS.map(([name, type]) => `ALTER TABLE messages ADD COLUMN ${name} ${type};`).join(' '));
    }
    if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    const check = db.prepare("SELECT value FROM meta WHERE key = 'key_check'").get() as { value: Buffer } | undefined;
    if (check === undefined) throw refuse('its key check is missing (the file was changed by something else)');
    let plain: Buffer;
    try {
      plain = sealer.open(check.value, 'key_check', 'the key check');
    } catch (error) {
      throw new WebhookError('WD_STORE_UNAVAILABLE', `Cannot open the SQLite store at \`${path}\`: \`encryptionKey\` does not match the key this database was created with`, { cause: error });
    }
    if (plain.toString() !== KEY_CHECK) throw refuse('its key check holds something unexpected');
  }).immediate();
}
