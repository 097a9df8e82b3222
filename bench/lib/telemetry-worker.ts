/**
 * A child of scenario 15: one long-lived process per telemetry mode, as a service runs (the SDK
 * registered once at start, not around each round), driven over stdin (see child.ts). Commands:
 * - `start { mode: 'off' | 'sdk' | 'sampled', ratio }`: registers the SDK for `sdk`, and for
 *   `sampled` with a parent-based sampler keeping `ratio` of new traces (see otel-sdk.ts); answers `started`.
 * - `run { urls, secret, concurrency, jobs }`: one closed-loop run of a fresh dispatcher over
 *   `jobs` (host indexes into `urls`), telemetry on with an SDK; answers `ran` with deliveries/s,
 *   this process's CPU per delivered message (µs) and the spans exported so far.
 */
import { reply, serve } from './child.js';
import { runDispatcher, timed } from './dispatcher-run.js';
import { NoopExporter, registerSdk } from './otel-sdk.js';
import { gcHeap } from './stats.js';

let mode: 'off' | 'sdk' | 'sampled' = 'off';
const exporter = new NoopExporter();

serve(async (c) => {
  if (c.cmd === 'start') {
    mode = c.mode as typeof mode;
    if (mode !== 'off') registerSdk(exporter, mode === 'sampled' ? (c.ratio as number) : undefined);
    reply({ ev: 'started' });
  } else if (c.cmd === 'run') {
    const jobs = c.jobs as number[];
    gcHeap();
    const cpu = process.cpuUsage();
    const { ms, value: delivered } = await timed(() => runDispatcher(c.urls as string[], jobs, c.secret as string, { concurrency: c.concurrency as number, telemetry: { openTelemetry: mode !== 'off' } }));
    const used = process.cpuUsage(cpu);
    if (delivered !== jobs.length) throw new Error(`sent ${jobs.length}, delivered ${delivered}`);
    reply({ ev: 'ran', rate: (jobs.length / ms) * 1000, cpuUs: (used.user + used.system) / jobs.length, exported: exporter.exported });
  }
});
