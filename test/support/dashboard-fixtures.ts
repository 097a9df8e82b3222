/**
 * What the dashboard tests share: a dispatcher sending through the recorder, endpoints whose
 * secret, header value and query token must never show, the dashboard served over real HTTP on
 * 127.0.0.1, and the requests the page itself makes. Everything made is closed after each test.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, vi } from 'vitest';
import { dashboard, type DashboardHandler, type DashboardOptions } from '../../src/dashboard/index.js';
import { Dispatcher } from '../../src/index.js';
import { WebhookRecorder, type Responder } from '../../src/testing.js';
import { newSecret } from '../helpers.js';

export const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

export const SECRET = newSecret();
export const HEADER_VALUE = 'Bearer header-value-9f8e7d';
export const TOKEN = 'query-token-5c4b3a';

/** A dispatcher whose hosts answer as `respond` says: `bad.example` 400, everything else 200 by default. */
export function setup(respond: Responder = (r) => (r.origin === 'https://bad.example' ? { status: 400, body: 'refused by https://bad.example/x?sig=abc' } : 200)) {
  const recorder = new WebhookRecorder(respond);
  const dispatcher = new Dispatcher({ retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }, { transport: recorder.transport });
  cleanup.push(() => dispatcher.close());
  return { recorder, dispatcher };
}

export function endpoint(host: string) {
  return { url: `https://${host}/hooks?token=${TOKEN}`, secret: SECRET, headers: { authorization: HEADER_VALUE } };
}

export async function listen(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function serve(dispatcher: Dispatcher, options: Partial<DashboardOptions> = {}): Promise<{ base: string; handler: DashboardHandler }> {
  const handler = dashboard(dispatcher, { authorize: (req) => req.headers.cookie === 'session=admin', ...options });
  cleanup.push(() => handler.close());
  const base = await listen((req, res) => handler(req, res));
  return { base: base + (options.basePath ?? ''), handler };
}

export const ADMIN = { cookie: 'session=admin' };

/** A POST the page itself would send. */
export function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { ...ADMIN, 'content-type': 'application/json', 'x-webhook-dashboard': '1', origin: new URL(base).origin, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return (await response.json()) as T;
}

/** One dead letter from `bad.example` (400, rejected) and one delivery to `ok.example`. */
export async function withTraffic(dispatcher: Dispatcher, type = 'invoice.paid') {
  await dispatcher.send(endpoint('ok.example'), { type, data: { n: 1 } });
  const bad = await dispatcher.send(endpoint('bad.example'), { type, data: { n: 2 } });
  await dispatcher.onIdle();
  return bad.messageId;
}

export interface DeadLetterPage {
  items: { messageId: string; url: string; origin: string; reason: string; eventType: string; responseBody: string | null; status: number | null }[];
  cursor: string | null;
}
