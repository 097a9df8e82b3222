// The dashboard page. Plain browser JavaScript, no build step: served as is under a CSP that
// allows only this origin's scripts, so nothing inline ever runs.
//
// Event types, URLs, error messages and receivers' answers are attacker-controlled. They reach
// the page only through textContent and DOM properties, never as markup.
'use strict';

(function () {
  const base = document.body.dataset.base || '';
  const $ = (selector) => document.querySelector(selector);
  const POLL_MS = 1000;
  const MAX_HOST_ROWS = 500;
  const DEAD_PAGE = 25;

  /** An element with text or properties; children appended. Never markup. */
  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === 'text') node.textContent = value;
      else if (key === 'class') node.className = value;
      else node[key] = value;
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  // ---- API -----------------------------------------------------------------------------------

  class Unauthorized extends Error {}

  async function request(path, init) {
    const res = await fetch(`${base}/api/${path}`, { credentials: 'same-origin', cache: 'no-store', ...init });
    if (res.status === 401) throw new Unauthorized('Not authorized');
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(body && body.error ? body.error.message : `HTTP ${res.status}`);
    return body;
  }

  function post(path, value) {
    // The custom header is the server's CSRF guard: a cross-site form cannot send it.
    return request(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-dashboard': '1' }, body: JSON.stringify(value) });
  }

  // ---- Formatting ----------------------------------------------------------------------------

  const integer = new Intl.NumberFormat('en-US');
  const pad = (n) => String(n).padStart(2, '0');

  function time(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function badge(kind, value, known) {
    // The class comes from a fixed list, never from the data.
    return el('span', { class: `badge ${kind}-${known.includes(value) ? value : 'other'}`, text: String(value) });
  }

  const status = $('#status');
  function setStatus(text, kind) {
    status.textContent = text;
    status.dataset.kind = kind;
  }

  // ---- Totals and chart ----------------------------------------------------------------------

  function renderTotals(stats) {
    for (const node of document.querySelectorAll('[data-total]')) node.textContent = integer.format(stats[node.dataset.total]);
  }

  let plot;
  function renderChart(chart) {
    const box = $('#chart');
    const xs = chart.delivered.map((_, i) => chart.start + i);
    const data = [xs, chart.delivered, chart.failed];
    if (typeof window.uPlot !== 'function') return;
    if (plot !== undefined) return plot.setData(data);
    const size = () => ({ width: Math.max(300, box.clientWidth), height: 220 });
    plot = new window.uPlot(
      {
        ...size(),
        series: [
          {},
          { label: 'Delivered/s', stroke: '#1a7f37', fill: 'rgba(26, 127, 55, 0.08)', width: 2, points: { show: false } },
          { label: 'Failed/s', stroke: '#cf222e', fill: 'rgba(207, 34, 46, 0.08)', width: 2, points: { show: false } },
        ],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
        axes: [{ stroke: '#57606a', values: (_u, splits) => splits.map((t) => time(new Date(t * 1000).toISOString()).slice(11)) }, { stroke: '#57606a', size: 48 }],
        legend: { live: false },
      },
      data,
      box,
    );
    new ResizeObserver(() => plot.setSize(size())).observe(box);
  }

  // ---- Hosts ---------------------------------------------------------------------------------

  const hostBody = $('#hosts tbody');
  const hostRows = new Map();
  let hosts = [];
  let sortKey = 'origin';
  let sortDirection = 1;
  const BREAKER_ORDER = { closed: 0, 'half-open': 1, open: 2 };

  function sortValue(host, key) {
    if (key === 'breaker') return BREAKER_ORDER[host.breaker] ?? 3;
    if (key === 'paused') return host.paused ? 1 : 0;
    if (key === 'rate') return host.rate ?? -1;
    if (key === 'lastError') return host.lastError ? host.lastError.at : '';
    return host[key];
  }

  function compare(a, b) {
    const x = sortValue(a, sortKey);
    const y = sortValue(b, sortKey);
    const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return order * sortDirection || a.origin.localeCompare(b.origin);
  }

  /** One row per origin, kept across polls and updated in place, so a click never lands on a row being replaced. */
  function hostRow(origin) {
    let row = hostRows.get(origin);
    if (row !== undefined) return row;
    const cells = {};
    for (const key of ['origin', 'queued', 'inFlight', 'waiting', 'breaker', 'paused', 'endpointsHeld', 'rate', 'lastError']) {
      cells[key] = el('td', { class: ['queued', 'inFlight', 'waiting', 'endpointsHeld', 'rate'].includes(key) ? 'num' : key });
    }
    cells.origin.textContent = origin;
    const toggle = el('button', { type: 'button', class: 'small' });
    toggle.addEventListener('click', () => pauseOrResume(origin, toggle));
    row = el('tr', {}, [...Object.values(cells), el('td', { class: 'actions' }, [toggle])]);
    row.cells_ = cells;
    row.toggle_ = toggle;
    hostRows.set(origin, row);
    return row;
  }

  function renderHosts() {
    const live = new Set(hosts.map((h) => h.origin));
    for (const origin of hostRows.keys()) if (!live.has(origin)) hostRows.delete(origin);
    const shown = hosts.slice().sort(compare).slice(0, MAX_HOST_ROWS);
    for (const h of shown) {
      const row = hostRow(h.origin);
      const c = row.cells_;
      c.queued.textContent = integer.format(h.queued);
      c.inFlight.textContent = integer.format(h.inFlight);
      c.waiting.textContent = integer.format(h.waiting);
      c.breaker.replaceChildren(badge('breaker', h.breaker, ['closed', 'half-open', 'open']));
      c.paused.textContent = h.paused ? 'paused' : '';
      // Endpoints held on their own (their breaker, or their own rate limit) of the host's active ones; which, on hover.
      c.endpointsHeld.textContent = h.endpoints === 0 ? '–' : `${integer.format(h.endpointsHeld)} of ${integer.format(h.endpoints)}`;
      c.endpointsHeld.title = h.held.map((e) => `${e.url}  ${e.why === 'rate' ? 'waiting for its rate limit' : 'its breaker is open'}, ${e.queued} held`).join('\n') + (h.busiest ? `${h.held.length > 0 ? '\n' : ''}busiest: ${h.busiest.url}, ${Math.round(h.busiest.share * 100)}% of the queue` : '');
      c.rate.textContent = h.rate === null ? '–' : h.rate.toFixed(1);
      c.lastError.textContent = h.lastError ? h.lastError.text : '';
      c.lastError.title = h.lastError ? `${time(h.lastError.at)}  ${h.lastError.text}` : '';
      row.toggle_.textContent = h.paused ? 'Resume' : 'Pause';
      row.toggle_.dataset.paused = String(h.paused);
    }
    // The same row elements, moved: the table is reordered without rebuilding it.
    hostBody.replaceChildren(...shown.map((h) => hostRows.get(h.origin)));
    $('#hosts-empty').hidden = hosts.length > 0;
    const known = $('#known-hosts');
    if (known.options.length !== hosts.length) known.replaceChildren(...hosts.map((h) => el('option', { value: h.origin })));
  }

  for (const button of document.querySelectorAll('#hosts [data-sort]')) {
    button.addEventListener('click', () => {
      const key = button.dataset.sort;
      sortDirection = key === sortKey ? -sortDirection : key === 'origin' || key === 'lastError' ? 1 : -1;
      sortKey = key;
      for (const th of document.querySelectorAll('#hosts th')) th.removeAttribute('aria-sort');
      button.parentElement.setAttribute('aria-sort', sortDirection === 1 ? 'ascending' : 'descending');
      renderHosts();
    });
  }
  $('#hosts [data-sort="origin"]').parentElement.setAttribute('aria-sort', 'ascending');

  async function pauseOrResume(origin, button) {
    button.disabled = true;
    try {
      await post(button.dataset.paused === 'true' ? 'hosts/resume' : 'hosts/pause', { origin });
      poll();
    } catch (error) {
      setStatus(error.message, 'error');
    } finally {
      button.disabled = false;
    }
  }

  // ---- Polling -------------------------------------------------------------------------------

  let timer;
  let polling = false;
  let stopped = false;

  async function poll() {
    if (polling || stopped) return;
    polling = true;
    clearTimeout(timer);
    try {
      const [stats, list] = await Promise.all([request('stats'), request('hosts')]);
      renderTotals(stats);
      renderChart(stats.chart);
      hosts = list.hosts;
      renderHosts();
      setStatus(`Live · ${time(new Date().toISOString()).slice(11)}`, 'live');
    } catch (error) {
      if (error instanceof Unauthorized) {
        stopped = true;
        setStatus('Not authorized: sign in again and reload', 'error');
      } else setStatus('Connection lost: retrying', 'error');
    } finally {
      polling = false;
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    }
  }

  // ---- Dead letters --------------------------------------------------------------------------

  const deadBody = $('#dead tbody');
  const filter = $('#dead-filter');
  const selectAll = $('#select-all');
  const replaySelected = $('#replay-selected');
  const more = $('#dead-more');
  const notice = $('#replay-result');
  let cursor = null;
  let query = new URLSearchParams();

  function selectedIds() {
    return [...deadBody.querySelectorAll('input[type=checkbox]:checked')].map((box) => box.value);
  }

  function updateSelection() {
    // A replayed dead letter has no checkbox: "select all" never replays one a second time.
    const boxes = deadBody.querySelectorAll('input[type=checkbox]');
    const count = selectedIds().length;
    replaySelected.disabled = count === 0;
    replaySelected.textContent = count === 0 ? 'Replay selected' : `Replay ${count} selected`;
    selectAll.disabled = boxes.length === 0;
    selectAll.checked = boxes.length > 0 && count === boxes.length;
    selectAll.indeterminate = count > 0 && count < boxes.length;
  }

  /** A message id as a button that opens its history. Shown by its random tail: UUIDv7s share their leading timestamp. */
  function messageLink(id) {
    const link = el('button', { type: 'button', class: 'link mono', text: id.length > 16 ? `…${id.slice(-12)}` : id, title: `${id}: show history` });
    link.setAttribute('aria-label', id);
    link.addEventListener('click', () => showHistory(id));
    return link;
  }

  function lastAnswer(d) {
    const parts = [];
    if (d.status !== null) parts.push(el('span', { class: 'mono', text: `HTTP ${d.status}` }));
    if (d.error !== null) parts.push(el('span', { class: 'mono', text: d.error.code, title: d.error.message }));
    if (d.responseBody !== null && d.responseBody !== '') parts.push(el('span', { class: 'body', text: d.responseBody, title: d.responseBody }));
    return parts;
  }

  /**
   * A dead letter replayed already shows its replay (a link to the new message's history) in
   * place of the Replay button: had the replay failed too, it is a dead letter of its own, with
   * its own button, so the original is not offered twice.
   */
  function deadActions(d) {
    if (d.replayedAs !== null) {
      return [el('span', { class: 'replayed', text: 'Replayed as ', title: `Replayed ${time(d.replayedAt)} as ${d.replayedAs}` }, [messageLink(d.replayedAs)])];
    }
    const replay = el('button', { type: 'button', class: 'small', text: 'Replay' });
    replay.addEventListener('click', () => replayIds([d.messageId], replay));
    return [replay];
  }

  function deadRow(d) {
    const selectable = [];
    if (d.replayedAs === null) {
      const box = el('input', { type: 'checkbox', value: d.messageId });
      box.setAttribute('aria-label', `Select ${d.messageId}`);
      box.addEventListener('change', updateSelection);
      selectable.push(box);
    }
    return el('tr', { class: d.replayedAs === null ? '' : 'replayed' }, [
      el('td', {}, selectable),
      el('td', { class: 'nowrap', text: time(d.failedAt) }),
      el('td', {}, [messageLink(d.messageId)]),
      el('td', { class: 'mono event-type', text: d.eventType, title: d.eventType }),
      el('td', { class: 'url', text: d.url, title: d.url }),
      el('td', {}, [badge('reason', d.reason, ['rejected', 'exhausted', 'expired', 'blocked', 'gone', 'closed', 'cancelled'])]),
      el('td', { class: 'num', text: String(d.attempts) }),
      el('td', { class: 'answer' }, lastAnswer(d)),
      el('td', { class: 'actions' }, deadActions(d)),
    ]);
  }

  async function loadDeadLetters(append) {
    const params = new URLSearchParams(query);
    params.set('limit', String(DEAD_PAGE));
    if (append && cursor) params.set('cursor', cursor);
    try {
      const page = await request(`dead-letters?${params}`);
      if (!append) deadBody.replaceChildren();
      deadBody.append(...page.items.map(deadRow));
      cursor = page.cursor;
      more.hidden = !cursor;
      $('#dead-empty').hidden = deadBody.children.length > 0;
      updateSelection();
    } catch (error) {
      showNotice(error.message, 'error');
    }
  }

  function showNotice(text, kind, children) {
    notice.replaceChildren(text, ...(children || []));
    notice.dataset.kind = kind;
    notice.hidden = false;
  }

  async function replayIds(ids, button) {
    if (button) button.disabled = true;
    try {
      const { results } = await post('replay', { ids });
      const sent = results.filter((r) => r.ok);
      const links = [];
      for (const r of sent) links.push(' ', messageLink(r.messageId));
      for (const r of results.filter((x) => !x.ok)) links.push(el('span', { class: 'failed-replay', text: ` ${r.id}: ${r.error.message}` }));
      poll();
      // The list is reloaded before the notice shows: once it reads "Replayed", the rows are settled.
      await loadDeadLetters(false);
      showNotice(`Replayed ${sent.length} of ${results.length}${sent.length ? ' as' : ''}`, sent.length === results.length ? 'ok' : 'error', links);
    } catch (error) {
      showNotice(error.message, 'error');
    } finally {
      if (button) button.disabled = false;
      // "Replay selected" stays disabled when the reloaded list has nothing selected.
      updateSelection();
    }
  }

  filter.addEventListener('submit', (event) => {
    event.preventDefault();
    query = new URLSearchParams();
    const data = new FormData(filter);
    for (const key of ['origin', 'reason']) if (data.get(key)) query.set(key, String(data.get(key)).trim());
    loadDeadLetters(false);
  });
  selectAll.addEventListener('change', () => {
    for (const box of deadBody.querySelectorAll('input[type=checkbox]')) box.checked = selectAll.checked;
    updateSelection();
  });
  replaySelected.addEventListener('click', () => replayIds(selectedIds(), replaySelected));
  more.addEventListener('click', () => loadDeadLetters(true));

  // ---- History -------------------------------------------------------------------------------

  const dialog = $('#history');

  async function showHistory(id) {
    const facts = $('#history-facts');
    const attempts = $('#history-attempts tbody');
    const problem = $('#history-error');
    facts.replaceChildren();
    attempts.replaceChildren();
    problem.hidden = true;
    $('#history-title').textContent = `Message ${id}`;
    if (!dialog.open) dialog.showModal();
    try {
      const h = await request(`messages/${encodeURIComponent(id)}`);
      const rows = [['Event type', h.eventType], ['Event id', h.eventId], ['URL', h.url], ['Host', h.origin], ['State', h.state], ['Accepted', time(h.acceptedAt)]];
      for (const [name, value] of rows) facts.append(el('dt', { text: name }), el('dd', { text: value }));
      if (h.replayedAs !== null) facts.append(el('dt', { text: 'Replayed as' }), el('dd', {}, [messageLink(h.replayedAs)]));
      h.attempts.forEach((a, i) => {
        attempts.append(
          el('tr', {}, [
            el('td', { class: 'num', text: String(i + 1) }),
            el('td', { class: 'nowrap', text: time(a.at) }),
            el('td', { class: 'mono', text: a.status === null ? '' : String(a.status) }),
            el('td', { text: a.error === null ? '' : `${a.error.code}: ${a.error.message}` }),
            el('td', { class: 'num', text: `${a.latencyMs} ms` }),
          ]),
        );
      });
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
    }
  }

  $('#lookup').addEventListener('submit', (event) => {
    event.preventDefault();
    const id = String(new FormData(event.target).get('id') || '').trim();
    if (id) showHistory(id);
  });

  poll();
  loadDeadLetters(false);
})();
