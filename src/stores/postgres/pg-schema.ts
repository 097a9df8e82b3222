import type { PoolClient } from 'pg';
import { WebhookError } from '../../core/errors.js';
import type { Sealer } from '../../signing/seal.js';

/**
 * The Postgres store's tables, in a schema of their own. `meta` holds the schema version (the
 * `schema_version` row) and a key check sealed with `encryptionKey`, so a newer schema, or a
 * store opened with another key, is refused instead of written into. Creation and migration
 * run under an advisory lock: several processes starting at once create the schema once.
 *
 * Times are `float8` clock milliseconds (`Infinity` is a valid expiry, as in SQLite), ids and
 * origins `COLLATE "C"` so their order is JavaScript's string order (UUIDv7: acceptance order).
 * Lease times (`lease_until`) are the database server's clock, the others the writer's.
 *
 * Version 2 added `messages.lease_gen`, the fencing token: bumped by every claim, checked by
 * every attempt and end its owner writes. Version 3 added `replayed_as` and `replayed_at`: a
 * dead letter's newest replay.
 */

export const SCHEMA_VERSION = 3;

/** `messages.state`, as in SQLite. */
export const PENDING = 0;
export const DELIVERED = 1;
export const FAILED = 2;

const KEY_CHECK = 'webhook-dispatcher key check';

/** `"schema"`, for a name already checked against {@link SCHEMA_NAME}. */
export const quoted = (schema: string): string => `"${schema}"`;

/** Lowercase letters, digits and `_`, not starting with a digit: no quoting surprises. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function ddl(s: string): string {
  return `
CREATE TABLE ${s}.meta (key text PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE ${s}.messages (
  id text COLLATE "C" PRIMARY KEY,
  origin text COLLATE "C" NOT NULL,
  state smallint NOT NULL,
  event_id text NOT NULL,
  event_type text NOT NULL,
  url text NOT NULL,
  scheme text NOT NULL,
  sealed bytea NOT NULL,
  body bytea NOT NULL,
  accepted_at float8 NOT NULL,
  expires_at float8 NOT NULL,
  max_attempts integer NOT NULL,
  attempts integer NOT NULL,
  due_at float8 NOT NULL,
  idempotency_key text,
  has_last smallint NOT NULL,
  last_status integer,
  last_error_code text,
  last_error_message text,
  last_body text,
  reason text,
  ended_at float8,
  owner text,                         -- the process serving it; NULL: anyone may claim it
  lease_until float8 NOT NULL DEFAULT 0,  -- the database's clock, in milliseconds
  ordered boolean NOT NULL DEFAULT false,
  lease_gen integer NOT NULL DEFAULT 0,  -- the fencing token: bumped by every claim
  replayed_as text,                   -- failed only: the newest replay's message id
  replayed_at float8
);
CREATE INDEX messages_pending ON ${s}.messages (id) WHERE state = ${PENDING};
CREATE INDEX messages_pending_origin ON ${s}.messages (origin, id) WHERE state = ${PENDING};
CREATE INDEX messages_pending_owner ON ${s}.messages (owner) WHERE state = ${PENDING};
CREATE INDEX messages_claimable ON ${s}.messages (lease_until, due_at) WHERE state = ${PENDING} AND NOT ordered;
CREATE INDEX messages_ordered ON ${s}.messages (origin, id) WHERE state = ${PENDING} AND ordered;
CREATE INDEX messages_delivered ON ${s}.messages (ended_at) WHERE state = ${DELIVERED};
CREATE INDEX messages_failed ON ${s}.messages (ended_at, id) WHERE state = ${FAILED};
CREATE INDEX messages_failed_origin ON ${s}.messages (origin, ended_at, id) WHERE state = ${FAILED};
CREATE INDEX messages_failed_reason ON ${s}.messages (reason, ended_at, id) WHERE state = ${FAILED};
CREATE TABLE ${s}.attempts (
  seq bigserial PRIMARY KEY,
  message_id text COLLATE "C" NOT NULL,
  at float8 NOT NULL,
  status integer,
  error_code text,
  error_message text,
  latency_ms float8 NOT NULL
);
CREATE INDEX attempts_message ON ${s}.attempts (message_id);
-- An ordered origin is served by one process at a time.
CREATE TABLE ${s}.origin_leases (origin text COLLATE "C" PRIMARY KEY, owner text NOT NULL, lease_until float8 NOT NULL);
`;
}

/**
 * Creates the schema on first use, or checks the one there: its version and the key. Runs in
 * one transaction on `client`. Throws `WD_STORE_UNAVAILABLE` saying what is wrong.
 */
export async function migrate(client: PoolClient, schema: string, sealer: Sealer): Promise<void> {
  const s = quoted(schema);
  const refuse = (why: string, cause?: unknown) => new WebhookError('WD_STORE_UNAVAILABLE', `Cannot open the Postgres store in schema \`${schema}\`: ${why}`, cause === undefined ? undefined : { cause });
  await client.query('BEGIN');
  try {
    // One key per schema name: processes starting together create it once.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`webhook-dispatcher:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${s}.meta`]);
    if (exists.rows[0]?.t == null) {
      const tables = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1', [schema]);
      if ((tables.rows[0]?.n ?? 0) > 0) throw refuse(`the schema holds another program's tables (${tables.rows[0]!.n}, no webhook-dispatcher \`meta\`); use a schema of its own`);
      await client.query(ddl(s));
      await client.query(`INSERT INTO ${s}.meta (key, value) VALUES ('schema_version', $1), ('key_check', $2)`, [Buffer.from(String(SCHEMA_VERSION)), sealer.seal(Buffer.from(KEY_CHECK), 'key_check')]);
    } else {
      const meta = await client.query<{ key: string; value: Buffer }>(`SELECT key, value FROM ${s}.meta WHERE key IN ('schema_version', 'key_check')`);
      const get = (key: string) => meta.rows.find((r) => r.key === key)?.value;
      const version = Number(get('schema_version')?.toString());
      if (!Number.isInteger(version)) throw refuse('its `schema_version` row is missing or unreadable (the schema was changed by something else)');
      if (version > SCHEMA_VERSION) throw refuse(`its schema version ${version} is newer than this version of webhook-dispatcher handles (${SCHEMA_VERSION}); upgrade webhook-dispatcher to open it`);
      // 1 → 2: the fencing token. Rows written before it are at generation 0, as new ones are.
      if (version < 2) await client.query(`ALTER TABLE ${s}.messages ADD COLUMN IF NOT EXISTS lease_gen integer NOT NULL DEFAULT 0`);
      // 2 → 3: a dead letter's newest replay. Nullable, no default: no table rewrite, and rows
      // written before stand as never replayed.
      if (version < 3) await client.query(`ALTER TABLE ${s}.messages ADD COLUMN IF NOT EXISTS replayed_as text, ADD COLUMN IF NOT EXISTS replayed_at float8`);
      if (version < SCHEMA_VERSION) await client.query(`UPDATE ${s}.meta SET value = $1 WHERE key = 'schema_version'`, [Buffer.from(String(SCHEMA_VERSION))]);
      const check = get('key_check');
      if (check === undefined) throw refuse('its key check is missing (the schema was changed by something else)');
      let plain: Buffer;
      try {
        plain = sealer.open(check, 'key_check', 'the key check');
      } catch (error) {
        throw refuse('`encryptionKey` does not match the key this schema was created with', error);
      }
      if (plain.toString() !== KEY_CHECK) throw refuse('its key check holds something unexpected');
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
