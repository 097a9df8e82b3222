/**
 * A dashboard to mount in an app: totals and a live deliveries/failures chart, every host,
 * dead letters with replay, and a message's history.
 *
 * ```ts
 * import { dashboard } from 'webhook-dispatcher/dashboard';
 *
 * const handler = dashboard(dispatcher, { basePath: '/admin/webhooks', authorize: (req) => isAdmin(req) });
 * app.use('/admin/webhooks', handler);                  // Express
 * http.createServer((req, res) => handler(req, res));   // node:http
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from '../dispatcher.js';
import type { Delivered, Failed, Retry } from '../model/types.js';
import { api, type ApiContext } from './api.js';
import { assets, shell } from './assets.js';
import { CHART_SECONDS, HostActivity, SecondCounters } from './counters.js';
import { HttpError, send, sendError } from './http.js';
import { checkDispatcher, resolveDashboardOptions, type DashboardOptions } from './options.js';
import { troubleText } from './views.js';

export type { Authorize, DashboardOptions } from './options.js';
export { CONTENT_SECURITY_POLICY, CSRF_HEADER } from './http.js';

/**
 * A request handler for `node:http`, Express (`app.use`) or Fastify (raw request and response,
 * see the README). Requests outside `basePath` go to `next()`, or get a 404 without it.
 */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** Stops counting: removes the dashboard's listeners from the dispatcher. The handler keeps answering, with counters frozen. */
  close(): void;
}

/**
 * Builds the dashboard of `dispatcher`. It subscribes to `delivered`, `failed` and `retry` at
 * once to count per second (the chart covers the last 5 minutes), so build it when the
 * dispatcher is made, not per request.
 * @throws WebhookError `WD_INVALID_OPTIONS` when `authorize` is missing or not a function, or an option is out of range
 */
export function dashboard(dispatcher: Dispatcher, options: DashboardOptions): DashboardHandler {
  checkDispatcher(dispatcher);
  const { authorize, basePath, title, perHostRates } = resolveDashboardOptions(options);
  const now = Date.now;
  const chart = new SecondCounters(2, CHART_SECONDS + 1);
  const activity = new HostActivity(perHostRates);
  const ctx: ApiContext = { dispatcher, chart, activity, now, startedMs: now() };
  const files = assets();
  const page = Buffer.from(shell(title, basePath));

  // A dashboard bug must never reach the dispatcher: what a listener throws would surface as
  // the dispatcher's `error` event. Counting is best effort.
  const quietly = <E>(count: (event: E) => void) => (event: E) => {
    try {
      count(event);
    } catch {
      // Counted nothing.
    }
  };
  const onDelivered = quietly((e: Delivered) => {
    const second = Math.floor(now() / 1000);
    chart.add(0, second);
    activity.delivered(e.origin, second);
  });
  const onFailed = quietly((e: Failed) => {
    const at = now();
    chart.add(1, Math.floor(at / 1000));
    activity.failed(e.origin, at, troubleText(e));
  });
  const onRetry = quietly((e: Retry) => activity.failed(e.origin, now(), troubleText(e)));
  dispatcher.on('delivered', onDelivered).on('failed', onFailed).on('retry', onRetry);

  /** The path inside the dashboard (`''`, `/`, `/api/stats`…), or `undefined` outside `basePath`. */
  function locate(req: IncomingMessage): { route: string; query: URLSearchParams } | undefined {
    // Express strips its mount path from `url` and keeps the full one in `originalUrl`.
    const raw = (req as { originalUrl?: unknown }).originalUrl;
    let url: URL;
    try {
      url = new URL(typeof raw === 'string' ? raw : (req.url ?? '/'), 'http://dashboard.invalid');
    } catch {
      return undefined;
    }
    const path = url.pathname;
    if (path !== basePath && !path.startsWith(`${basePath}/`)) return undefined;
    return { route: path.slice(basePath.length), query: url.searchParams };
  }

  async function serve(req: IncomingMessage, res: ServerResponse, route: string, query: URLSearchParams): Promise<void> {
    if ((await authorize(req)) !== true) throw new HttpError(401, 'Not authorized');
    if (route.startsWith('/api/')) return api(ctx, route.slice('/api/'.length), query, req, res);
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const body = route === '' || route === '/' ? { type: 'text/html; charset=utf-8', body: page } : route.startsWith('/assets/') ? files.get(route.slice('/assets/'.length)) : undefined;
    if (body === undefined) throw new HttpError(404, 'Not found');
    if (method !== 'GET' && !head) throw new HttpError(405, `Method ${method.slice(0, 10)} is not allowed here`, { allow: 'GET, HEAD' });
    send(res, 200, body.type, body.body, head);
  }

  const handler = ((req, res, next) => {
    const where = locate(req);
    if (where === undefined) {
      if (next !== undefined) return next();
      return sendError(res, new HttpError(404, 'Not found'), false);
    }
    const isApi = where.route.startsWith('/api/');
    serve(req, res, where.route, where.query).catch((error: unknown) => {
      if (error instanceof HttpError) return sendError(res, error, isApi);
      // A throwing `authorize`, a store failing in an unexpected way: the app's error handler
      // hears of it when there is one; the browser learns nothing but the status.
      if (next !== undefined && !res.headersSent) return next(error);
      sendError(res, new HttpError(500, 'Internal error'), isApi);
    });
  }) as DashboardHandler;
  handler.close = () => {
    dispatcher.off('delivered', onDelivered).off('failed', onFailed).off('retry', onRetry);
  };
  return handler;
}
