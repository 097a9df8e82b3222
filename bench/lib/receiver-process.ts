/**
 * Receivers for the benchmarks, in their own process so they never share the event loop of
 * the sender being measured. Lean on purpose: a slow receiver would cap every contender alike
 * and hide the differences the benchmark is there to show.
 *
 * Driven over IPC (see receivers.ts): listen on N ports, set fault knobs, report counts.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Faults {
  /** Share of requests answered 503. */
  error?: number;
  /** Share of requests whose connection is reset before any answer. */
  reset?: number;
  /** Share of requests never answered (the sender's timeout ends them). */
  hang?: number;
  /** Share of requests answered 429 with `Retry-After: retryAfter`. */
  tooMany?: number;
  retryAfter?: string;
  /** Answer every request after this many milliseconds. */
  latencyMs?: number;
  /** Answer nothing at all. */
  silent?: boolean;
}

export type Command =
  | { cmd: 'listen'; count: number }
  | { cmd: 'configure'; faults: Faults; secret?: string; verifyEvery?: number; recordTimes?: boolean }
  | { cmd: 'reset' }
  | { cmd: 'stats' }
  | { cmd: 'stop' };

export interface Stats {
  count: number;
  byPort: Record<number, number>;
  times: Record<number, number[]>;
  verified: number;
  verifyFailed: number;
  answered: Record<string, number>;
}

const servers: http.Server[] = [];
const sockets = new Set<Socket>();
let faults: Faults = {};
let verifier: Webhook | undefined;
let verifyEvery = 0;
let recordTimes = false;
let stats: Stats = fresh();

function fresh(): Stats {
  return { count: 0, byPort: {}, times: {}, verified: 0, verifyFailed: 0, answered: {} };
}

function answer(res: http.ServerResponse, status: number, headers?: Record<string, string>): void {
  stats.answered[status] = (stats.answered[status] ?? 0) + 1;
  res.writeHead(status, headers);
  res.end();
}

function onRequest(port: number, req: http.IncomingMessage, res: http.ServerResponse): void {
  const n = ++stats.count;
  stats.byPort[port] = (stats.byPort[port] ?? 0) + 1;
  if (recordTimes) (stats.times[port] ??= []).push(Date.now());
  const sample = verifier !== undefined && verifyEvery > 0 && n % verifyEvery === 0;
  const chunks: Buffer[] | undefined = sample ? [] : undefined;
  req.on('data', (c: Buffer) => chunks?.push(c));
  req.on('end', () => {
    if (chunks !== undefined) {
      try {
        verifier!.verify(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>);
        stats.verified++;
      } catch {
        stats.verifyFailed++;
      }
    }
    if (faults.silent) return;
    const roll = Math.random();
    let edge = faults.reset ?? 0;
    if (roll < edge) return void req.socket.destroy();
    if (roll < (edge += faults.hang ?? 0)) return;
    if (roll < (edge += faults.error ?? 0)) return answer(res, 503);
    if (roll < (edge += faults.tooMany ?? 0)) return answer(res, 429, { 'retry-after': faults.retryAfter ?? '1' });
    if (faults.latencyMs) setTimeout(() => answer(res, 200), faults.latencyMs);
    else answer(res, 200);
  });
}

async function listen(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = http.createServer();
    server.keepAliveTimeout = 30_000;
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    server.on('request', (req, res) => onRequest(port, req, res));
    servers.push(server);
    ports.push(port);
  }
  return ports;
}

process.on('message', async (message: Command) => {
  switch (message.cmd) {
    case 'listen':
      process.send!({ ports: await listen(message.count) });
      return;
    case 'configure':
      faults = message.faults;
      verifier = message.secret === undefined ? undefined : new Webhook(message.secret);
      verifyEvery = message.verifyEvery ?? 0;
      recordTimes = message.recordTimes ?? false;
      process.send!({ ok: true });
      return;
    case 'reset':
      stats = fresh();
      // Hanging requests from the last run would hold their sockets: cut them.
      for (const s of sockets) s.destroy();
      process.send!({ ok: true });
      return;
    case 'stats':
      process.send!(stats);
      return;
    case 'stop':
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      process.send!({ ok: true }, () => process.exit(0));
      return;
  }
});
process.send!({ ready: true });
