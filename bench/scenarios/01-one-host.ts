/** Scenario 1: one host, no rate limit, closed loop: deliveries/s beside the signed loop, p-queue, raw-undici and naive. */
import type { Context, ScenarioResult } from '../lib/context.js';
import { throughput } from '../lib/throughput.js';

export async function run(ctx: Context): Promise<ScenarioResult> {
  const result = await throughput(ctx, {
    id: '1',
    title: 'one host, unlimited',
    hosts: 1,
    perHost: 16,
    messages: ctx.pick(15_000, 100_000),
    naiveMessages: ctx.pick(2_000, 20_000),
    rounds: ctx.pick(3, 5),
    signedTarget: 0.95,
    fresh: true,
  });
  ctx.shared.peakOneHost = result.rows[0]!.dispatcher;
  return result;
}
