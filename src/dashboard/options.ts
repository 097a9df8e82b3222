import type { IncomingMessage } from 'node:http';
import { WebhookError, describe, invalidOptions } from '../core/errors.js';
import { boolean, readObject } from '../core/option-checks.js';

/** Decides whether a request may see the dashboard. Only `true` lets it in. */
export type Authorize = (req: IncomingMessage) => boolean | Promise<boolean>;

export interface DashboardOptions {
  /**
   * Called for every request the dashboard answers (page, assets and API) before anything is
   * read or shown: check the session, a role, an allow-listed network. Only `true` (or a
   * promise of `true`) lets the request in; anything else is answered 401 with no data.
   * Required: a dashboard that anyone can open would show every customer's webhook URLs.
   */
  authorize: Authorize;
  /**
   * The path the dashboard is served under, as the browser sees it: `/admin/webhooks`. Requests
   * outside it go to `next()` (or get a 404 when there is no `next`). Letters, digits and
   * `. _ ~ -` in each segment; no trailing slash.
   * @default '' (the root)
   */
  basePath?: string;
  /** Shown as the page's title and heading. At most 100 characters. @default 'Webhooks' */
  title?: string;
  /**
   * Count deliveries per host to show each host's rate (deliveries per second over the last
   * 10 seconds). Costs a map lookup per delivery and about 100 bytes per active host (at most
   * 10 000 hosts are tracked). Without it the rate column is empty.
   * @default true
   */
  perHostRates?: boolean;
}

export interface ResolvedDashboardOptions {
  authorize: Authorize;
  basePath: string;
  title: string;
  perHostRates: boolean;
}

const KEYS = ['authorize', 'basePath', 'title', 'perHostRates'] as const;
const BASE_PATH = /^(\/[A-Za-z0-9._~-]+)*$/;

export function resolveDashboardOptions(options: unknown): ResolvedDashboardOptions {
  if (options === undefined) throw new WebhookError('WD_INVALID_OPTIONS', 'Expected dashboard options with an `authorize(req)` function, got `undefined`');
  const o = readObject('options', options, KEYS, '');
  const authorize = o('authorize');
  if (typeof authorize !== 'function') throw invalidOptions('authorize', 'a function (req) => boolean | Promise<boolean>', authorize);
  const basePath = o('basePath') ?? '';
  if (typeof basePath !== 'string' || !BASE_PATH.test(basePath) || basePath.length > 200 || /\/\.\.?(\/|$)/.test(basePath)) {
    throw invalidOptions('basePath', "a path such as `/admin/webhooks` (no trailing slash; '' for the root)", basePath);
  }
  const title = o('title') ?? 'Webhooks';
  if (typeof title !== 'string' || title.length === 0 || title.length > 100) throw invalidOptions('title', 'a string of 1 to 100 characters', title);
  return { authorize: authorize as Authorize, basePath, title, perHostRates: boolean('perHostRates', o('perHostRates'), true) };
}

/** The methods of the dispatcher the dashboard uses: duck-typed, so a second copy of the library works too. */
const METHODS = ['stats', 'on', 'off', 'deadLetters', 'history', 'replay', 'pause', 'resume'] as const;

export function checkDispatcher(dispatcher: unknown): void {
  let missing: string | undefined;
  try {
    missing = METHODS.find((m) => typeof (dispatcher as Record<string, unknown> | null)?.[m] !== 'function');
  } catch (error) {
    throw new WebhookError('WD_INVALID_OPTIONS', 'Expected a Dispatcher as the first argument of `dashboard`, but reading it threw', { cause: error });
  }
  if (missing !== undefined) throw new WebhookError('WD_INVALID_OPTIONS', `Expected a Dispatcher as the first argument of \`dashboard\`, got ${describe(dispatcher)} (no \`${missing}\` method)`);
}
