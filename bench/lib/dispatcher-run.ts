/** Drives the dispatcher through a list of jobs, closed loop, and checks that all arrived. */
import { Dispatcher, type DispatcherOptions } from '../../src/index.js';
import { EVENT, type Jobs } from './workload.js';

/** Sends every job (one event each, serialized per send as a caller would), waits for idle; returns deliveries. */
export async function runDispatcher(urls: string[], jobs: Jobs, secret: string, options: DispatcherOptions): Promise<number> {
  const d = new Dispatcher({ allowPrivateNetworks: true, queueCapacity: jobs.length + 1, endpointQueueShare: 1, ...options });
  let delivered = 0;
  let failed = 0;
  d.on('delivered', () => delivered++);
  d.on('failed', () => failed++);
  const endpoints = urls.map((url) => ({ url, secret }));
  for (const h of jobs) await d.send(endpoints[h]!, EVENT);
  await d.onIdle();
  await d.close();
  if (failed > 0) throw new Error(`dispatcher: ${failed} of ${jobs.length} messages failed against a healthy receiver`);
  return delivered;
}

/** Milliseconds `fn` took, and its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Publishes `events` events, each to every endpoint; waits for idle; returns deliveries. */
export async function runPublish(urls: string[], events: number, secret: string, options: DispatcherOptions): Promise<number> {
  const d = new Dispatcher({ allowPrivateNetworks: true, ...options });
  let delivered = 0;
  let failed = 0;
  d.on('delivered', () => delivered++);
  d.on('failed', () => failed++);
  const endpoints = urls.map((url) => ({ url, secret }));
  for (let i = 0; i < events; i++) {
    const results = await d.publish(EVENT, endpoints);
    if (!results.every((r) => r.ok)) throw new Error('publish: an endpoint was refused');
  }
  await d.onIdle();
  await d.close();
  if (failed > 0) throw new Error(`dispatcher: ${failed} of ${events * urls.length} messages failed against a healthy receiver`);
  return delivered;
}
