/**
 * Three processes, one host limit: each child runs a dispatcher of the same cluster and sends
 * its share at once to one real receiver limited to 100/s (burst 10). The receiver sees the
 * shared rate sustained (>= 90/s) and no one-second window above perSecond + burst + what can
 * be in flight across the processes (a request permitted before a window may land in it).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { maxInWindow } from './support/windows.js';
import { Receiver } from './receiver.js';
import { describeRedis, dropKeys, testPrefix } from './support/redis.js';

const fixture = fileURLToPath(new URL('./fixtures/cluster-sender.ts', import.meta.url));
const prefix = testPrefix('processes');
afterAll(() => dropKeys(prefix));

const PROCESSES = 3;
const PER_PROCESS = 150;
const LIMIT = { perSecond: 100, burst: 10 };
// The default: with fewer slots, a slow answer on a loaded machine leaves a reserved batch
// unspent past its hold, and its share of the rate is lost.
const CONCURRENCY = 10;


/** Resolves with the child once it printed `line`; collects its whole output. */
function waitFor(child: ChildProcessWithoutNullStreams, out: { text: string }, line: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => line.test(out.text) && resolve();
    child.stdout.on('data', check);
    child.on('exit', (code) => (line.test(out.text) ? resolve() : reject(new Error(`sender exited (${code}) before ${line}: ${out.text}`))));
    check();
  });
}

describeRedis('three processes sharing one host limit', () => {
  // One retry: with the whole suite on two cores, four busy processes (three senders and this
  // receiver) are sometimes starved for long enough that the receiver, not the shared limit,
  // sets the pace (measured once in five full runs: 82/s and 89/s; alone: 97 to 100/s).
  it(`together keep ${LIMIT.perSecond}/s: sustained, and never a second above perSecond + burst + in flight`, { retry: 1 }, async () => {
    const arrivals: number[] = [];
    const rx = await Receiver.start((request) => {
      arrivals.push(request.at);
      return { kind: 'status', status: 200 };
    });
    rx.keepRequests = false;
    const children: ChildProcessWithoutNullStreams[] = [];
    try {
      const outs = Array.from({ length: PROCESSES }, () => ({ text: '' }));
      for (const out of outs) {
        const child = spawn(process.execPath, ['--import', 'tsx', fixture, rx.url(), prefix, String(PER_PROCESS), String(LIMIT.perSecond), String(LIMIT.burst), String(CONCURRENCY)]);
        child.stdout.on('data', (chunk: Buffer) => (out.text += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (out.text += chunk.toString()));
        children.push(child);
      }
      await Promise.all(children.map((c, i) => waitFor(c, outs[i]!, /^ready$/m)));
      for (const c of children) c.stdin.write('go\n');
      await Promise.all(children.map((c, i) => waitFor(c, outs[i]!, /^done /m)));
      for (const out of outs) expect(out.text).toMatch(new RegExp(`done delivered=${PER_PROCESS} failed=0`));
      for (const out of outs) expect(out.text).not.toMatch(/warning/);
    } finally {
      for (const c of children) c.kill();
      await rx.stop();
    }
    const total = PROCESSES * PER_PROCESS;
    expect(arrivals).toHaveLength(total);
    arrivals.sort((a, b) => a - b);
    const spanMs = arrivals[total - 1]! - arrivals[0]!;
    // Sustained: the middle 90% of the deliveries, past the first bucket (the burst arrives at
    // once) and before the last few, which a loaded machine may straggle.
    const [from, to] = [Math.floor(total * 0.05), Math.floor(total * 0.95)];
    const rate = ((to - from) * 1000) / (arrivals[to]! - arrivals[from]!);
    const worst = maxInWindow(arrivals, 1_000);
    const summary = `three processes: ${total} deliveries in ${spanMs} ms, ${rate.toFixed(1)}/s sustained, at most ${worst} in any second`;
    console.log(summary);
    expect(rate, summary).toBeGreaterThanOrEqual(90);
    expect(worst, summary).toBeLessThanOrEqual(LIMIT.perSecond + LIMIT.burst + PROCESSES * CONCURRENCY);
  });
});
