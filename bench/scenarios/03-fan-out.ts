/** Scenario 3: fan-out: one event to 1,000 endpoints (1,000 hosts), repeated. Body serialized once per event. */
import type { Context, ScenarioResult } from '../lib/context.js';
import { throughput } from '../lib/throughput.js';

export function run(ctx: Context): Promise<ScenarioResult> {
  const hosts = 1_000;
  return throughput(ctx, {
    id: '3',
    title: 'fan-out to 1,000 endpoints',
    hosts,
    perHost: 2,
    messages: hosts * ctx.pick(20, 100),
    naiveMessages: hosts * ctx.pick(4, 20),
    rounds: ctx.pick(2, 5),
    fanOut: true,
  });
}
