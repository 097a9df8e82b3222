/**
 * What a multi-process scenario reads of the machine (Linux /proc; NaN or 0 elsewhere): how busy
 * every core was, the Postgres server's CPU, and a poll for a real event (a receiver's count).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Busy and total jiffies of every core since boot (Linux); NaN elsewhere. */
export function machineCpu(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - fields[3]! - (fields[4] ?? 0), total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

const TICK_US = 1e6 / 100; // USER_HZ: 100 on Linux

/** CPU ticks (user + system) of every process named `postgres` now, by pid (Linux; empty elsewhere): the server's backends. */
export function postgresTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (!stat.includes('(postgres)')) continue;
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks.set(pid, Number(fields[11]) + Number(fields[12]));
      } catch {
        // The process ended meanwhile.
      }
    }
  } catch {
    // No /proc: nothing to count.
  }
  return ticks;
}

/**
 * The Postgres server's CPU (µs) between two {@link postgresTicks}: per process, so a backend
 * that ended meanwhile (an idle pool connection closed) takes nothing off; its own last ticks
 * are missed, and other users' queries count too.
 */
export function postgresCpuUs(before: Map<string, number>, after: Map<string, number>): number {
  let ticks = 0;
  for (const [pid, n] of after) ticks += n - (before.get(pid) ?? 0);
  return ticks * TICK_US;
}

/** Polls `done` every 10 ms (a real event: the receiver's count) until it holds, or fails after `timeoutMs`. */
export async function until(what: string, done: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await sleep(10);
  }
}
