/**
 * Red team, receivers: real local servers that misbehave at the HTTP and TCP level. Whatever a
 * receiver does, each attempt ends within `timeoutMs`, at most 64 KiB of an answer is read, a
 * status that arrived still counts, `Retry-After` is capped or ignored, and every message
 * ends exactly once, within a stated memory bound.
 */
import dc from 'node:diagnostics_channel';
import net, { type AddressInfo, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/delivery/backoff.js';
import type { Attempt, Dispatcher } from '../../src/index.js';
import { newSecret, scoped, Terminals } from '../helpers.js';
import { ok, status } from '../receiver.js';
import { gc } from './hostile.js';

const { receiver, dispatcher } = scoped();
const secret = newSecret();
const event = { type: 'red.team', data: { n: 1 } };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

interface RawServer {
  url: string;
  requests: number;
  /** Bytes the server managed to write before each socket closed. */
  written: number[];
}

/**
 * A TCP server speaking just enough HTTP/1.1 to read each request (headers and
 * content-length body, several per connection), then `respond` writes whatever it likes.
 */
async function rawServer(respond: (socket: Socket, index: number) => void): Promise<RawServer> {
  const state: RawServer = { url: '', requests: 0, written: [] };
  const sockets = new Set<Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      state.written.push(socket.bytesWritten);
    });
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(buffer.subarray(0, end).toString())?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        buffer = buffer.subarray(end + 4 + length);
        respond(socket, state.requests++);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}

/** Writes `text` one byte every `everyMs` until done or the socket closes. */
function trickle(socket: Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i++]!);
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

/** Writes chunked body data as fast as the socket takes it, forever. */
function endless(socket: Socket, statusLine: string): void {
  socket.write(`${statusLine}\r\ntransfer-encoding: chunked\r\n\r\n`);
  const chunk = `4000\r\n${'z'.repeat(0x4000)}\r\n`;
  const pump = (): void => {
    while (!socket.destroyed && socket.write(chunk));
    if (!socket.destroyed) socket.once('drain', pump);
  };
  pump();
}

/** The attempts a dispatcher makes, as they end. */
function attempts(d: Dispatcher): Attempt[] {
  const seen: Attempt[] = [];
  d.on('attempt', (e) => seen.push(e));
  return seen;
}

describe('slow and silent receivers: the attempt ends at timeoutMs', () => {
  it('headers trickled a byte at a time (slowloris)', async () => {
    const server = await rawServer((socket) => trickle(socket, `HTTP/1.1 200 OK\r\nx-pad: ${'p'.repeat(200)}\r\ncontent-length: 0\r\n\r\n`, 15));
    const d = dispatcher({ timeoutMs: 300, retry: { attempts: 1 } });
    const t = new Terminals(d);
    const seen = attempts(d);
    await d.send({ url: server.url, secret }, event);
    await d.onIdle();
    expect(t.failed).toEqual([expect.objectContaining({ reason: 'exhausted', attempts: 1, error: expect.objectContaining({ code: 'ETIMEDOUT' }) })]);
    expect(t.failed[0]!.status).toBeUndefined();
    expect(seen[0]!.latencyMs).toBeGreaterThanOrEqual(290);
    expect(seen[0]!.latencyMs).toBeLessThan(1_500);
  });

  it('accept and never answer: ten messages at once, each ends once, nothing left in flight', async () => {
    const server = await rawServer(() => {});
    const d = dispatcher({ timeoutMs: 300, concurrency: 5, breaker: false, retry: { attempts: 1 } });
    const t = new Terminals(d);
    for (let i = 0; i < 10; i++) await d.send({ url: server.url, secret }, event);
    await d.onIdle();
    expect(t.failed.map((e) => e.error?.code)).toEqual(Array(10).fill('ETIMEDOUT'));
    expect(t.duplicates()).toEqual([]);
    expect(server.requests).toBe(10);
    expect(d.stats()).toMatchObject({ pending: 0, hosts: { [new URL(server.url).origin]: { inFlight: 0, queued: 0, waiting: 0 } } });
  });
});

