/** Small numeric helpers for the benchmarks. */
import hdr from 'hdr-histogram-js';
// One implementation for the rate checks of the tests and the benchmarks' rate report: it
// lives beside the tests (they must not import from bench/), and bench imports it from there.
import { maxInWindow } from '../../test/support/windows.js';

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
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
