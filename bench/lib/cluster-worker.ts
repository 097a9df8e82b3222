/**
 * A child of scenario 19: one dispatcher of a cluster sharing host rate limits through Redis,
 * driven by the bench over stdin (see child.ts). Commands:
 * - `open { keyPrefix, hosts: { [origin]: { perSecond, burst } }, concurrency }`: the dispatcher,
 *   with `cluster: { redis: { host: '127.0.0.1', port: 6379 }, keyPrefix }`; answers `ready`.
 * - `send { url, secret, total }`: sends `total` messages to `url` at once (the shared limit
 *   paces them) and answers `done` with this batch's deliveries and failures once all ended.
 * - `close`: closes it; answers `closed` with the warnings seen (Redis lost: each process on its own).
 */
import { Dispatcher } from '../../src/index.js';
import { reply, serve } from './child.js';
import { EVENT } from './workload.js';

let d: Dispatcher | undefined;
const warnings: string[] = [];

serve(async (c) => {
  if (c.cmd === 'open') {
    const limits = c.hosts as Record<string, { perSecond: number; burst: number }>;
    d = new Dispatcher({
      allowPrivateNetworks: true,
      cluster: { redis: { host: '127.0.0.1', port: 6379 }, keyPrefix: c.keyPrefix as string },
      hosts: Object.fromEntries(Object.entries(limits).map(([origin, rateLimit]) => [origin, { rateLimit }])),
      concurrency: c.concurrency as number,
      queueCapacity: 1_000_000, endpointQueueShare: 1,
    });
    d.on('warning', (w) => warnings.push(w.kind));
    await d.ready();
    reply({ ev: 'ready' });
  } else if (c.cmd === 'send') {
    const before = d!.stats();
    const endpoint = { url: c.url as string, secret: c.secret as string };
    for (let i = 0; i < (c.total as number); i++) await d!.send(endpoint, EVENT);
    await d!.onIdle();
    const after = d!.stats();
    reply({ ev: 'done', delivered: after.delivered - before.delivered, failed: after.failed - before.failed });
  } else if (c.cmd === 'close') {
    await d?.close();
    reply({ ev: 'closed', warnings });
  }
});
