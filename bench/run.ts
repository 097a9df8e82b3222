/**
 * The benchmark suite: `npm run bench` (quick, under 2 minutes) or `BENCH_PROFILE=full npm run bench`.
 * `BENCH_ONLY=1,5` runs some scenarios. Results: a table here, and JSON, Markdown and an SVG
 * chart under bench/results/ (only for complete runs).
 */
import { fileURLToPath } from 'node:url';
import { createContext, type Profile, type ScenarioResult } from './lib/context.js';
import { machine, printTable, write } from './lib/report.js';

const SCENARIOS: Record<string, () => Promise<{ run: (ctx: ReturnType<typeof createContext>) => Promise<ScenarioResult> }>> = {
  '1': () => import('./scenarios/01-one-host.js'),
  '2': () => import('./scenarios/02-thousand-hosts.js'),
  '3': () => import('./scenarios/03-fan-out.js'),
  '4': () => import('./scenarios/04-ten-thousand-hosts.js'),
  '5': () => import('./scenarios/05-rate-accuracy.js'),
  '6': () => import('./scenarios/06-queued-memory.js'),
  '7': () => import('./scenarios/07-faults.js'),
  '8': () => import('./scenarios/08-latency.js'),
};

const profile = (process.env.BENCH_PROFILE ?? 'quick') as Profile;
if (profile !== 'quick' && profile !== 'full') {
  console.error(`BENCH_PROFILE must be quick or full, got ${profile}`);
  process.exit(2);
}
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const ids = Object.keys(SCENARIOS).filter((id) => only === undefined || only.includes(id));
const ctx = createContext(profile);

console.log(`webhook-dispatcher benchmarks, profile ${profile}: ${machine()}`);
const started = performance.now();
const results: ScenarioResult[] = [];
let failed = false;
for (const id of ids) {
  const t0 = performance.now();
  try {
    const { run } = await SCENARIOS[id]!();
    const result = await run(ctx);
    results.push(result);
    console.log(`  ${id}. ${result.title}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (error) {
    failed = true;
    console.error(`  ${id}. failed: ${(error as Error).stack ?? String(error)}`);
  }
}
const seconds = (performance.now() - started) / 1000;
printTable(results);
if (only === undefined && !failed) {
  const dir = fileURLToPath(new URL('./results', import.meta.url));
  write(dir, results, profile, seconds);
  console.log(`\nWritten: bench/results/${profile}.{json,md} and ${profile}-throughput.svg (${seconds.toFixed(0)} s)`);
}
process.exit(failed ? 1 : 0);
