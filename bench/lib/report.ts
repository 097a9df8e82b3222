/** Prints the results as a table and writes them as JSON, Markdown and an SVG chart. */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { Profile, Row, ScenarioResult } from './context.js';

function fmt(value: number | undefined, unit: string): string {
  if (value === undefined || Number.isNaN(value)) return '';
  if (unit === '×') return `${value.toFixed(2)}×`;
  if (unit === 'ms') return `${value.toFixed(3)} ms`;
  if (unit === '%') return `${(value * 100).toFixed(1)}%`;
  if (unit === 'B') return value >= 10_240 ? `${(value / 1024).toFixed(1)} KiB` : `${Math.round(value)} B`;
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US') + (unit === '/s' ? '/s' : unit === 'count' ? '' : ` ${unit}`);
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(2);
  return unit === 'count' ? shown : `${shown}${unit === '/s' ? '/s' : ` ${unit}`}`;
}

const HEAD = ['#', 'scenario', 'metric', 'dispatcher', 'signed loop', 'p-queue', 'raw-undici', 'naive', 'target', 'met'];
/** The columns holding figures, right-aligned. */
const NUMERIC = (i: number) => i >= 3 && i <= 7;

function cells(r: ScenarioResult, row: Row): string[] {
  const figures = [row.dispatcher, row.signedLoop, row.pQueue, row.rawUndici, row.naive].map((v) => fmt(v, row.unit));
  return [r.id, r.title, row.metric, ...figures, row.target ?? '', row.pass === undefined ? '' : row.pass ? 'yes' : 'NO'];
}

/** Every row with a target this run missed, as `1. one host, unlimited: dispatcher ÷ signed loop 0.93× (target ≥ 0.95)`. */
export function missed(results: ScenarioResult[]): string[] {
  return results.flatMap((r) => r.rows.filter((row) => row.pass === false).map((row) => `${r.id}. ${r.title}: ${row.metric} ${fmt(row.dispatcher, row.unit)} (target ${row.target})`));
}

export function machine(): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.arch()}`;
}

export function printTable(results: ScenarioResult[]): void {
  const rows = results.flatMap((r) => r.rows.map((row) => cells(r, row)));
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (NUMERIC(i) ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ');
  console.log(`\n${line(HEAD)}\n${widths.map((w) => '─'.repeat(w)).join('  ')}`);
  for (const row of rows) console.log(line(row));
}

export function markdown(results: ScenarioResult[], profile: Profile, seconds: number): string {
  const out = [
    `Profile \`${profile}\`, ${new Date().toISOString().slice(0, 10)}, ${seconds.toFixed(0)} s. Machine: ${machine()}.`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `| ${HEAD.map((_, i) => (NUMERIC(i) ? '---:' : '---')).join(' | ')} |`,
  ];
  for (const r of results) for (const row of r.rows) out.push(`| ${cells(r, row).join(' | ')} |`);
  return out.join('\n') + '\n';
}

/** A bar chart of deliveries/s per contender for the throughput scenarios. */
export function chart(results: ScenarioResult[]): string {
  const groups = results
    .map((r) => ({ title: `${r.id}. ${r.title}`, row: r.rows.find((x) => x.unit === '/s' && x.rawUndici !== undefined) }))
    .filter((g): g is { title: string; row: Row } => g.row !== undefined);
  const series = [
    { key: 'dispatcher', color: '#2f6fdf', label: 'webhook-dispatcher' },
    { key: 'signedLoop', color: '#3a9a5b', label: 'signed pool.request loop' },
    { key: 'pQueue', color: '#9b59b6', label: 'p-queue per host' },
    { key: 'rawUndici', color: '#8a8a8a', label: 'raw undici (unsigned)' },
    { key: 'naive', color: '#e07b39', label: 'naive fetch loop' },
  ] as const;
  const max = Math.max(1, ...groups.flatMap((g) => series.map((s) => g.row[s.key] ?? 0)));
  const W = 760;
  const barH = 18;
  const groupH = series.length * barH + 34;
  const left = 190;
  const H = groups.length * groupH + 70;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="100%" height="100%" fill="white"/>`, `<text x="10" y="22" font-size="15" font-weight="bold">Deliveries per second (higher is better)</text>`];
  groups.forEach((g, gi) => {
    const y0 = 40 + gi * groupH;
    parts.push(`<text x="10" y="${y0 + 14}" font-weight="bold">${g.title}</text>`);
    series.forEach((s, si) => {
      const v = g.row[s.key] ?? 0;
      const y = y0 + 22 + si * barH;
      const w = ((W - left - 110) * v) / max;
      parts.push(`<text x="${left - 8}" y="${y + 12}" text-anchor="end">${s.label}</text>`, `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 4}" fill="${s.color}"/>`, `<text x="${left + w + 6}" y="${y + 12}">${Math.round(v).toLocaleString('en-US')}/s</text>`);
    });
  });
  parts.push(`<text x="10" y="${H - 10}" fill="#666">${machine()}</text>`, '</svg>');
  return parts.join('\n') + '\n';
}

export function write(dir: string, results: ScenarioResult[], profile: Profile, seconds: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/${profile}.json`, JSON.stringify({ profile, date: new Date().toISOString(), machine: machine(), seconds, results }, null, 2) + '\n');
  writeFileSync(`${dir}/${profile}.md`, markdown(results, profile, seconds));
  writeFileSync(`${dir}/${profile}-throughput.svg`, chart(results));
}