describe('huge answers: at most 64 KiB read, and the status still counts', () => {
  it.each([
    ['an endless chunked 200', 'HTTP/1.1 200 OK', 'delivered'],
    ['an endless chunked 503', 'HTTP/1.1 503 Service Unavailable', 'exhausted'],
  ])('%s: the answer is cut long before timeoutMs', async (_name, statusLine, outcome) => {
    const server = await rawServer((socket) => endless(socket, statusLine));
    // The client's own sockets, to see how much of each answer it read.
    const sockets: Socket[] = [];
    const connected = (message: unknown) => sockets.push((message as { socket: Socket }).socket);
    dc.subscribe('undici:client:connected', connected);
    const d = dispatcher({ timeoutMs: 10_000, responseBodyBytes: 16, breaker: false, retry: { attempts: 2, baseDelayMs: 1 } });
    const t = new Terminals(d);
    const seen = attempts(d);
    await d.send({ url: server.url, secret }, event);
    await d.onIdle();
    dc.unsubscribe('undici:client:connected', connected);
    // 64 KiB of body, plus at most one read's worth past it before the cut.
    expect(sockets.length).toBeGreaterThanOrEqual(seen.length);
    for (const socket of sockets) expect(socket.bytesRead).toBeLessThan(64 * 1024 + 64 * 1024);
    expect(t.total).toBe(1);
    if (outcome === 'delivered') expect(t.delivered[0]).toMatchObject({ status: 200, attempts: 1 });
    else expect(t.failed[0]).toMatchObject({ reason: 'exhausted', status: 503, attempts: 2, responseBody: 'z'.repeat(16) });
    for (const a of seen) expect(a.latencyMs).toBeLessThan(5_000);
    // The client cut each connection: the server saw it close, well short of "endless".
    await expect.poll(() => server.written.length).toBe(seen.length);
  });

  it.each([200, 500])('a 100 MB body with status %i', async (code) => {
    const r = await receiver(() => ({ kind: 'huge', status: code, bytes: 100 * 1024 * 1024 }));
    const d = dispatcher({ timeoutMs: 10_000, retry: { attempts: 1 } });
    const t = new Terminals(d);
    await d.send({ url: r.url(), secret }, event);
    await d.onIdle();
    expect(code === 200 ? t.delivered[0]?.status : t.failed[0]?.status).toBe(code);
  });

  it('100 KB of headers: refused by the HTTP parser, retried, never a crash', async () => {
    const headers = Array.from({ length: 1_000 }, (_, i) => `x-h${i}: ${'a'.repeat(100)}\r\n`).join('');
    const server = await rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\n${headers}content-length: 0\r\n\r\n`));
    const d = dispatcher({ breaker: false, retry: { attempts: 2, baseDelayMs: 1 } });
    const t = new Terminals(d);
    await d.send({ url: server.url, secret }, event);
    await d.onIdle();
    expect(t.failed).toEqual([expect.objectContaining({ reason: 'exhausted', attempts: 2, error: expect.objectContaining({ code: 'UND_ERR_HEADERS_OVERFLOW' }) })]);
  });

  it('keeps the heap bounded through 40 huge and endless answers', async () => {
    const server = await rawServer((socket, i) => (i % 2 === 0 ? endless(socket, 'HTTP/1.1 200 OK') : socket.write(`HTTP/1.1 500 Oops\r\ncontent-length: ${100 * 1024 * 1024}\r\n\r\n${'y'.repeat(1024 * 1024)}`)));
    const d = dispatcher({ concurrency: 4, breaker: false, retry: { attempts: 1 } });
    const t = new Terminals(d);
    gc();
    const before = process.memoryUsage();
    for (let i = 0; i < 40; i++) await d.send({ url: server.url, secret }, { type: 't', data: i });
    await d.onIdle();
    gc();
    const after = process.memoryUsage();
    expect(t.total).toBe(40);
    expect(t.duplicates()).toEqual([]);
    // 40 answers of "endless" or 100 MB: what stays is at most a few connections' buffers.
    expect(after.heapUsed - before.heapUsed).toBeLessThan(8 * 1024 * 1024);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(8 * 1024 * 1024);
  });
});

describe('invalid HTTP', () => {
  it.each<[string, string, 'delivered' | RegExp]>([
    ['garbage instead of a status line', 'garbage garbage\r\n\r\n', /HTTPParserError|UND_ERR/],
    ['a status that is not digits', 'HTTP/1.1 2OO OK\r\ncontent-length: 0\r\n\r\n', /HTTPParserError|UND_ERR/],
    ['a NUL in a header', 'HTTP/1.1 200 OK\r\nx-a: a\u0000b\r\ncontent-length: 0\r\n\r\n', /HTTPParserError|UND_ERR/],
    ['101 Switching Protocols to a POST', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n', /UND_ERR/],
    ['two different content-lengths', 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 5\r\n\r\nabcde', /UND_ERR|HTTPParserError/],
    ['content-length and chunked together', 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', /UND_ERR|HTTPParserError/],
    ['a close before any byte', '', /UND_ERR_SOCKET|ECONNRESET/],
    ['103 Early Hints, then 200', 'HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', 'delivered'],
    ['a 200 whose body is cut short: the status stands', 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc', 'delivered'],
  ])('%s: the message ends once, as the answer deserves', async (_name, answer, outcome) => {
    const server = await rawServer((socket) => (answer === '' ? socket.destroy() : socket.end(answer)));
    const d = dispatcher({ breaker: false, retry: { attempts: 2, baseDelayMs: 1 } });
    const t = new Terminals(d);
    await d.send({ url: server.url, secret }, event);
    await d.onIdle();
    expect(t.total).toBe(1);
    if (outcome === 'delivered') expect(t.delivered).toHaveLength(1);
    else expect(t.failed).toEqual([expect.objectContaining({ reason: 'exhausted', attempts: 2, error: expect.objectContaining({ code: expect.stringMatching(outcome) }) })]);
  });
});

describe('Retry-After', () => {
  const CAP = 50;
  it.each<[string, number]>([
    ['99999999999999999999', CAP],
    ['9'.repeat(400), CAP],
    ['Fri, 31 Dec 9999 23:59:59 GMT', CAP],
    ['Mar 2099', CAP],
    ['-5', 0],
    ['soon', 0],
    ['0.5', 0],
    ['', 0],
    ['Thu, 01 Jan 1970 00:00:00 GMT', 0],
    ['0', 0],
  ])('%j on a 429 and a 503 waits min(asked, maxRetryAfterMs): %i ms', async (value, delay) => {
    for (const code of [429, 503]) {
      const r = await receiver((_req, i) => (i === 0 ? status(code, { 'retry-after': value }) : ok));
      // baseDelayMs 0: no jitter, so the delay is the Retry-After's alone.
      const d = dispatcher({ breaker: false, retry: { attempts: 2, baseDelayMs: 0, maxRetryAfterMs: CAP } });
      const delays: number[] = [];
      d.on('retry', (e) => delays.push(e.delayMs));
      const t = new Terminals(d);
      await d.send({ url: r.url(), secret }, event);
      await d.onIdle();
      expect(delays).toEqual([delay]);
      expect(t.delivered).toHaveLength(1);
    }
  });

  it('any header text gives no wait or a wait of at least 0 ms, and capping bounds it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...'0123456789 -+.,:GMTFriDecJan'.split('')) })), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (text, cap) => {
        const ms = parseRetryAfter(text, Date.UTC(2030, 0, 1));
        if (ms === undefined) return;
        expect(Number.isNaN(ms)).toBe(false);
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(Math.min(ms, cap)).toBeLessThanOrEqual(cap);
      }),
      { numRuns: 3000 },
    );
  });

  it('a 429 storm: every message ends once as exhausted with status 429, and the breaker never opens', async () => {
    const r = await receiver(() => status(429, { 'retry-after': '0' }));
    const d = dispatcher({ concurrency: 4, breaker: { failureThreshold: 1, cooldownMs: 60_000 }, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    const t = new Terminals(d);
    const breaker: string[] = [];
    d.on('breaker', (e) => breaker.push(e.state));
    for (let i = 0; i < 20; i++) await d.send({ url: r.url(), secret }, { type: 't', data: i });
    await d.onIdle();
    expect(t.failed).toHaveLength(20);
    expect(t.failed.every((e) => e.reason === 'exhausted' && e.status === 429 && e.attempts === 3)).toBe(true);
    expect(t.duplicates()).toEqual([]);
    expect(r.count).toBe(60);
    expect(breaker).toEqual([]);
  });
});
