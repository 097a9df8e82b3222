/**
 * A real HTTP receiver on 127.0.0.1 that can misbehave on demand: any status, Retry-After,
 * resets before or after the headers, hangs, trickled or huge bodies, closing keep-alive
 * sockets, and going down and coming back on the same port. Used by tests and benchmarks.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Reply =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string; close?: boolean }
  /** Destroy the socket before any response byte. */
  | { kind: 'reset' }
  /** Send the status line and headers, then destroy the socket mid-body. */
  | { kind: 'reset-after-headers'; status?: number }
  /** Never answer (the socket is destroyed when the receiver stops). */
  | { kind: 'hang' }
  /** 200 with a body sent one byte every `everyMs`, for `bytes` bytes. */
  | { kind: 'trickle'; everyMs: number; bytes: number; status?: number }
  /** An answer with a body of `bytes` bytes. */
  | { kind: 'huge'; status: number; bytes: number };

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Milliseconds (Date.now) when the whole request had arrived. */
  at: number;
}

export type Handler = (request: Received, index: number) => Reply;

export const ok: Reply = { kind: 'status', status: 200, body: 'ok' };
/** 200, then the server closes the connection: the next request needs a new one. */
export const okClose: Reply = { kind: 'status', status: 200, body: 'ok', close: true };
export const status = (code: number, headers?: Record<string, string>, body?: string): Reply => ({ kind: 'status', status: code, headers, body });

export class Receiver {
  readonly requests: Received[] = [];
  handler: Handler;
  /** Keep the bodies? Off for load runs, where only counts matter. */
  keepRequests = true;
  count = 0;
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #port = 0;

  private constructor(handler: Handler) {
    this.handler = handler;
    this.#server = http.createServer((req, res) => this.#onRequest(req, res));
    this.#server.keepAliveTimeout = 10_000;
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(handler: Handler = () => ok, port = 0, host = '127.0.0.1'): Promise<Receiver> {
    const receiver = new Receiver(handler);
    await receiver.#listen(port, host);
    return receiver;
  }

  get port(): number {
    return this.#port;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  url(path = '/hook'): string {
    return `${this.origin}${path}`;
  }

  /** Stops listening and cuts every connection: the port now refuses connections. */
  async down(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    await this.#listen(this.#port, '127.0.0.1');
  }

  /** Closes idle keep-alive sockets, as a server restart or a load balancer would. */
  dropIdleSockets(): void {
    this.#server.closeIdleConnections();
  }

  stop(): Promise<void> {
    return this.down();
  }

  #listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      const index = this.count++;
      if (this.keepRequests) this.requests.push(received);
      this.#reply(this.handler(received, index), req, res);
    });
  }

  #reply(reply: Reply, req: http.IncomingMessage, res: http.ServerResponse): void {
    switch (reply.kind) {
      case 'status':
        if (reply.close) res.setHeader('connection', 'close');
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body ?? '');
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'reset-after-headers':
        res.writeHead(reply.status ?? 200, { 'content-length': '1000' });
        res.write('partial');
        this.#later(5, () => req.socket.destroy());
        return;
      case 'hang':
        return;
      case 'trickle': {
        res.writeHead(reply.status ?? 200, { 'content-length': String(reply.bytes) });
        let sent = 0;
        const tick = () => {
          if (res.destroyed || sent >= reply.bytes) return;
          sent++;
          res.write('x');
          if (sent === reply.bytes) res.end();
          else this.#later(reply.everyMs, tick);
        };
        tick();
        return;
      }
      case 'huge': {
        res.writeHead(reply.status, { 'content-length': String(reply.bytes) });
        const chunk = Buffer.alloc(64 * 1024, 'y');
        let left = reply.bytes;
        const pump = () => {
          while (left > 0 && !res.destroyed) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
          }
          if (!res.destroyed) res.end();
        };
        pump();
        return;
      }
    }
  }
}
