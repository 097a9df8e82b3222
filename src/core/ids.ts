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

/** Character codes of the two hex digits of each byte value: `HEX[2b]`, `HEX[2b + 1]`. */
const HEX = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  const digits = b.toString(16).padStart(2, '0');
  HEX[2 * b] = digits.charCodeAt(0);
  HEX[2 * b + 1] = digits.charCodeAt(1);
}
/**
 * The id's 36 character codes, dashes in place, rewritten for each id and turned into one
 * flat string. Joining 32 hex pairs with `+` instead builds a tree of ~30 rope nodes, about
 * 480 bytes per id against 56 flat; ids live as long as their messages, often in a queue.
 */
const codes: number[] = new Array<number>(36).fill(0x2d /* - */);
/** Where each of the 16 bytes' two digits go. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

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

function put(byte: number, value: number): void {
  const i = AT[byte]!;
  codes[i] = HEX[value << 1]!;
  codes[i + 1] = HEX[(value << 1) + 1]!;
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
  put(0, (hi >>> 16) & 0xff);
  put(1, (hi >>> 8) & 0xff);
  put(2, hi & 0xff);
  put(3, (lo >>> 16) & 0xff);
  put(4, (lo >>> 8) & 0xff);
  put(5, lo & 0xff);
  put(6, 0x70 | (counter >>> 8));
  put(7, counter & 0xff);
  put(8, 0x80 | (pool[at + 2]! & 0x3f));
  for (let i = 9; i < 16; i++) put(i, pool[at + i - 6]!);
  return String.fromCharCode.apply(null, codes);
}

/** The creation time a UUIDv7 carries, in Unix milliseconds. */
export function uuidv7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
