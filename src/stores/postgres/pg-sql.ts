import { DELIVERED, FAILED, PENDING } from './pg-schema.js';
import { DEAD_LETTER_COLUMNS, FACTS_COLUMNS, RECORD_COLUMNS } from '../common/store-rows.js';

/** The Postgres store's statements for one schema (`s` is the quoted schema name). */

const RECORD = RECORD_COLUMNS.split(', ');
const INSERT_COLUMNS = `${RECORD_COLUMNS}, owner, ordered, lease_until, state`;
/** Parameters per inserted row: the record's columns, then owner and ordered (the lease is the database's time). */
export const INSERT_PARAMS = RECORD.length + 2;

/**
 * The database server's clock in milliseconds: every lease time (`lease_until`) is written and
 * compared in it, never in a process's clock, so processes need no clocks in step.
 * `clock_timestamp()`, not `now()`: a transaction waiting on a lock must not judge leases by
 * the time it began.
 */
export const DB_NOW = '(extract(epoch from clock_timestamp()) * 1000)::float8';

/**
 * The fence of an attempt or end, parameters `$p` (owner) and `$p+1` (lease generation): with
 * an owner, the write applies only while that owner holds the message under that generation;
 * a `NULL` owner writes unfenced (a store used by one process, or a caller without leases).
 */
const fenced = (p: number) => `AND ($${p}::text IS NULL OR (owner = $${p}::text AND lease_gen = $${p + 1}::int))`;
/** Rows per INSERT statement: under Postgres's 65,535 parameters. */
export const INSERT_ROWS = 500;

const ATTEMPT_INSERT = (s: string, from: string, p: number) =>
  `INSERT INTO ${s}.attempts (message_id, at, status, error_code, error_message, latency_ms) SELECT id, $${p}::float8, $${p + 1}::int, $${p + 2}::text, $${p + 3}::text, $${p + 4}::float8 FROM ${from}`;

/**
 * The CTEs that end many messages as delivered, each with its last attempt, under its fence:
 * `v` the rows (parameters from `$p` on: ids, attempts, ended at, statuses, latencies, fence
 * owners, fence generations, as arrays), `u` the ids it ended, `t` the attempts it wrote.
 */
export function deliveredEnds(s: string, p: number): string {
  return `v AS (SELECT * FROM unnest($${p}::text[], $${p + 1}::int[], $${p + 2}::float8[], $${p + 3}::int[], $${p + 4}::float8[], $${p + 5}::text[], $${p + 6}::int[]) AS v(id, attempts, at, status, latency, fence_owner, fence_gen)),
      u AS (UPDATE ${s}.messages m SET state = ${DELIVERED}, attempts = v.attempts, ended_at = v.at, owner = NULL FROM v WHERE m.id = v.id AND m.state = ${PENDING}
        AND (v.fence_owner IS NULL OR (m.owner = v.fence_owner AND m.lease_gen = v.fence_gen)) RETURNING m.id),
      t AS (INSERT INTO ${s}.attempts (message_id, at, status, latency_ms) SELECT v.id, v.at, v.status, v.latency FROM v JOIN u ON u.id = v.id)`;
}

