/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core): live hosts from
 * real local receivers, replay by click, hostile event types and answers rendered as text, the
 * authorization gate and the CSRF guard as a browser meets them. Without Chromium the suite is
 * skipped, except in CI, which installs it.
 *
 * `DASHBOARD_SCREENSHOT=1` also writes docs/dashboard.png from a made-up workload.
 */
import { existsSync, mkdirSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dashboard, type DashboardOptions } from '../src/dashboard/index.js';
import { Dispatcher, type AttemptResult, type TransportFactory } from '../src/index.js';
import { newSecret, scoped } from './helpers.js';
import { ok, status } from './receiver.js';

/** The page's `document`, as far as the functions run in it by `page.evaluate` use it (the project has no DOM types). */
declare const document: { querySelectorAll(selector: string): { length: number }; scripts: Iterable<{ getAttribute(name: string): string | null }> };

/** Debian's Chromium, as CI installs it; `CHROMIUM_PATH` points elsewhere. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const available = existsSync(CHROMIUM);
/** The page polls every second: a change shows within two polls. */
const SOON = { timeout: 5_000 };
const secret = newSecret();

if (!available && process.env.CI) {
  describe('the dashboard in a browser', () => {
    it(`needs Chromium at ${CHROMIUM}: CI installs it, so its absence is a failure there`, () => {
      throw new Error(`No Chromium at ${CHROMIUM}`);
    });
  });
}

