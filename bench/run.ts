/**
 * The benchmark suite: `npm run bench` (the quick profile) or `npm run bench -- --profile full`.
 * `npm run bench -- --help` lists the flags. A run prints a table and writes JSON, Markdown
 * and an SVG chart to bench/results/latest/ (ignored by git); only `--save` on a complete run
 * rewrites the committed bench/results/<profile>.* files.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createContext, type Context, type ScenarioResult } from './lib/context.js';
import { machine, missed, printTable, write } from './lib/report.js';

type Scenario = { run: (ctx: Context) => Promise<ScenarioResult> };

/** Scenario ids are stable: new scenarios are added at the end. */
const SCENARIOS: Record<string, [name: string, load: () => Promise<Scenario>]> = {
  '1': ['one host', () => import('./scenarios/01-one-host.js')],
  '2': ['1,000 hosts', () => import('./scenarios/02-thousand-hosts.js')],
  '3': ['fan-out to 1,000 endpoints', () => import('./scenarios/03-fan-out.js')],
  '4': ['10,000 hosts', () => import('./scenarios/04-ten-thousand-hosts.js')],
  '5': ['rate accuracy', () => import('./scenarios/05-rate-accuracy.js')],
  '6': ['queued memory', () => import('./scenarios/06-queued-memory.js')],
  '7': ['faults', () => import('./scenarios/07-faults.js')],
  '8': ['latency', () => import('./scenarios/08-latency.js')],
  '9': ['200 hosts', () => import('./scenarios/09-two-hundred-hosts.js')],
  '10': ['embedding cost', () => import('./scenarios/10-embedding-cost.js')],
  '11': ['refusals and big publishes', () => import('./scenarios/11-refusals.js')],
  '12': ['durable throughput', () => import('./scenarios/12-durable-throughput.js')],
  '13': ['dead host backlog on disk', () => import('./scenarios/13-disk-backlog.js')],
  '14': ['recovery', () => import('./scenarios/14-recovery.js')],
  '15': ['telemetry cost', () => import('./scenarios/15-telemetry-cost.js')],
  '16': ['group commit vs naive SQLite', () => import('./scenarios/16-group-commit.js')],
  '17': ['durable vs BullMQ', () => import('./scenarios/17-bullmq-peer.js')],
  '18': ['Postgres store, 1 and 3 processes', () => import('./scenarios/18-postgres-processes.js')],
  '19': ['shared rate limit, 3 processes', () => import('./scenarios/19-shared-rate.js')],
  '20': ['token bucket vs Bottleneck', () => import('./scenarios/20-bottleneck-limiter.js')],
  '21': ['signing cost, HMAC and ed25519', () => import('./scenarios/21-signing-cost.js')],
  '22': ['deep queue, 1 and 200 hosts', () => import('./scenarios/22-deep-queue.js')],
  '23': ['1,000 endpoints on one host', () => import('./scenarios/23-endpoint-fairness.js')],
};

const HELP = `Usage: npm run bench -- [flags]

  --profile quick|full  quick (default, a few minutes) or full (the long run); env BENCH_PROFILE
  --only 1,5            run only these scenarios; env BENCH_ONLY
  --check               exit 1 when a target is missed (for CI); the misses are listed
  --save                write the committed bench/results/<profile>.{json,md,svg} (a complete run only)
  --help                this text

Every run writes bench/results/latest/<profile>.{json,md} and <profile>-throughput.svg (ignored by git).
Scenarios: ${Object.entries(SCENARIOS)
  .map(([id, [name]]) => `${id}. ${name}`)
  .join(', ')}.`;

function fail(message: string): never {
  console.error(`${message}. \`npm run bench -- --help\` lists the flags.`);
  process.exit(2);
}

let flags: { profile?: string; only?: string; check?: boolean; save?: boolean; help?: boolean };
try {
  flags = parseArgs({
    options: { profile: { type: 'string' }, only: { type: 'string' }, check: { type: 'boolean' }, save: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }).values;
} catch (error) {
  fail((error as Error).message);
}
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}
const profile = flags.profile ?? process.env.BENCH_PROFILE ?? 'quick';
if (profile !== 'quick' && profile !== 'full') fail(`Expected the profile to be \`quick\` or \`full\`, got \`${profile}\``);
const onlyText = flags.only ?? process.env.BENCH_ONLY;
const only = onlyText?.split(',').map((s) => s.trim()).filter((s) => s !== '');
const unknown = only?.filter((id) => SCENARIOS[id] === undefined) ?? [];
if (unknown.length > 0) fail(`Expected scenario ids among ${Object.keys(SCENARIOS).join(', ')}, got \`${unknown.join(', ')}\``);
const ids = Object.keys(SCENARIOS).filter((id) => only === undefined || only.includes(id));
const complete = ids.length === Object.keys(SCENARIOS).length;
if (flags.save && !complete) fail('Expected a complete run with --save (the committed results hold every scenario), got --only');

const ctx = createContext(profile);
console.log(`webhook-dispatcher benchmarks, profile ${profile}: ${machine()}`);
const started = performance.now();
const results: ScenarioResult[] = [];
let crashed = false;
for (const id of ids) {
  const [name, load] = SCENARIOS[id]!;
  // On a terminal the progress bars show what runs; in CI or a pipe, a line does.
  if (!process.stdout.isTTY) console.log(`  ${id}. ${name}…`);
  const t0 = performance.now();
  try {
    const result = await (await load()).run(ctx);
    results.push(result);
    console.log(`  ${id}. ${result.title}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (error) {
    crashed = true;
    console.error(`  ${id}. failed: ${(error as Error).stack ?? String(error)}`);
  }
}
const seconds = (performance.now() - started) / 1000;
printTable(results);

const misses = missed(results);
const targets = results.reduce((n, r) => n + r.rows.filter((row) => row.pass !== undefined).length, 0);
console.log(`\n${targets - misses.length} of ${targets} targets met in ${seconds.toFixed(0)} s.`);
if (misses.length > 0) console.log(`Missed:\n${misses.map((m) => `  ${m}`).join('\n')}`);

const resultsDir = fileURLToPath(new URL('./results', import.meta.url));
write(`${resultsDir}/latest`, results, profile, seconds);
console.log(`Written: bench/results/latest/${profile}.{json,md} and ${profile}-throughput.svg`);
if (flags.save) {
  if (crashed) {
    console.error('Not saved: a scenario failed.');
  } else {
    write(resultsDir, results, profile, seconds);
    console.log(`Saved: bench/results/${profile}.{json,md} and ${profile}-throughput.svg`);
  }
}
process.exit(crashed || (flags.check && misses.length > 0) ? 1 : 0);