export function statements(s: string, leaseMs: number) {
  const until = `${DB_NOW} + ${leaseMs}`;
  const returning = RECORD.map((c) => `m.${c}`).join(', ');
  return {
    /** An `INSERT` of `rows` messages. */
    insert(rows: number): string {
      const values: string[] = [];
      for (let r = 0; r < rows; r++) {
        const at = r * INSERT_PARAMS;
        const owner = `$${at + INSERT_PARAMS - 1}`;
        // An owned row is leased from now on the database's clock; an unowned one is anybody's.
        values.push(`(${Array.from({ length: INSERT_PARAMS }, (_, i) => `$${at + i + 1}`).join(', ')}, CASE WHEN ${owner}::text IS NULL THEN 0 ELSE ${until} END, ${PENDING})`);
      }
      return `INSERT INTO ${s}.messages (${INSERT_COLUMNS}) VALUES ${values.join(', ')}`;
    },
    // Each is one round trip: the update, and the attempt row only when the update matched.
    attempt: `WITH u AS (UPDATE ${s}.messages SET attempts = $1, due_at = $2, has_last = $3, last_status = $4, last_error_code = $5, last_error_message = $6, last_body = $7 WHERE id = $8 AND state = ${PENDING} ${fenced(14)} RETURNING id) ${ATTEMPT_INSERT(s, 'u', 9)}`,
    delivered: `UPDATE ${s}.messages SET state = ${DELIVERED}, attempts = $1, ended_at = $2, owner = NULL WHERE id = $3 AND state = ${PENDING} ${fenced(4)}`,
    deliveredWith: `WITH u AS (UPDATE ${s}.messages SET state = ${DELIVERED}, attempts = $1, ended_at = $2, owner = NULL WHERE id = $3 AND state = ${PENDING} ${fenced(9)} RETURNING id) ${ATTEMPT_INSERT(s, 'u', 4)}`,
    /**
     * Many delivered ends with their last attempts in one round trip (the common write):
     * $1 ids, $2 attempts, $3 ended at, $4 statuses, $5 latencies, $6 fence owners, $7 fence
     * generations. Returns the ids it ended.
     */
    deliveredMany: `WITH ${deliveredEnds(s, 1)} SELECT id FROM u`,
    failed: `UPDATE ${s}.messages SET state = ${FAILED}, attempts = $1, ended_at = $2, reason = $3, has_last = $4, last_status = $5, last_error_code = $6, last_error_message = $7, last_body = $8, owner = NULL WHERE id = $9 AND state = ${PENDING} ${fenced(10)}`,
    failedWith: `WITH u AS (UPDATE ${s}.messages SET state = ${FAILED}, attempts = $1, ended_at = $2, reason = $3, has_last = $4, last_status = $5, last_error_code = $6, last_error_message = $7, last_body = $8, owner = NULL WHERE id = $9 AND state = ${PENDING} ${fenced(15)} RETURNING id) ${ATTEMPT_INSERT(s, 'u', 10)}`,
    pending: `SELECT ${RECORD_COLUMNS} FROM ${s}.messages WHERE state = ${PENDING} AND id > $1 ORDER BY id LIMIT $2`,
    pendingOf: `SELECT ${RECORD_COLUMNS} FROM ${s}.messages WHERE state = ${PENDING} AND origin = $1 AND id > $2 ORDER BY id LIMIT $3`,
    pendingOrigins: `SELECT origin, count(*)::int AS count FROM ${s}.messages WHERE state = ${PENDING} GROUP BY origin ORDER BY origin`,
    get: `SELECT ${RECORD_COLUMNS} FROM ${s}.messages WHERE id = $1`,
    /** A dead letter's newest replay ($1 its message id, $2 when): a failed message only, else no row (refused). */
    replayed: `UPDATE ${s}.messages SET replayed_as = $1, replayed_at = $2 WHERE id = $3 AND state = ${FAILED}`,
    facts: `SELECT ${FACTS_COLUMNS} FROM ${s}.messages WHERE id = $1`,
    attemptsOf: `SELECT at, status, error_code, error_message, latency_ms FROM ${s}.attempts WHERE message_id = $1 ORDER BY seq`,
    /** One chunk of ended messages of state $1 that ended before $2, with their attempts. */
    prune: `WITH doomed AS (SELECT id FROM ${s}.messages WHERE state = $1 AND ended_at < $2 LIMIT $3), a AS (DELETE FROM ${s}.attempts WHERE message_id IN (SELECT id FROM doomed)) DELETE FROM ${s}.messages WHERE id IN (SELECT id FROM doomed)`,
    deadLetters(origin: boolean, reason: boolean, after: boolean): string {
      const where = [`state = ${FAILED}`];
      let p = 0;
      if (origin) where.push(`origin = $${++p}`);
      if (reason) where.push(`reason = $${++p}`);
      if (after) where.push(`(ended_at, id) < ($${++p}, $${++p})`);
      return `SELECT ${DEAD_LETTER_COLUMNS} FROM ${s}.messages WHERE ${where.join(' AND ')} ORDER BY ended_at DESC, id DESC LIMIT $${p + 1}`;
    },

    // Leases, all timed by the database's clock (DB_NOW); $1 is the claiming owner. A claim by
    // a new owner bumps `lease_gen`, the fencing token its attempts and ends are checked against.
    /** Origin leases of ordered origins with messages nobody holds: taken when free, lapsed or ours. */
    takeOrigins: `INSERT INTO ${s}.origin_leases AS l (origin, owner, lease_until)
      SELECT o.origin, $1, ${until} FROM (SELECT DISTINCT origin FROM ${s}.messages WHERE state = ${PENDING} AND ordered AND lease_until < ${DB_NOW}) o ORDER BY o.origin
      ON CONFLICT (origin) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until WHERE l.owner = EXCLUDED.owner OR l.lease_until < ${DB_NOW}`,
    /**
     * Messages of the ordered origins whose lease we hold, in id order, due or not ($2 limit).
     * Never our own (a lapsed lease of ours that nobody took): we hold those in memory already.
     */
    claimOrdered: `WITH picked AS (SELECT m.id FROM ${s}.messages m JOIN ${s}.origin_leases l ON l.origin = m.origin AND l.owner = $1
        WHERE m.state = ${PENDING} AND m.ordered AND m.lease_until < ${DB_NOW} AND m.owner IS DISTINCT FROM $1 ORDER BY m.id LIMIT $2 FOR UPDATE OF m SKIP LOCKED)
      UPDATE ${s}.messages m SET owner = $1, lease_until = ${until}, lease_gen = m.lease_gen + 1 FROM picked WHERE m.id = picked.id RETURNING ${returning}, m.lease_gen`,
    /**
     * Due messages nobody holds (unowned, or their lease lapsed), oldest first ($2 the caller's
     * now, for `due_at`, which is the caller's retry schedule; $3 limit).
     */
    claim: `WITH picked AS (SELECT id FROM ${s}.messages WHERE state = ${PENDING} AND NOT ordered AND lease_until < ${DB_NOW} AND due_at <= $2 AND owner IS DISTINCT FROM $1
        ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
      UPDATE ${s}.messages m SET owner = $1, lease_until = ${until}, lease_gen = m.lease_gen + 1 FROM picked WHERE m.id = picked.id RETURNING ${returning}, m.lease_gen`,
    /**
     * Extends every lease $1 holds, lapsed or not (nobody took a lapsed one: a claim would have
     * changed its owner), and returns the ids of every message $1 holds. SKIP LOCKED: a row
     * locked now is being written by its owner's own batch (an attempt or an end); waiting for
     * that batch would make the renewal late for every other row. A row skipped is renewed at
     * the next tick, a third of a lease later, and is listed all the same.
     */
    renew: `WITH mine AS (SELECT id FROM ${s}.messages WHERE state = ${PENDING} AND owner = $1 FOR UPDATE SKIP LOCKED),
      m AS (UPDATE ${s}.messages u SET lease_until = ${until} FROM mine WHERE u.id = mine.id RETURNING 1),
      o AS (UPDATE ${s}.origin_leases SET lease_until = ${until} WHERE owner = $1)
      SELECT id FROM ${s}.messages WHERE state = ${PENDING} AND owner = $1`,
    releaseAll: `WITH m AS (UPDATE ${s}.messages SET owner = NULL, lease_until = 0 WHERE state = ${PENDING} AND owner = $1)
      DELETE FROM ${s}.origin_leases WHERE owner = $1`,
    releaseSome: `UPDATE ${s}.messages SET owner = NULL, lease_until = 0 WHERE state = ${PENDING} AND owner = $1 AND id = ANY($2::text[])`,
  };
}

export type Statements = ReturnType<typeof statements>;
