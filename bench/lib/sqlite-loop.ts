/**
 * The naive durable baseline: what a user writes instead of a durable dispatcher, on
 * better-sqlite3 directly. Per message: INSERT the row (its own transaction: the message is
 * durable before it is sent), a signed `pool.request()`, then UPDATE it delivered (another
 * transaction). The same file settings as `sqliteStore` (WAL, `synchronous = NORMAL`, exclusive
 * lock), no sealing, no retries, no events: the least a correct durable sender does, with one
 * commit per write instead of group commit.
 */
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { envelope, signedRequest } from './signed.js';
import { POOL_TIMEOUTS, type Jobs } from './workload.js';

/** `perHost` workers per origin, each storing, sending and marking its host's next message. Resolves with deliveries. */
export async function sqliteLoop(path: string, origins: string[], jobs: Jobs, perHost: number, key: Buffer): Promise<number> {
  const db = new Database(path);
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL, state INTEGER NOT NULL, accepted_at INTEGER NOT NULL, ended_at INTEGER)');
  db.exec('CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE state = 0');
  const insert = db.prepare('INSERT INTO outbox (id, url, body, state, accepted_at) VALUES (?, ?, ?, 0, ?)');
  const done = db.prepare('UPDATE outbox SET state = 1, ended_at = ? WHERE id = ?');
  const pools = origins.map((o) => new Pool(o, { connections: perHost, ...POOL_TIMEOUTS }));
  const counts: number[] = new Array(origins.length).fill(0);
  for (const h of jobs) counts[h]!++;
  let delivered = 0;
  const worker = async (h: number, left: { n: number }) => {
    while (left.n > 0) {
      left.n--;
      const { id, body } = envelope();
      insert.run(id, `${origins[h]}/hook`, body, Date.now());
      const res = await pools[h]!.request(signedRequest(key, id, body));
      await res.body.dump();
      if (res.statusCode < 300) {
        done.run(Date.now(), id);
        delivered++;
      }
    }
  };
  try {
    await Promise.all(
      pools.flatMap((_, h) => {
        const left = { n: counts[h]! };
        return Array.from({ length: Math.min(perHost, left.n) }, () => worker(h, left));
      }),
    );
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    db.close();
  }
  return delivered;
}
