/** Scenario 2: 1,000 hosts (1,000 origins, 1,000 actors), no rate limit, closed loop. */
import type { Context, ScenarioResult } from '../lib/context.js';
import { throughput } from '../lib/throughput.js';

export function run(ctx: Context): Promise<ScenarioResult> {
  return throughput(ctx, {
    id: '2',
    title: '1,000 hosts, unlimited',
    hosts: 1_000,
    perHost: 2,
    messages: ctx.pick(20_000, 100_000),
    naiveMessages: ctx.pick(4_000, 20_000),
    rounds: ctx.pick(2, 5),
  });
}
