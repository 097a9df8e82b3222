/**
 * Scenario 9: 200 hosts (200 origins, 200 actors), no rate limit, closed loop: many hosts with
 * several messages in flight each, where the per-host machinery (actor, queue, connections)
 * is on every message's path. Throughput target: dispatcher ÷ signed loop ≥ 0.95, as at one host.
 */
import type { Context, ScenarioResult } from '../lib/context.js';
import { throughput } from '../lib/throughput.js';

export function run(ctx: Context): Promise<ScenarioResult> {
  return throughput(ctx, {
    id: '9',
    title: '200 hosts, unlimited',
    hosts: 200,
    perHost: 2,
    messages: ctx.pick(15_000, 100_000),
    naiveMessages: ctx.pick(2_000, 20_000),
    rounds: ctx.pick(3, 5),
    signedTarget: 0.95,
    fresh: true,
  });
}
