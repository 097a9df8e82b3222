import { DELIVERED, FAILED, PENDING } from './pg-schema.js';
import { LAST_COLUMNS, RECORD_COLUMNS } from '../common/store-rows.js';

/** The Postgres store's statements for one schema (`s` is the quoted schema name). */

const RECORD = RECORD_COLUMNS.split(', ');
const INSERT_COLUMNS = `${RECORD_COLUMNS}, owner, lease_until, ordered, state`;
/** Parameters per inserted row: the record's columns, then owner, lease and ordered. */
export const INSERT_PARAMS = RECORD.length + 3;
/** Rows per INSERT statement: under Postgres's 65,535 parameters. */
export const INSERT_ROWS = 500;

const ATTEMPT_INSERT = (s: string, from: string, p: number) =>
  `INSERT INTO ${s}.attempts (message_id, at, status, error_code, error_message, latency_ms) SELECT id, $${p}::float8, $${p + 1}::int, $${p + 2}::text, $${p + 3}::text, $${p + 4}::float8 FROM ${from}`;

export function statements(s: string) {
  const returning = RECORD.map((c) => `m.${c}`).join(', ');
  return {
    /** An `INSERT` of `rows` messages. */
    insert(rows: number): string {
      const values: string[] = [];
      for (let r = 0; r < rows; r++) {
        const at = r * INSERT_PARAMS;
        values.push(`(${Array.from({ length: INSERT_PARAMS }, (_, i) => `$${at + i + 1}`).join(', ')}, ${PENDING})`);
      }
      return `INSERT INTO ${s}.messages (${INSERT_COLUMNS}) VALUES ${values.join(', ')}`;
    },
    // Each is one round trip: the update, and the attempt row only when the update matched.
    attempt: `WITH u AS (UPDATE ${s}.messages SET attempts = $1, due_at = $2, has_last = $3, last_status = $4, last_error_code = $5, last_error_message = $6, last_body = $7 WHERE id = $8 AND state = ${PENDING} RETURNING id) ${ATTEMPT_INSERT(s, 'u', 9)}`,
    delivered: `UPDATE ${s}.messages SET state = ${DELIVERED}, attempts = $1, ended_at = $2, owner = NULL WHERE id = $3 AND state = ${PENDING}`,
    deliveredWith: `WITH u AS (UPDATE ${s}.messages SET state = ${DELIVERED}, attempts = $1, ended_at = $2, owner = NULL WHERE id = $3 AND state = ${PENDING} RETURNING id) ${ATTEMPT_INSERT(s, 'u', 4)}`,
    /**
     * Many delivered ends with their last attempts in one round trip (the common write):
     * $1 ids, $2 attempts, $3 ended at, $4 statuses, $5 latencies. Returns the ids it ended.
     */
    deliveredMany: `WITH v AS (SELECT * FROM unnest($1::text[], $2::int[], $3::float8[], $4::int[], $5::float8[]) AS v(id, attempts, at, status, latency)),
      u AS (UPDATE ${s}.messages m SET state = ${DELIVERED}, attempts = v.attempts, ended_at = v.at, owner = NULL FROM v WHERE m.id = v.id AND m.state = ${PENDING} RETURNING m.id),
      a AS (INSERT INTO ${s}.attempts (message_id, at, status, latency_ms) SELECT v.id, v.at, v.status, v.latency FROM v JOIN u ON u.id = v.id)
      SELECT id FROM u`,
    failed: `UPDATE ${s}.messages SET state = ${FAILED}, attempts = $1, ended_at = $2, reason = $3, has_last = $4, last_status = $5, last_error_code = $6, last_error_message = $7, last_body = $8, owner = NULL WHERE id = $9 AND state = ${PENDING}`,
    failedWith: `WITH u AS (UPDATE ${s}.messages SET state = ${FAILED}, attempts = $1, ended_at = $2, reason = $3, has_last = $4, last_status = $5, last_error_code = $6, last_error_message = $7, last_body = $8, owner = NULL WHERE id = $9 AND state = ${PENDING} RETURNING id) ${ATTEMPT_INSERT(s, 'u', 10)}`,
    pending: `SELECT ${RECORD_COLUMNS} FROM ${s}.messages WHERE state = ${PENDING} AND id > $1 ORDER BY id LIMIT $2`,
    pendingOf: `SELECT ${RECORD_COLUMNS} FROM ${s}.messages WHERE state = ${PENDING} AND origin = $1 AND id > $2 ORDER BY id LIMIT $3`,
    pendingOrigins: `SELECT origin, count(*)::int AS count FROM ${s}.messages WHERE state = ${PENDING} GROUP BY origin ORDER BY origin`,
    get: `SELECT ${RECORD_COLUMNS} FROM ${s}.messages WHERE id = $1`,
    facts: `SELECT id, event_id, event_type, url, origin, state, accepted_at FROM ${s}.messages WHERE id = $1`,
    attemptsOf: `SELECT at, status, error_code, error_message, latency_ms FROM ${s}.attempts WHERE message_id = $1 ORDER BY seq`,
    /** One chunk of ended messages of state $1 that ended before $2, with their attempts. */
    prune: `WITH doomed AS (SELECT id FROM ${s}.messages WHERE state = $1 AND ended_at < $2 LIMIT $3), a AS (DELETE FROM ${s}.attempts WHERE message_id IN (SELECT id FROM doomed)) DELETE FROM ${s}.messages WHERE id IN (SELECT id FROM doomed)`,
    deadLetters(origin: boolean, reason: boolean, after: boolean): string {
      const where = [`state = ${FAILED}`];
      let p = 0;
      if (origin) where.push(`origin = $${++p}`);
      if (reason) where.push(`reason = $${++p}`);
      if (after) where.push(`(ended_at, id) < ($${++p}, $${++p})`);
      return `SELECT id, event_id, event_type, url, origin, attempts, reason, ended_at, ${LAST_COLUMNS} FROM ${s}.messages WHERE ${where.join(' AND ')} ORDER BY ended_at DESC, id DESC LIMIT $${p + 1}`;
    },

    // Leases: $1 owner, $2 now, $3 lease end.
    /** Origin leases of ordered origins with messages nobody holds: taken when free, lapsed or ours. */
    takeOrigins: `INSERT INTO ${s}.origin_leases AS l (origin, owner, lease_until)
      SELECT DISTINCT origin, $1, $3::float8 FROM ${s}.messages WHERE state = ${PENDING} AND ordered AND lease_until < $2 ORDER BY origin
      ON CONFLICT (origin) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until WHERE l.owner = EXCLUDED.owner OR l.lease_until < $2`,
    /** Messages of the ordered origins whose lease we hold, in id order, due or not ($4 limit). */
    claimOrdered: `WITH picked AS (SELECT m.id FROM ${s}.messages m JOIN ${s}.origin_leases l ON l.origin = m.origin AND l.owner = $1
        WHERE m.state = ${PENDING} AND m.ordered AND m.lease_until < $2 ORDER BY m.id LIMIT $4 FOR UPDATE OF m SKIP LOCKED)
      UPDATE ${s}.messages m SET owner = $1, lease_until = $3 FROM picked WHERE m.id = picked.id RETURNING ${returning}`,
    /** Due messages nobody holds (unowned, or their lease lapsed), oldest first ($4 limit). */
    claim: `WITH picked AS (SELECT id FROM ${s}.messages WHERE state = ${PENDING} AND NOT ordered AND lease_until < $2 AND due_at <= $2
        ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
      UPDATE ${s}.messages m SET owner = $1, lease_until = $3 FROM picked WHERE m.id = picked.id RETURNING ${returning}`,
    /**
     * $1 owner, $2 lease end. SKIP LOCKED: a row locked now is being written by its owner's own
     * batch (an attempt or an end); waiting for that batch would make the renewal late for every
     * other row. A row skipped is renewed at the next tick, a third of a lease later.
     */
    renew: `WITH mine AS (SELECT id FROM ${s}.messages WHERE state = ${PENDING} AND owner = $1 FOR UPDATE SKIP LOCKED),
      m AS (UPDATE ${s}.messages u SET lease_until = $2 FROM mine WHERE u.id = mine.id RETURNING 1),
      o AS (UPDATE ${s}.origin_leases SET lease_until = $2 WHERE owner = $1) SELECT count(*)::int AS n FROM m`,
    releaseAll: `WITH m AS (UPDATE ${s}.messages SET owner = NULL, lease_until = 0 WHERE state = ${PENDING} AND owner = $1)
      DELETE FROM ${s}.origin_leases WHERE owner = $1`,
    releaseSome: `UPDATE ${s}.messages SET owner = NULL, lease_until = 0 WHERE state = ${PENDING} AND owner = $1 AND id = ANY($2::text[])`,
  };
}

export type Statements = ReturnType<typeof statements>;
