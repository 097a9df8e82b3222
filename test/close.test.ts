/** Closing: it refuses from its first instant, always resolves, and leaves the process free to exit. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Dispatcher, type WebhookError } from '../src/index.js';
import { newSecret, scoped, Terminals } from './helpers.js';
import { ManualClock } from './support/clock.js';
import { FakeTransport } from './support/fake-transport.js';

const { receiver } = scoped();
const secret = newSecret();

describe('close()', () => {
  it('refuses a send made by a failed listener while close() fails the queues, and still resolves with every message ended', async () => {
    const transport = new FakeTransport();
    const d = new Dispatcher({ allowPrivateNetworks: true, concurrency: 1 }, { clock: new ManualClock(), transport: () => transport });
    const t = new Terminals(d);
    const refusals: string[] = [];
    d.on('failed', () => {
      d.send({ url: 'http://a.test/x', secret }, { type: 'again', data: 1 }).catch((e: WebhookError) => refusals.push(e.code));
    });
    for (let i = 0; i < 3; i++) await d.send({ url: 'http://a.test/x', secret }, { type: 't', data: i });
    await d.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(refusals).toEqual(['WD_CLOSED', 'WD_CLOSED', 'WD_CLOSED']);
    expect(d.stats()).toMatchObject({ accepted: 3, failed: 3, pending: 0 });
    expect(t.total).toBe(3);
  });

  it('a publish() during which the caller closes the dispatcher reports the rest as WD_CLOSED, never rejects, and close() resolves', async () => {
    const transport = new FakeTransport();
    const d = new Dispatcher({ allowPrivateNetworks: true }, { clock: new ManualClock(), transport: () => transport });
    let closing: Promise<void> | undefined;
    const endpoints = [
      { url: 'http://a.test/x', secret },
      {
        // Reading this endpoint closes the dispatcher: the endpoint itself must not be accepted.
        get url() {
          closing ??= d.close();
          return 'http://b.test/x';
        },
        secret,
      },
      { url: 'http://c.test/x', secret },
    ];
    const results = await d.publish({ type: 't', data: 1 }, endpoints);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'WD_CLOSED', 'WD_CLOSED']);
    await closing;
    expect(d.stats()).toMatchObject({ accepted: 1, failed: 1, pending: 0 });
  });

  it('waits its full drain timeout even past 2^31 ms instead of ending after a few', async () => {
    const clock = new ManualClock();
    const transport = new FakeTransport();
    const d = new Dispatcher({ allowPrivateNetworks: true }, { clock, transport: () => transport });
    await d.send({ url: 'http://a.test/x', secret }, { type: 't', data: 1 });
    let closed = false;
    const closing = d.close({ drain: true, timeoutMs: 2 ** 31 }).then(() => (closed = true));
    clock.advance(2 ** 31 - 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    clock.advance(1);
    await closing;
    expect(d.stats()).toMatchObject({ failed: 1, pending: 0 });
  });
});

const fixture = fileURLToPath(new URL('./fixtures/exit-after-send.ts', import.meta.url));

/** Runs the fixture with tsx; resolves with its exit code, stdout and how long it lived. */
function runFixture(args: string[], onSpawn?: (child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; signal: string | null; out: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, out, ms: Date.now() - started }));
    onSpawn?.(child);
  });
}

describe('the process', () => {
  it('exits as soon as its deliveries are done, without close(), although timeoutMs is 60 s', async () => {
    const r = await receiver();
    const { code, out, ms } = await runFixture([r.url(), 'no-close']);
    expect(out).toContain('delivered');
    expect(code).toBe(0);
    // The bug kept the process alive for the whole timeoutMs (60 s here) after the delivery.
    expect(ms).toBeLessThan(30_000);
  });

  it('drains on SIGTERM with the README recipe: close({ drain: true, timeoutMs }) then exit', async () => {
    const r = await receiver(() => ({ kind: 'status', status: 200 }));
    const result = await runFixture([r.url(), 'sigterm'], (child) => {
      child.stdout!.once('data', () => child.kill('SIGTERM'));
    });
    expect(result.out).toContain('ready');
    expect(result.out).toMatch(/closed accepted=(\d+) ended=\1/);
    expect(result.code).toBe(0);
  });
});
