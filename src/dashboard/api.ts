/**
 * The JSON API behind the page, under `{basePath}/api/`:
 *
 * - `GET stats`: totals and the per-second chart
 * - `GET hosts`: every live host with its queue, breaker, rate and last error
 * - `GET dead-letters?origin=&reason=&cursor=&limit=`: a page of dead letters, newest first
 * - `GET messages/{id}`: one message's history
 * - `POST replay` `{ ids: string[] }`: sends dead letters again
 * - `POST hosts/pause` and `POST hosts/resume` `{ origin }`
 *
 * POSTs pass the CSRF guard of {@link checkSameOrigin} and take only JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from '../dispatcher.js';
import { isWebhookError } from '../core/errors.js';
import type { DeadLetterQuery } from '../persistence/store.js';
import type { FailureReason } from '../model/types.js';
import type { HostActivity, SecondCounters } from './counters.js';
import { HttpError, checkSameOrigin, readJsonObject, sendJson } from './http.js';
import { clip } from './redact.js';
import { deadLetterView, historyView, hostsView, statsView } from './views.js';

const REASONS: readonly FailureReason[] = ['rejected', 'exhausted', 'expired', 'blocked', 'gone', 'closed', 'cancelled'];
/** Message ids are UUIDv7 today; anything id-shaped is looked up, nothing else. */
const MESSAGE_ID = /^[A-Za-z0-9_-]{1,100}$/;
/** Most ids one replay request may name. */
export const MAX_REPLAY = 1_000;

export interface ApiContext {
  dispatcher: Dispatcher;
  chart: SecondCounters;
  activity: HostActivity;
  now: () => number;
  /** When the dashboard began counting, epoch milliseconds. */
  startedMs: number;
}

/** Answers `route` (the path after `/api/`) or throws an {@link HttpError}. */
export async function api(ctx: ApiContext, route: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const read = method === 'GET' || method === 'HEAD';
  const head = method === 'HEAD';
  if (route === 'stats' && read) return sendJson(res, 200, statsView(ctx.dispatcher.stats(), ctx.chart, ctx.now(), ctx.startedMs), head);
  if (route === 'hosts' && read) return sendJson(res, 200, hostsView(ctx.dispatcher.stats(), ctx.activity, ctx.now()), head);
  if (route === 'dead-letters' && read) return sendJson(res, 200, await deadLetters(ctx.dispatcher, query), head);
  if (route.startsWith('messages/') && read) return sendJson(res, 200, await history(ctx.dispatcher, decodeSegment(route.slice('messages/'.length))), head);
  if (route === 'replay' && method === 'POST') return sendJson(res, 200, await replay(ctx.dispatcher, req));
  if ((route === 'hosts/pause' || route === 'hosts/resume') && method === 'POST') return sendJson(res, 200, await pauseOrResume(ctx.dispatcher, req, route === 'hosts/pause'));
  const known = ['stats', 'hosts', 'dead-letters', 'replay', 'hosts/pause', 'hosts/resume'].includes(route) || route.startsWith('messages/');
  if (known) throw new HttpError(405, `Method ${clip(method, 10)} is not allowed here`, { allow: route === 'replay' || route.startsWith('hosts/') ? 'POST' : 'GET, HEAD' });
  throw new HttpError(404, 'No such API route');
}

async function deadLetters(dispatcher: Dispatcher, query: URLSearchParams) {
  const filter: DeadLetterQuery = {};
  const origin = query.get('origin');
  if (origin !== null && origin !== '') filter.origin = originOf(origin);
  const reason = query.get('reason');
  if (reason !== null && reason !== '') {
    if (!REASONS.includes(reason as FailureReason)) throw new HttpError(400, `Expected \`reason\` to be one of ${REASONS.join(', ')}, got ${JSON.stringify(clip(reason, 40))}`);
    filter.reason = reason as FailureReason;
  }
  const limit = query.get('limit');
  if (limit !== null && limit !== '') {
    if (!/^\d{1,4}$/.test(limit)) throw new HttpError(400, `Expected \`limit\` to be an integer from 1 to 1000, got ${JSON.stringify(clip(limit, 20))}`);
    filter.limit = Number(limit);
  }
  const cursor = query.get('cursor');
  if (cursor !== null && cursor !== '') filter.cursor = cursor;
  const page = await fromDispatcher(() => dispatcher.deadLetters(filter));
  return { items: page.items.map(deadLetterView), cursor: page.cursor ?? null };
}

async function history(dispatcher: Dispatcher, id: string) {
  if (!MESSAGE_ID.test(id)) throw new HttpError(400, 'Expected a message id (letters, digits, - and _)');
  const found = await fromDispatcher(() => dispatcher.history(id));
  if (found === undefined) throw new HttpError(404, 'The store keeps no history for this message: it was delivered at its first attempt, or it is pruned, or the id is unknown');
  return historyView(found);
}

async function replay(dispatcher: Dispatcher, req: IncomingMessage) {
  checkSameOrigin(req);
  const { ids } = await readJsonObject(req);
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_REPLAY || !ids.every((id) => typeof id === 'string' && MESSAGE_ID.test(id))) {
    throw new HttpError(400, `Expected \`ids\` to be an array of 1 to ${MAX_REPLAY} message ids`);
  }
  const results = await fromDispatcher(() => dispatcher.replay(ids as string[]));
  return {
    results: results.map((r, i) => (r.ok ? { id: ids[i] as string, ok: true, messageId: r.receipt.messageId } : { id: ids[i] as string, ok: false, error: { code: r.error.code, message: clip(r.error.message, 300) } })),
  };
}

async function pauseOrResume(dispatcher: Dispatcher, req: IncomingMessage, pause: boolean) {
  checkSameOrigin(req);
  const { origin } = await readJsonObject(req);
  // Only a live host: pausing creates a host actor, and the page has no business creating one.
  if (typeof origin !== 'string' || !Object.hasOwn(dispatcher.stats().hosts, origin)) throw new HttpError(404, 'Expected `origin` to name a live host');
  await fromDispatcher(async () => (pause ? dispatcher.pause(origin) : dispatcher.resume(origin)));
  return { origin, paused: dispatcher.stats().hosts[origin]?.paused ?? false };
}

/** An origin, or the origin of a URL pasted in its place (a webhook URL from a log). */
function originOf(text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
  } catch {
    // Not a URL: looked up as typed, and matches nothing.
  }
  return text;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'Expected a URL-encoded message id');
  }
}

/** The dispatcher's refusals become answers: bad input 400, a closed dispatcher or an unavailable store 503. */
async function fromDispatcher<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isWebhookError(error)) throw error;
    const status = error.code === 'WD_CLOSED' || error.code === 'WD_STORE_UNAVAILABLE' ? 503 : error.code === 'WD_QUEUE_FULL' ? 429 : 400;
    throw new HttpError(status, clip(error.message, 300));
  }
}
