/**
 * CPU per accepted `send`, with no network: the hosts are paused, so `send` validates, builds
 * and queues the message and nothing is attempted. What an endpoint costs to resolve shows
 * here without the noise of sockets and a receiver: a new endpoint object per send (`fresh`,
 * as from a database row) against one object per host (`reused`).
 */
import { EVENT } from './workload.js';
import { Dispatcher } from '../../src/index.js';
import { endpointSource, type EndpointMode } from './fresh-endpoints.js';

/** Microseconds of this process's CPU per accepted send, `count` sends spread over `urls`. */
export async function sendCpu(urls: string[], secret: string, count: number, mode: EndpointMode): Promise<number> {
  const d = new Dispatcher({ allowPrivateNetworks: true, queueCapacity: count + 1, endpointQueueShare: 1 });
  for (const url of urls) d.pause(url);
  const endpoint = endpointSource(urls, secret, mode);
  // Each endpoint's first send resolves it in full in both modes: not what is measured.
  for (let h = 0; h < urls.length; h++) await d.send(endpoint(h), EVENT);
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) await d.send(endpoint(i % urls.length), EVENT);
  const used = process.cpuUsage(cpu);
  for (const url of urls) d.cancel({ origin: new URL(url).origin });
  await d.close({ drain: false });
  return (used.user + used.system) / count;
}
