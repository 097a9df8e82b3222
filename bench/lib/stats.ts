/** Small numeric helpers for the benchmarks. */
import hdr from 'hdr-histogram-js';

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The most arrivals in any half-open window of `ms` (times sorted ascending). */
export function maxInWindow(times: number[], ms: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/**
 * A rate-limited host's arrivals (ms, sorted) against its limit: the steady rate as a share of
 * `perSecond`, from one second after the first arrival (past the initial burst, the connections
 * being opened and the JIT warming up) to the last, and the most arrivals in any second.
 */
export function rateAccuracy(times: number[], perSecond: number): { achieved: number; span: number; worst: number } {
  const from = times[0]! + 1000;
  const steady = times.filter((t) => t >= from);
  const span = (times.at(-1)! - from) / 1000;
  return { achieved: steady.length / span / perSecond, span, worst: maxInWindow(times, 1000) };
}

/** A latency histogram in microseconds, 1 µs to 60 s, 3 significant digits. */
export function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

export function gcHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}
