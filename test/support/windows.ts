/**
 * Counting arrivals in sliding windows: the check every rate-limit test makes (no second may
 * see more than the limit lets through). The benchmarks' rate report uses the same function.
 */

/**
 * The most arrivals in any half-open window of `ms`: for every arrival, how many arrived in
 * the `ms` before it, itself included. `times` must be sorted ascending.
 */
export function maxInWindow(times: readonly number[], ms: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}
