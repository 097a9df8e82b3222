/**
 * The page: a server-rendered shell with no data in it, and the files it loads, all from this
 * package and its dependencies (uPlot from node_modules), so the dashboard works offline and
 * under a CSP that allows only `'self'`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { WebhookError } from '../core/errors.js';

export interface Asset {
  type: string;
  body: Buffer;
}

/**
 * The page's own files sit beside this module in the sources; the build compiles only
 * TypeScript, so from `dist/dashboard/` they are read from the `src/dashboard/` the package
 * also ships.
 */
const CLIENT_DIRS = ['./client/', '../../src/dashboard/client/'];

function clientFile(name: string): Buffer {
  for (const dir of CLIENT_DIRS) {
    try {
      return readFileSync(fileURLToPath(new URL(dir + name, import.meta.url)));
    } catch {
      // Next place.
    }
  }
  throw new WebhookError('WD_INVALID_OPTIONS', `Expected the dashboard's ${name} beside its module or in the package's src/dashboard/client/, found neither`);
}

function dependencyFile(specifier: string): Buffer {
  return readFileSync(createRequire(import.meta.url).resolve(specifier));
}

let loaded: Map<string, Asset> | undefined;

/** The files under `{basePath}/assets/`, read once per process. */
export function assets(): Map<string, Asset> {
  loaded ??= new Map([
    ['app.js', { type: 'text/javascript; charset=utf-8', body: clientFile('app.js') }],
    ['app.css', { type: 'text/css; charset=utf-8', body: clientFile('app.css') }],
    ['uplot.js', { type: 'text/javascript; charset=utf-8', body: dependencyFile('uplot/dist/uPlot.iife.min.js') }],
    ['uplot.css', { type: 'text/css; charset=utf-8', body: dependencyFile('uplot/dist/uPlot.min.css') }],
  ]);
  return loaded;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const REASONS = ['rejected', 'exhausted', 'expired', 'blocked', 'gone', 'closed', 'cancelled'];

/** The page's markup: structure only; the script fills it from the API. */
export function shell(title: string, basePath: string): string {
  const t = escapeHtml(title);
  const base = escapeHtml(basePath);
  const column = (key: string, label: string, numeric = false) => `<th scope="col"${numeric ? ' class="num"' : ''}><button type="button" data-sort="${key}">${label}</button></th>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${t}</title>
<link rel="stylesheet" href="${base}/assets/uplot.css">
<link rel="stylesheet" href="${base}/assets/app.css">
<script src="${base}/assets/uplot.js" defer></script>
<script src="${base}/assets/app.js" defer></script>
</head>
<body data-base="${base}">
<header>
  <h1>${t}</h1>
  <p id="status" class="status" role="status">Connecting…</p>
</header>
<main>
  <section aria-labelledby="totals-title">
    <h2 id="totals-title" class="visually-hidden">Totals</h2>
    <dl class="totals" id="totals">
      <div><dt>Accepted</dt><dd data-total="accepted">–</dd></div>
      <div><dt>Delivered</dt><dd data-total="delivered">–</dd></div>
      <div><dt>Failed</dt><dd data-total="failed">–</dd></div>
      <div><dt>Retries</dt><dd data-total="retries">–</dd></div>
      <div><dt>Pending</dt><dd data-total="pending">–</dd></div>
      <div><dt>Hosts</dt><dd data-total="hosts">–</dd></div>
    </dl>
  </section>
  <section aria-labelledby="chart-title" class="panel">
    <h2 id="chart-title">Deliveries and failures per second</h2>
    <div id="chart" class="chart"></div>
  </section>
  <section aria-labelledby="hosts-title" class="panel">
    <h2 id="hosts-title">Hosts</h2>
    <div class="scroll">
      <table id="hosts">
        <thead><tr>${column('origin', 'Host')}${column('queued', 'Queued', true)}${column('inFlight', 'In flight', true)}${column('waiting', 'Waiting', true)}${column('breaker', 'Breaker')}${column('paused', 'Paused')}${column('endpointsHeld', 'Endpoints held', true)}${column('rate', 'Rate /s', true)}${column('lastError', 'Last error')}<th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <p class="empty" id="hosts-empty" hidden>No live hosts.</p>
  </section>
  <section aria-labelledby="dead-title" class="panel">
    <h2 id="dead-title">Dead letters</h2>
    <form id="dead-filter" class="toolbar">
      <label>Host <input name="origin" list="known-hosts" placeholder="any host" autocomplete="off" spellcheck="false"></label>
      <datalist id="known-hosts"></datalist>
      <label>Reason <select name="reason"><option value="">any reason</option>${REASONS.map((r) => `<option>${r}</option>`).join('')}</select></label>
      <button type="submit">Filter</button>
      <span class="spacer"></span>
      <button type="button" id="replay-selected" disabled>Replay selected</button>
    </form>
    <p id="replay-result" class="notice" role="status" hidden></p>
    <div class="scroll">
      <table id="dead">
        <thead><tr><th scope="col"><input type="checkbox" id="select-all" aria-label="Select all"></th><th scope="col">Failed at</th><th scope="col">Message</th><th scope="col">Event type</th><th scope="col">URL</th><th scope="col">Reason</th><th scope="col" class="num">Attempts</th><th scope="col">Last answer</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <p class="empty" id="dead-empty" hidden>No dead letters.</p>
    <button type="button" id="dead-more" hidden>Load more</button>
  </section>
  <section aria-labelledby="lookup-title" class="panel">
    <h2 id="lookup-title">Message history</h2>
    <form id="lookup" class="toolbar">
      <label>Message id <input name="id" required maxlength="100" size="40" autocomplete="off" spellcheck="false"></label>
      <button type="submit">Show history</button>
    </form>
  </section>
</main>
<dialog id="history" aria-labelledby="history-title">
  <form method="dialog" class="dialog-head"><h2 id="history-title">Message</h2><button type="submit" aria-label="Close">×</button></form>
  <p id="history-error" class="notice" hidden></p>
  <dl id="history-facts" class="facts"></dl>
  <table id="history-attempts">
    <thead><tr><th scope="col">#</th><th scope="col">At</th><th scope="col">Status</th><th scope="col">Error</th><th scope="col" class="num">Latency</th></tr></thead>
    <tbody></tbody>
  </table>
</dialog>
</body>
</html>
`;
}
