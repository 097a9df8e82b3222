/**
 * The dashboard's handler over real HTTP on 127.0.0.1, without a browser: options, the
 * authorization gate, security headers, the CSRF guard, the JSON API, redaction and secrets
 * (mounting in node:http, Express and Fastify: dashboard-mounting.test.ts). The dispatcher
 * sends through the recorder, so no receiver is needed.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { CONTENT_SECURITY_POLICY, dashboard } from '../src/dashboard/index.js';
import { Dispatcher } from '../src/index.js';
import { WebhookRecorder } from '../src/testing.js';
import { ADMIN, HEADER_VALUE, SECRET, TOKEN, cleanup, endpoint, json, listen, post, serve, setup, withTraffic, type DeadLetterPage } from './support/dashboard-fixtures.js';

describe('dashboard options', () => {
  it('refuses a missing or non-function authorize with WD_INVALID_OPTIONS saying what arrived', () => {
    const { dispatcher } = setup();
    expect(() => dashboard(dispatcher, undefined as never)).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('authorize') }));
    expect(() => dashboard(dispatcher, {} as never)).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: 'Expected `authorize` to be a function (req) => boolean | Promise<boolean>, got `undefined`' }));
    expect(() => dashboard(dispatcher, { authorize: true } as never)).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('got `true` (boolean)') }));
  });

  it('refuses unknown options, bad paths, titles and flags, and a first argument that is no dispatcher', () => {
    const { dispatcher } = setup();
    const authorize = () => true;
    expect(() => dashboard(dispatcher, { authorise: authorize } as never)).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('did you mean `authorize`?') }));
    for (const basePath of ['admin', '/admin/', '/a/../b', '/a b', '/a?x']) {
      expect(() => dashboard(dispatcher, { authorize, basePath }), basePath).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('`basePath`') }));
    }
    expect(() => dashboard(dispatcher, { authorize, title: '' })).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS' }));
    expect(() => dashboard(dispatcher, { authorize, perHostRates: 'yes' as never })).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('`perHostRates`') }));
    expect(() => dashboard({} as never, { authorize })).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('Expected a Dispatcher') }));
  });
});

describe('the authorization gate', () => {
  it('answers 401 with no data to every page, asset and API route when authorize says no', async () => {
    const { dispatcher } = setup();
    const id = await withTraffic(dispatcher);
    const seen: IncomingMessage[] = [];
    const { base } = await serve(dispatcher, { authorize: (req) => (seen.push(req), false) });
    for (const path of ['/', '/assets/app.js', '/assets/uplot.js', '/api/stats', '/api/hosts', '/api/dead-letters', `/api/messages/${id}`, '/api/nothing']) {
      const response = await fetch(base + path, { headers: ADMIN });
      const text = await response.text();
      expect(response.status, path).toBe(401);
      expect(text).not.toMatch(/example|invoice|uPlot|<html/);
    }
    const replay = await post(base, '/api/replay', { ids: [id] });
    expect(replay.status).toBe(401);
    expect(dispatcher.stats().accepted).toBe(2);
    expect(seen[0]!.headers.cookie).toBe('session=admin');
  });

  it('lets in only true: a promise of false, a truthy non-boolean and a missing session are refused', async () => {
    const { dispatcher } = setup();
    for (const answer of [Promise.resolve(false), 'yes', 1, {}]) {
      const { base } = await serve(dispatcher, { authorize: () => answer as never });
      expect((await fetch(`${base}/api/stats`)).status).toBe(401);
    }
    const { base } = await serve(dispatcher, { authorize: async (req) => req.headers.cookie === 'session=admin' });
    expect((await fetch(`${base}/api/stats`)).status).toBe(401);
    expect((await fetch(`${base}/api/stats`, { headers: ADMIN })).status).toBe(200);
  });

  it('answers 500 with nothing in it when authorize throws, and hands the error to next() when there is one', async () => {
    const { dispatcher } = setup();
    const boom = new Error('session store down: postgres://user:pw@db');
    const { base } = await serve(dispatcher, { authorize: () => Promise.reject(boom) });
    const response = await fetch(`${base}/api/stats`);
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain('postgres');
    const handler = dashboard(dispatcher, { authorize: () => { throw boom; } });
    cleanup.push(() => handler.close());
    const passed = await new Promise<unknown>((resolve) => {
      void listen((req, res) => handler(req, res, (error) => { resolve(error); res.end(); })).then((url) => fetch(url));
    });
    expect(passed).toBe(boom);
  });
});

describe('security headers', () => {
  it('sends the strict CSP, nosniff, no-referrer and no-store on every answer, refused ones included', async () => {
    const { dispatcher } = setup();
    const { base } = await serve(dispatcher);
    const requests: [string, RequestInit][] = [
      ['/', { headers: ADMIN }],
      ['/assets/app.css', { headers: ADMIN }],
      ['/api/stats', { headers: ADMIN }],
      ['/api/stats', {}],
      ['/nothing', { headers: ADMIN }],
      ['/api/replay', { method: 'POST', headers: ADMIN }],
    ];
    const statuses: number[] = [];
    for (const [path, init] of requests) {
      const response = await fetch(base + path, init);
      statuses.push(response.status);
      expect(response.headers.get('content-security-policy'), path).toBe(CONTENT_SECURITY_POLICY);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    }
    expect(statuses).toEqual([200, 200, 200, 401, 404, 403]);
    expect(CONTENT_SECURITY_POLICY).toBe("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  });

  it('serves a page with no inline script or style and only its own assets, uPlot included', async () => {
    const { dispatcher } = setup();
    const { base } = await serve(dispatcher, { basePath: '/admin/webhooks', title: '<b>Ops</b> & "hooks"' });
    const page = await (await fetch(`${base}/`, { headers: ADMIN })).text();
    expect(page).toContain('<title>&#60;b&#62;Ops&#60;/b&#62; &#38; &#34;hooks&#34;</title>');
    expect(page).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=|https?:\/\//);
    const sources = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources).toEqual(['data:,', '/admin/webhooks/assets/uplot.css', '/admin/webhooks/assets/app.css', '/admin/webhooks/assets/uplot.js', '/admin/webhooks/assets/app.js']);
    const uplot = await fetch(`${base}/assets/uplot.js`, { headers: ADMIN });
    expect(uplot.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await uplot.text()).toContain('uPlot');
    const app = await (await fetch(`${base}/assets/app.js`, { headers: ADMIN })).text();
    expect(app).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});

describe('the CSRF guard on state-changing requests', () => {
  it('refuses a replay without the custom header, from another site, with no origin, or not JSON, and replays nothing', async () => {
    const { dispatcher, recorder } = setup();
    const id = await withTraffic(dispatcher);
    const { base } = await serve(dispatcher);
    const body = { ids: [id] };
    const refused: [Record<string, string>, number][] = [
      [{ 'x-webhook-dashboard': '' }, 403],
      [{ 'sec-fetch-site': 'cross-site' }, 403],
      [{ 'sec-fetch-site': 'same-site' }, 403],
      [{ origin: 'http://evil.example' }, 403],
      [{ origin: 'null' }, 403],
      // The same host on another scheme or port is another origin.
      [{ origin: base.replace(/^http:/, 'https:') }, 403],
      [{ origin: `http://127.0.0.1:${Number(new URL(base).port) + 1}` }, 403],
      [{ origin: 'http://127.0.0.1' }, 403],
      [{ origin: base.replace(/^http:/, 'https:'), 'x-forwarded-proto': 'http' }, 403],
      [{ 'content-type': 'text/plain' }, 415],
      [{ 'content-type': 'application/x-www-form-urlencoded' }, 415],
    ];
    for (const [headers, status] of refused) {
      const response = await post(base, '/api/replay', body, headers);
      expect(response.status, JSON.stringify(headers)).toBe(status);
      expect((await json<{ error: { message: string } }>(response)).error.message).toMatch(/^Expected/);
    }
    const noOrigin = await fetch(`${base}/api/replay`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json', 'x-webhook-dashboard': '1' }, body: JSON.stringify(body) });
    expect(noOrigin.status).toBe(403);
    expect((await fetch(`${base}/api/replay`, { headers: ADMIN })).status).toBe(405);
    expect(recorder.requests).toHaveLength(2);
    expect(dispatcher.stats().accepted).toBe(2);
  });

  it('refuses a body over 64 KiB with 413, and bodies that are not a JSON object with 400', async () => {
    const { dispatcher } = setup();
    const { base } = await serve(dispatcher);
    expect((await post(base, '/api/replay', { ids: ['a'.repeat(70_000)] })).status).toBe(413);
    expect((await post(base, '/api/replay', '{"ids": [')).status).toBe(400);
    expect((await post(base, '/api/replay', '[1]')).status).toBe(400);
    expect((await post(base, '/api/replay', { ids: [] })).status).toBe(400);
    expect((await post(base, '/api/replay', { ids: ['../x'] })).status).toBe(400);
  });

  it('replays a same-origin request, by Origin or by Sec-Fetch-Site, one result per id', async () => {
    const { dispatcher, recorder } = setup(() => 200);
    const { base } = await serve(dispatcher);
    recorder.respondWith(() => 400);
    const { messageId } = await dispatcher.send(endpoint('ok.example'), { type: 'invoice.paid', data: {} });
    await dispatcher.onIdle();
    recorder.respondWith(() => 200);
    const byOrigin = await json<{ results: unknown[] }>(await post(base, '/api/replay', { ids: [messageId, 'unknown-id'] }));
    expect(byOrigin.results).toEqual([
      { id: messageId, ok: true, messageId: expect.any(String) },
      { id: 'unknown-id', ok: false, error: { code: 'WD_INVALID_OPTIONS', message: expect.stringContaining('a message id the store holds') } },
    ]);
    const bySite = await post(base, '/api/replay', { ids: [messageId] }, { origin: '', 'sec-fetch-site': 'same-origin' });
    expect(bySite.status).toBe(200);
    // Behind a proxy that ends TLS, the browser's origin is https: the proxy says so.
    const proxied = await post(base, '/api/replay', { ids: [messageId] }, { origin: base.replace(/^http:/, 'https:'), 'x-forwarded-proto': 'https' });
    expect(proxied.status).toBe(200);
    await dispatcher.onIdle();
    expect(dispatcher.stats().delivered).toBe(3);
    expect(recorder.requests.map((r) => r.json().id)).toEqual(Array(4).fill(recorder.requests[0]!.json().id));
  });
});

describe('the JSON API', () => {
  it('counts deliveries and failures per second for the chart, the current second left out until it ends', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_700_000_000_250);
    const { dispatcher } = setup();
    const { base } = await serve(dispatcher);
    await withTraffic(dispatcher);
    await dispatcher.send(endpoint('ok.example'), { type: 'invoice.paid', data: {} });
    await dispatcher.onIdle();
    type Stats = { accepted: number; delivered: number; failed: number; pending: number; hosts: number; chart: { start: number; delivered: number[]; failed: number[] } };
    const now = await json<Stats>(await fetch(`${base}/api/stats`, { headers: ADMIN }));
    expect(now).toMatchObject({ accepted: 3, delivered: 2, failed: 1, pending: 0, hosts: 2 });
    expect(now.chart.delivered.at(-1)).toBe(0);
    vi.setSystemTime(1_700_000_001_000);
    const later = await json<Stats>(await fetch(`${base}/api/stats`, { headers: ADMIN }));
    expect(later.chart.delivered).toHaveLength(60);
    expect(later.chart.start + later.chart.delivered.length).toBe(1_700_000_001);
    expect([later.chart.delivered.at(-1), later.chart.failed.at(-1)]).toEqual([2, 1]);
    expect(later.chart.delivered.reduce((a, b) => a + b)).toBe(2);
  });

  it('lists every live host with its queue, breaker, pause, rate over 10 s and last error', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_700_000_000_000);
    const { dispatcher } = setup();
    const { base } = await serve(dispatcher);
    await withTraffic(dispatcher);
    for (let i = 0; i < 4; i++) await dispatcher.send(endpoint('ok.example'), { type: 'invoice.paid', data: {} });
    await dispatcher.onIdle();
    dispatcher.pause('https://bad.example');
    vi.setSystemTime(1_700_000_005_000);
    type Hosts = { rateSeconds: number; hosts: { origin: string; paused: boolean; rate: number | null; lastError: { text: string } | null }[] };
    const { rateSeconds, hosts } = await json<Hosts>(await fetch(`${base}/api/hosts`, { headers: ADMIN }));
    expect(rateSeconds).toBe(10);
    const byOrigin = Object.fromEntries(hosts.map((h) => [h.origin, h]));
    expect(byOrigin['https://ok.example']).toEqual({ origin: 'https://ok.example', queued: 0, inFlight: 0, waiting: 0, breaker: 'closed', paused: false, endpoints: 0, endpointsHeld: 0, held: [], busiest: null, rate: 0.5, lastError: null });
    expect(byOrigin['https://bad.example']).toMatchObject({ paused: true, rate: 0, lastError: { at: '2023-11-14T22:13:20.000Z', text: 'HTTP 400 · rejected' } });
    const { base: without } = await serve(dispatcher, { perHostRates: false });
    const plain = await json<Hosts>(await fetch(`${without}/api/hosts`, { headers: ADMIN }));
    expect(plain.hosts.every((h) => h.rate === null)).toBe(true);
  });

  it("shows a host's endpoints held on their own (an endpoint's open breaker), their URLs without the query", async () => {
    const recorder = new WebhookRecorder((r) => (r.url.includes('/bad') ? 500 : 200));
    const dispatcher = new Dispatcher({ retry: { attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 }, breaker: { failureThreshold: 1, cooldownMs: 60_000 } }, { transport: recorder.transport });
    cleanup.push(() => dispatcher.close());
    const { base } = await serve(dispatcher);
    const bad = { url: `https://shared.example/bad?token=${TOKEN}`, secret: SECRET };
    const opened = new Promise((resolve) => dispatcher.once('breaker', resolve));
    await dispatcher.send(bad, { type: 'invoice.paid', data: {} });
    await dispatcher.send(bad, { type: 'invoice.paid', data: {} });
    await opened;
    await dispatcher.send({ url: 'https://shared.example/good', secret: SECRET }, { type: 'invoice.paid', data: {} });
    type Hosts = { hosts: { origin: string; endpoints: number; endpointsHeld: number; held: { url: string; why: string; queued: number }[] }[] };
    const text = await (await fetch(`${base}/api/hosts`, { headers: ADMIN })).text();
    expect(text).not.toContain(TOKEN);
    const host = (JSON.parse(text) as Hosts).hosts.find((h) => h.origin === 'https://shared.example')!;
    expect(host).toMatchObject({ endpointsHeld: 1, held: [{ url: 'https://shared.example/bad?…', why: 'breaker', queued: 2 }] });
    expect(host.endpoints).toBeGreaterThanOrEqual(1);
  });

  it('filters dead letters by host and reason, pages them with a cursor, and refuses an unknown reason', async () => {
    const { dispatcher } = setup((r) => (r.origin === 'https://gone.example' ? 410 : r.origin === 'https://ok.example' ? 200 : 400));
    const { base } = await serve(dispatcher);
    for (const host of ['bad.example', 'bad.example', 'gone.example', 'ok.example']) await dispatcher.send(endpoint(host), { type: 'invoice.paid', data: {} });
    await dispatcher.onIdle();
    const get = async (query: string) => json<DeadLetterPage>(await fetch(`${base}/api/dead-letters${query}`, { headers: ADMIN }));
    expect((await get('')).items.map((d) => d.reason).sort()).toEqual(['gone', 'rejected', 'rejected']);
    expect((await get('?reason=gone')).items.map((d) => d.origin)).toEqual(['https://gone.example']);
    expect((await get(`?origin=${encodeURIComponent('https://bad.example')}`)).items).toHaveLength(2);
    expect((await get(`?origin=${encodeURIComponent('https://bad.example/hooks?token=x')}`)).items).toHaveLength(2);
    const first = await get('?limit=2');
    expect(first.items).toHaveLength(2);
    const second = await get(`?limit=2&cursor=${first.cursor}`);
    expect(second).toMatchObject({ cursor: null });
    expect(new Set([...first.items, ...second.items].map((d) => d.messageId)).size).toBe(3);
    const bad = await fetch(`${base}/api/dead-letters?reason=%3Cscript%3E`, { headers: ADMIN });
    expect(bad.status).toBe(400);
    expect((await json<{ error: { message: string } }>(bad)).error.message).toContain('Expected `reason` to be one of rejected, exhausted');
    expect((await fetch(`${base}/api/dead-letters?limit=abc`, { headers: ADMIN })).status).toBe(400);
  });

  it("shows a message's history with every attempt, 404 for one the store does not keep, 400 for a malformed id", async () => {
    const { dispatcher } = setup((r) => (r.origin === 'https://bad.example' ? { error: 'ECONNRESET' } : 200));
    const { base } = await serve(dispatcher);
    const { messageId } = await dispatcher.send(endpoint('bad.example'), { type: 'invoice.paid', data: {} });
    const delivered = await dispatcher.send(endpoint('ok.example'), { type: 'invoice.paid', data: {} });
    await dispatcher.onIdle();
    const history = await json<{ state: string; url: string; attempts: { status: number | null; error: { code: string } | null }[] }>(await fetch(`${base}/api/messages/${messageId}`, { headers: ADMIN }));
    expect(history).toMatchObject({ messageId, state: 'failed', url: 'https://bad.example/hooks?…', eventType: 'invoice.paid' });
    expect(history.attempts.map((a) => [a.status, a.error?.code])).toEqual([[null, 'ECONNRESET'], [null, 'ECONNRESET']]);
    const missing = await fetch(`${base}/api/messages/${delivered.messageId}`, { headers: ADMIN });
    expect(missing.status).toBe(404);
    expect((await json<{ error: { message: string } }>(missing)).error.message).toContain('delivered at its first attempt');
    expect((await fetch(`${base}/api/messages/${encodeURIComponent('<x>')}`, { headers: ADMIN })).status).toBe(400);
  });

  it('pauses and resumes a live host, and refuses one the dispatcher does not have', async () => {
    const { dispatcher } = setup();
    const { base } = await serve(dispatcher);
    await withTraffic(dispatcher);
    expect(await json(await post(base, '/api/hosts/pause', { origin: 'https://ok.example' }))).toEqual({ origin: 'https://ok.example', paused: true });
    expect(dispatcher.stats().hosts['https://ok.example']!.paused).toBe(true);
    expect(await json(await post(base, '/api/hosts/resume', { origin: 'https://ok.example' }))).toEqual({ origin: 'https://ok.example', paused: false });
    expect((await post(base, '/api/hosts/pause', { origin: 'https://new.example' })).status).toBe(404);
    expect(dispatcher.stats().hosts['https://new.example']).toBeUndefined();
    expect((await post(base, '/api/hosts/pause', { origin: 'https://ok.example' }, { 'x-webhook-dashboard': '0' })).status).toBe(403);
  });

  it('never shows a secret, an endpoint header value or a URL query token, in any page, asset or API answer', async () => {
    const { dispatcher } = setup((r) => (r.origin === 'https://ok.example' ? 200 : { status: 500, body: `echo ${r.url}` }));
    const { base } = await serve(dispatcher);
    const id = await withTraffic(dispatcher);
    const replayed = await json<{ results: { messageId: string }[] }>(await post(base, '/api/replay', { ids: [id] }));
    await dispatcher.onIdle();
    const paths = ['/', '/assets/app.js', '/assets/app.css', '/assets/uplot.js', '/assets/uplot.css', '/api/stats', '/api/hosts', '/api/dead-letters', `/api/messages/${id}`, `/api/messages/${replayed.results[0]!.messageId}`];
    let everything = JSON.stringify(replayed);
    for (const path of paths) {
      const response = await fetch(base + path, { headers: ADMIN });
      expect(response.status, path).toBe(200);
      everything += await response.text();
    }
    expect(everything).toContain('https://bad.example/hooks?…');
    expect(everything).toContain('echo https://bad.example/hooks?…');
    for (const hidden of [SECRET, SECRET.slice(6), HEADER_VALUE, 'header-value-9f8e7d', TOKEN]) expect(everything).not.toContain(hidden);
  });
});