describe.skipIf(!available)(`the dashboard in Chromium${available ? '' : ` (skipped: no Chromium at ${CHROMIUM})`}`, () => {
  const { receiver, dispatcher: newDispatcher } = scoped();
  let browser: Browser;
  const closing: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(() => browser?.close());
  afterEach(async () => {
    for (const fn of closing.splice(0).reverse()) await fn();
  });

  async function listen(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    const server = http.createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closing.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    closing.push(() => server.closeAllConnections());
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  interface Opened {
    base: string;
    page: Page;
    context: BrowserContext;
    /** Method, path and status of every request the dashboard answered. */
    answered: string[];
    /** Console errors (a CSP violation is one) and uncaught page errors. */
    errors: string[];
    /** Messages of any alert, confirm or prompt: there must never be one. */
    dialogs: string[];
  }

  /**
   * Serves the dashboard of `dispatcher` on its own port, runs `first` (the dashboard counts
   * only what happens after it is built), and opens it in a signed-in browser context.
   */
  async function open(dispatcher: Dispatcher, first?: () => Promise<void>, options: Partial<DashboardOptions> = {}, viewport = { width: 1280, height: 900 }): Promise<Opened> {
    const handler = dashboard(dispatcher, { authorize: (req) => /(^|; )session=admin(;|$)/.test(req.headers.cookie ?? ''), basePath: '/admin/webhooks', ...options });
    closing.push(() => handler.close());
    const answered: string[] = [];
    const origin = await listen((req, res) => {
      res.on('finish', () => answered.push(`${req.method} ${req.url} ${res.statusCode}`));
      handler(req, res);
    });
    const context = await browser.newContext({ viewport });
    closing.push(() => context.close());
    await context.addCookies([{ name: 'session', value: 'admin', url: origin }]);
    const page = await context.newPage();
    const errors: string[] = [];
    const dialogs: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const base = `${origin}/admin/webhooks`;
    await first?.();
    await page.goto(`${base}/`);
    return { base, page, context, answered, errors, dialogs };
  }

  const total = (page: Page, name: string) => page.locator(`[data-total="${name}"]`);
  const hostRow = (page: Page, origin: string) => page.locator('#hosts tbody tr', { has: page.locator('td.origin', { hasText: origin }) });

  it('shows the live hosts with their in-flight work, sorts by a column, and pauses a host from its row', async () => {
    const fast = await receiver(() => ok);
    const stuck = await receiver(() => ({ kind: 'hang' }));
    const dispatcher = newDispatcher({ timeoutMs: 20_000 });
    for (let i = 0; i < 3; i++) await dispatcher.send({ url: fast.url(), secret }, { type: 'invoice.paid', data: { i } });
    await dispatcher.send({ url: stuck.url(), secret }, { type: 'invoice.paid', data: {} });
    const { page, errors } = await open(dispatcher);

    await expect.poll(() => page.locator('#hosts tbody tr').count(), SOON).toBe(2);
    await expect.poll(() => hostRow(page, stuck.origin).locator('td').nth(2).textContent(), SOON).toBe('1');
    await expect.poll(() => total(page, 'delivered').textContent(), SOON).toBe('3');
    await expect.poll(() => total(page, 'hosts').textContent(), SOON).toBe('2');
    expect(await hostRow(page, fast.origin).locator('td').nth(4).textContent()).toBe('closed');

    const firstOrigin = () => page.locator('#hosts tbody tr td.origin').first().textContent();
    await page.getByRole('button', { name: 'In flight' }).click();
    expect(await firstOrigin()).toBe(stuck.origin);
    expect(await page.locator('th', { has: page.getByRole('button', { name: 'In flight' }) }).getAttribute('aria-sort')).toBe('descending');
    await page.getByRole('button', { name: 'In flight' }).click();
    expect(await firstOrigin()).toBe(fast.origin);

    await hostRow(page, fast.origin).getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => hostRow(page, fast.origin).locator('td.paused').textContent(), SOON).toBe('paused');
    expect(dispatcher.stats().hosts[fast.origin]!.paused).toBe(true);
    await hostRow(page, fast.origin).getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => dispatcher.stats().hosts[fast.origin]!.paused, SOON).toBe(false);
    expect(errors).toEqual([]);
  });

  it('replays one dead letter with its button and two more with checkboxes, and the delivered count follows', async () => {
    let refusing = true;
    const target = await receiver(() => (refusing ? status(422, undefined, 'unknown customer') : ok));
    const dispatcher = newDispatcher();
    for (let i = 0; i < 3; i++) await dispatcher.send({ url: target.url(), secret }, { type: 'invoice.paid', data: { i } });
    await dispatcher.onIdle();
    refusing = false;
    const { page, errors } = await open(dispatcher);

    const rows = page.locator('#dead tbody tr');
    await expect.poll(() => rows.count(), SOON).toBe(3);
    expect(await rows.first().locator('td.answer').textContent()).toBe('HTTP 422unknown customer');
    await expect.poll(() => total(page, 'failed').textContent(), SOON).toBe('3');
    expect(await total(page, 'delivered').textContent()).toBe('0');

    await rows.nth(0).getByRole('button', { name: 'Replay' }).click();
    await expect.poll(() => page.locator('#replay-result').textContent(), SOON).toMatch(/^Replayed 1 of 1 as /);
    await expect.poll(() => total(page, 'delivered').textContent(), SOON).toBe('1');
    // The replayed row says so, names its replay, and offers no second replay.
    const first = (await dispatcher.deadLetters()).items[0]!;
    expect(first.replayedAs).toEqual(expect.any(String));
    expect(await rows.nth(0).locator('td.actions').textContent()).toBe(`Replayed as …${first.replayedAs!.slice(-12)}`);
    expect(await rows.nth(0).getByRole('button', { name: 'Replay' }).count()).toBe(0);
    expect(await rows.nth(0).locator('input[type=checkbox]').count()).toBe(0);

    await rows.nth(1).locator('input[type=checkbox]').check();
    await rows.nth(2).locator('input[type=checkbox]').check();
    await page.getByRole('button', { name: 'Replay 2 selected' }).click();
    await expect.poll(() => page.locator('#replay-result').textContent(), SOON).toMatch(/^Replayed 2 of 2 as /);
    await expect.poll(() => total(page, 'delivered').textContent(), SOON).toBe('3');
    expect(target.count).toBe(6);
    // Every row replayed: nothing left to select, and "select all" replays nothing twice.
    expect(await page.locator('#dead tbody input[type=checkbox]').count()).toBe(0);
    expect(await page.locator('#dead tbody td.actions', { hasText: 'Replayed as' }).count()).toBe(3);
    expect(await page.locator('#select-all').isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Replay selected' }).isDisabled()).toBe(true);
    // Its history names the replay, as a link to the replay's own history.
    await rows.nth(0).locator('td').nth(2).getByRole('button').click();
    await expect.poll(() => page.locator('#history-facts').textContent(), SOON).toContain(`Replayed as…${first.replayedAs!.slice(-12)}`);
    expect(await page.locator('#history-facts dd').last().getByRole('button').getAttribute('aria-label')).toBe(first.replayedAs);
    // Each replay carried its dead letter's event: three distinct events, each sent twice.
    const events = target.requests.map((r) => r.headers['webhook-id']);
    expect(new Set(events).size).toBe(3);
    expect(errors).toEqual([]);
  });

  it('renders a hostile event type, URL and answer as text: no element is made and nothing runs', async () => {
    const hostile = '"><img src=x onerror=alert(1)>';
    const target = await receiver(() => status(400, undefined, '<img src=x onerror=alert(2)><script>alert(3)</script>'));
    const dispatcher = newDispatcher();
    let messageId = '';
    const { page, errors, dialogs } = await open(dispatcher, async () => {
      ({ messageId } = await dispatcher.send({ url: target.url('/hook/<svg onload=alert(4)>?q=<script>alert(5)</script>'), secret }, { type: hostile, data: {} }));
      await dispatcher.onIdle();
    });

    const row = page.locator('#dead tbody tr');
    await expect.poll(() => row.count(), SOON).toBe(1);
    expect(await row.locator('td.event-type').textContent()).toBe(hostile);
    expect(await row.locator('td.url').textContent()).toBe(`${target.origin}/hook/%3Csvg%20onload=alert(4)%3E?…`);
    expect(await row.locator('td.answer .body').textContent()).toBe('<img src=x onerror=alert(2)><script>alert(3)</script>');
    await expect.poll(() => hostRow(page, target.origin).locator('td.lastError').textContent(), SOON).toBe('HTTP 400 · rejected');

    await row.getByRole('button', { name: messageId }).click();
    await expect.poll(() => page.locator('#history-facts').textContent(), SOON).toContain(hostile);
    expect(await page.locator('#history-attempts tbody tr').count()).toBe(1);

    const made = await page.evaluate(() => ({ img: document.querySelectorAll('img, svg').length, scripts: [...document.scripts].map((s) => s.getAttribute('src')) }));
    expect(made).toEqual({ img: 0, scripts: ['/admin/webhooks/assets/uplot.js', '/admin/webhooks/assets/app.js'] });
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('answers 401 to a browser without a session, and 403 to a POST without the CSRF header or from another origin', async () => {
    const target = await receiver(() => status(400));
    const dispatcher = newDispatcher();
    const { messageId } = await dispatcher.send({ url: target.url(), secret }, { type: 'invoice.paid', data: {} });
    await dispatcher.onIdle();
    const { base, page, answered } = await open(dispatcher);

    const anonymous = await browser.newContext();
    closing.push(() => anonymous.close());
    const stranger = await anonymous.newPage();
    const denied = await stranger.goto(`${base}/`);
    expect(denied!.status()).toBe(401);
    expect(await stranger.locator('body').textContent()).toBe('Not authorized');

    const replay = (headers: Record<string, string>) =>
      page.evaluate(
        async ([url, h, id]) => (await fetch(url, { method: 'POST', headers: h, body: JSON.stringify({ ids: [id] }) })).status,
        [`${base}/api/replay`, headers, messageId] as const,
      );
    expect(await replay({ 'content-type': 'application/json' })).toBe(403);
    expect(await replay({ 'content-type': 'text/plain', 'x-webhook-dashboard': '1' })).toBe(415);
    expect(target.count).toBe(1);
    expect(await replay({ 'content-type': 'application/json', 'x-webhook-dashboard': '1' })).toBe(200);
    await expect.poll(() => target.count, SOON).toBe(2);

    // Another app on the same host (another port: same site, other origin). The browser sends
    // the session cookie with its request, so only the guard stands in the way.
    const evil = await listen((_req, res) => res.end('<!doctype html><title>evil</title>'));
    await page.goto(evil);
    const attempts = await page.evaluate(
      async ([url, id]) => {
        const body = JSON.stringify({ ids: [id] });
        // Sent, but its answer is unreadable: Cross-Origin-Resource-Policy makes the fetch reject.
        let simple = 'read';
        try {
          await fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body });
        } catch {
          simple = 'blocked';
        }
        let preflighted = 'sent';
        try {
          await fetch(url, { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json', 'x-webhook-dashboard': '1' }, body });
        } catch {
          preflighted = 'blocked';
        }
        return { simple, preflighted };
      },
      [`${base}/api/replay`, messageId] as const,
    );
    expect(attempts).toEqual({ simple: 'blocked', preflighted: 'blocked' });
    const posts = answered.filter((line) => !line.startsWith('GET'));
    // The preflight carries no cookie: refused before the guard is even reached.
    expect(posts.slice(-2)).toEqual(['POST /admin/webhooks/api/replay 403', 'OPTIONS /admin/webhooks/api/replay 401']);
    await dispatcher.onIdle();
    expect(target.count).toBe(2);
  });

  if (process.env.DASHBOARD_SCREENSHOT === '1') it('writes docs/dashboard.png from a made-up workload', async () => {
    const dispatcher = demoDispatcher();
    closing.push(() => dispatcher.close());
    const stop = demoTraffic(dispatcher);
    closing.push(stop);
    const { page } = await open(dispatcher, undefined, { title: 'Acme webhooks' }, { width: 1360, height: 1240 });
    await new Promise((resolve) => setTimeout(resolve, 25_000));
    await page.locator('#dead-filter button[type=submit]').click();
    await expect.poll(() => page.locator('#dead tbody tr').count(), SOON).toBeGreaterThan(3);
    await page.locator('#dead tbody tr').nth(1).locator('input[type=checkbox]').check();
    await page.locator('#dead tbody tr').nth(2).locator('input[type=checkbox]').check();
    const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'dashboard.png');
    mkdirSync(dirname(file), { recursive: true });
    await page.screenshot({ path: file });
  }, 60_000);
});

/** A dispatcher whose hosts answer after a delay, as made-up customers would: no network at all. */
function demoDispatcher(): Dispatcher {
  const behaviour: Record<string, { ms: number; answer: () => AttemptResult }> = {
    'https://api.acme-shop.example': { ms: 40, answer: () => answered(200) },
    'https://hooks.globex.example': { ms: 900, answer: () => answered(200) },
    'https://webhooks.initech.example': { ms: 120, answer: () => answered(503, 'upstream unavailable') },
    'https://crm.umbrella.example': { ms: 60, answer: () => (Math.random() < 0.15 ? answered(422, '{"error":"unknown event type"}') : answered(200)) },
    'https://legacy.hooli.example': { ms: 30, answer: () => answered(410, 'endpoint removed') },
    'https://erp.vandelay.example': { ms: 200, answer: () => (Math.random() < 0.3 ? { error: { code: 'ECONNRESET', message: 'socket hang up', original: null }, latencyMs: 200 } : answered(200)) },
  };
  const transport: TransportFactory = (origin) => ({
    send: (_path, _headers, _body, onDone) => {
      const b = behaviour[origin]!;
      setTimeout(() => onDone({ ...b.answer(), latencyMs: b.ms }), b.ms * (0.5 + Math.random()));
    },
    close: async () => {},
    destroy: async () => {},
  });
  return new Dispatcher({ retry: { attempts: 3, baseDelayMs: 1_500, maxDelayMs: 5_000 }, breaker: { failureThreshold: 5, cooldownMs: 8_000 }, hosts: { 'https://hooks.globex.example': { concurrency: 4 } } }, { transport });
}

function answered(code: number, body?: string): AttemptResult {
  return { status: code, retryAfter: undefined, body, latencyMs: 0 };
}

function demoTraffic(dispatcher: Dispatcher): () => void {
  const weights: [string, number][] = [
    ['https://api.acme-shop.example/webhooks/orders?token=t0k3n', 12],
    ['https://hooks.globex.example/in', 6],
    ['https://webhooks.initech.example/tps', 2],
    ['https://crm.umbrella.example/hooks/billing', 4],
    ['https://legacy.hooli.example/callback', 1],
    ['https://erp.vandelay.example/import', 3],
  ];
  const types = ['invoice.paid', 'invoice.created', 'customer.updated', 'subscription.renewed', 'payment.failed'];
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    if (tick === 40) dispatcher.pause('https://hooks.globex.example');
    for (const [url, weight] of weights) {
      const n = Math.round(weight * (0.6 + 0.8 * Math.random()) * (1 + 0.5 * Math.sin(tick / 6)) / 4);
      for (let i = 0; i < n; i++) dispatcher.send({ url, secret }, { type: types[(tick + i) % types.length]!, data: { tick, i } }).catch(() => {});
    }
  }, 250);
  return () => clearInterval(timer);
}
