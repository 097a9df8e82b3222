import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562) ids for messages and events: unique across processes and time, sortable
 * by creation time as strings and as Postgres `uuid`s, because several processes share one
 * database from v1 on.
 *
 * Layout: 48 bits of Unix milliseconds, version 7, 12 bits of a per-process counter (the
 * RFC's "fixed-length dedicated counter", method 1, seeded at random each millisecond), the
 * variant, and 62 random bits. Ids made in one process are strictly increasing: when the
 * counter runs out within a millisecond, or the wall clock steps back, the timestamp is
 * carried forward instead.
 *
 * Random bytes come from a pooled `randomFillSync`: one system call per 512 ids, not per id.
 */

const POOL_IDS = 512;
/** Bytes drawn per id: 2 to seed the counter, 8 for the variant's group and the last group. */
const SLOT = 10;
const pool = Buffer.alloc(POOL_IDS * SLOT);
let poolAt = pool.length;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

let lastMs = -1;
let counter = 0;

/** Where this id's random bytes start in the pool. */
function slot(): number {
  if (poolAt >= pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += SLOT;
  return at;
}

/** A new UUIDv7 string, later than every id this process made before. `nowMs`: the clock's reading. */
export function uuidv7(nowMs: number): string {
  let ms = Math.floor(nowMs);
  const at = slot();
  if (ms > lastMs) {
    // A new millisecond: the counter starts at a random point in its lower half, leaving room.
    counter = ((pool[at]! << 8) | pool[at + 1]!) & 0x7ff;
    lastMs = ms;
  } else {
    ms = lastMs;
    if (++counter > 0xfff) {
      counter = 0;
      ms = ++lastMs;
    }
  }
  const hi = Math.floor(ms / 0x1000000);
  const lo = ms % 0x1000000;
  return (
    HEX[(hi >>> 16) & 0xff]! + HEX[(hi >>> 8) & 0xff]! + HEX[hi & 0xff]! + HEX[(lo >>> 16) & 0xff]! + '-' +
    HEX[(lo >>> 8) & 0xff]! + HEX[lo & 0xff]! + '-' +
    HEX[0x70 | (counter >>> 8)]! + HEX[counter & 0xff]! + '-' +
    HEX[0x80 | (pool[at + 2]! & 0x3f)]! + HEX[pool[at + 3]!]! + '-' +
    HEX[pool[at + 4]!]! + HEX[pool[at + 5]!]! + HEX[pool[at + 6]!]! + HEX[pool[at + 7]!]! + HEX[pool[at + 8]!]! + HEX[pool[at + 9]!]!
  );
}

/** The creation time a UUIDv7 carries, in Unix milliseconds. */
export function uuidv7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
