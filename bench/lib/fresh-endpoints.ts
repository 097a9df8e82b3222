/**
 * Endpoints the way an app that reads them from a database hands them over: a new
 * `{ url, secret }` object for every send, holding strings of the same content. The
 * benchmarks' other runs reuse one object per host; the two differ only in what the
 * dispatcher's endpoint resolution can remember.
 */
import { type Jobs, EVENT } from './workload.js';
import { Dispatcher, type DispatcherOptions } from '../../src/index.js';

/** How a run hands endpoints to `send`: one object per host, or a new object per send. */
export type EndpointMode = 'reused' | 'fresh';

/**
 * A copy of `text` that is a different string object (as a row read from a database gives):
 * `===` still holds, but nothing keyed by the string's identity can be reused.
 */
export function freshString(text: string): string {
  return (' ' + text).slice(1);
}

/** The endpoint of host `h`: the same object each time (`reused`) or a new one (`fresh`). */
export function endpointSource(urls: string[], secret: string, mode: EndpointMode): (h: number) => { url: string; secret: string } {
  if (mode === 'reused') {
    const endpoints = urls.map((url) => ({ url, secret }));
    return (h) => endpoints[h]!;
  }
  return (h) => ({ url: freshString(urls[h]!), secret: freshString(secret) });
}

/** `runDispatcher` with the endpoint mode chosen: each send awaited (closed loop), then idle. Returns deliveries. */
export async function runDispatcherWith(urls: string[], jobs: Jobs, secret: string, options: DispatcherOptions, mode: EndpointMode): Promise<number> {
  const d = new Dispatcher({ allowPrivateNetworks: true, queueCapacity: jobs.length + 1, endpointQueueShare: 1, ...options });
  let delivered = 0;
  let failed = 0;
  d.on('delivered', () => delivered++);
  d.on('failed', () => failed++);
  const endpoint = endpointSource(urls, secret, mode);
  for (const h of jobs) await d.send(endpoint(h), EVENT);
  await d.onIdle();
  await d.close();
  if (failed > 0) throw new Error(`dispatcher: ${failed} of ${jobs.length} messages failed against a healthy receiver`);
  return delivered;
}
