/**
 * Red team, the receivers' side: `verifyWebhook` against hostile requests and hostile
 * arguments. What test/verify.test.ts and test/signing.test.ts cover (tolerance edges, header
 * arrays, rotation, agreement with the references) is not repeated; this adds headers repeated
 * through a real Node server, every hostile value in every argument, signatures of the wrong
 * length, comparison work that does not depend on where (or whether) a signature matches, and
 * replays in the timestamped-hex scheme.
 */
import * as crypto from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { verifyWebhook, type VerifyOptions } from '../../src/index.js';
import { newSecret, signatureHeaders } from '../helpers.js';
import { expectRefusal, hostileValues, thrownBy } from './hostile.js';

// Every comparison goes through the real timingSafeEqual; the spy only counts.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const now = 1_800_000_000_000;
const ts = now / 1000;
const at = { now: () => now };
const body = Buffer.from(JSON.stringify({ id: 'evt_1', type: 't', timestamp: '2027-01-15T08:00:00.000Z', data: 1 }));
const secret = newSecret();
const hexSecret = 'stripe-style secret text';
const hex = { ...at, signature: 'timestamped-hex' } as const;

function signed(secrets: string | string[], unix = ts, payload: Buffer = body, id = 'evt_1'): Record<string, string> {
  return signatureHeaders(secrets, unix, payload, id);
}
const hmacHex = (t: number, payload = body, key = hexSecret) => crypto.createHmac('sha256', key).update(`${t}.`).update(payload).digest('hex');
const headers = signed(secret);
const sig = headers['webhook-signature']!;

describe('hostile arguments', () => {
  it('every hostile value in every argument and option gives WD_VERIFICATION_FAILED or WD_INVALID_OPTIONS, never a raw throw', () => {
    const positions: [string, (v: unknown) => unknown, string][] = [
      ['body', (v) => verifyWebhook(v as string, headers, secret, at), 'WD_VERIFICATION_FAILED'],
      ['headers', (v) => verifyWebhook(body, v as Record<string, string>, secret, at), 'WD_VERIFICATION_FAILED'],
      ...['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((k): [string, (v: unknown) => unknown, string] => [`headers.${k}`, (v) => verifyWebhook(body, { ...headers, [k]: v } as never, secret, at), 'WD_VERIFICATION_FAILED']),
      ['hex header', (v) => verifyWebhook(body, { 'x-webhook-signature': v } as never, hexSecret, hex), 'WD_VERIFICATION_FAILED'],
      ['secret', (v) => verifyWebhook(body, headers, v as string, at), 'WD_INVALID_OPTIONS'],
      ['secret[1]', (v) => verifyWebhook(body, headers, [secret, v as string], at), 'WD_INVALID_OPTIONS'],
      ['options', (v) => verifyWebhook(body, headers, secret, v as VerifyOptions), 'WD_INVALID_OPTIONS'],
      ...['toleranceSeconds', 'signature', 'header', 'now'].map((k): [string, (v: unknown) => unknown, string] => [`options.${k}`, (v) => verifyWebhook(body, headers, secret, { ...at, [k]: v }), 'WD_INVALID_OPTIONS']),
      ['options.now()', (v) => verifyWebhook(body, headers, secret, { now: () => v as number }), 'WD_INVALID_OPTIONS'],
    ];
    for (const [where, call, code] of positions) {
      for (const hostile of hostileValues()) {
        const error = thrownBy(() => call(hostile.value));
        // A few hostile values are harmless somewhere (an empty Map as options, Object(5) as clock time).
        if (error === undefined) continue;
        expectRefusal(error, hostile);
        // The receiver's own configuration is WD_INVALID_OPTIONS; the request's, WD_VERIFICATION_FAILED.
        expect([code, 'WD_VERIFICATION_FAILED'], `${where}: ${hostile.name}`).toContain(error.code);
      }
    }
  });
});

describe('headers repeated on the wire', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  /** Sends `lines` as raw headers to a real Node server and verifies what it parsed, both ways Node offers. */
  async function throughNode(lines: [string, string][], secrets: string, options?: VerifyOptions): Promise<unknown[]> {
    const outcomes: unknown[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        for (const h of [req.headers, req.headersDistinct]) outcomes.push(thrownBy(() => verifyWebhook(raw, h as never, secrets, options)) ?? 'verified');
        res.end();
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    const head = lines.map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.end(`POST / HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: ${body.length}\r\n${head}\r\n${body.toString()}`);
    await new Promise((resolve) => socket.on('close', resolve).resume());
    return outcomes;
  }

  it('a signature header sent twice is refused, through req.headers (joined with ", ") and req.headersDistinct', async () => {
    const live = signed(secret, Math.floor(Date.now() / 1000));
    const outcomes = await throughNode([['webhook-id', live['webhook-id']!], ['webhook-timestamp', live['webhook-timestamp']!], ['webhook-signature', 'v1,bogus'], ['webhook-signature', live['webhook-signature']!]], secret);
    expect(outcomes).toEqual([expect.objectContaining({ code: 'WD_VERIFICATION_FAILED', message: expect.stringContaining('given more than once') }), expect.objectContaining({ code: 'WD_VERIFICATION_FAILED', message: expect.stringContaining('given more than once') })]);
  });

  it('an id or timestamp sent twice is refused both ways too', async () => {
    const live = signed(secret, Math.floor(Date.now() / 1000));
    for (const name of ['webhook-id', 'webhook-timestamp']) {
      const lines = Object.entries(live) as [string, string][];
      const outcomes = await throughNode([...lines, [name, live[name]!]], secret);
      for (const outcome of outcomes) expect(outcome, name).toMatchObject({ code: 'WD_VERIFICATION_FAILED' });
    }
  });

  it('a timestamped-hex header sent twice is refused both ways', async () => {
    const t = Math.floor(Date.now() / 1000);
    const outcomes = await throughNode([['x-webhook-signature', `t=${t},v1=${'0'.repeat(64)}`], ['x-webhook-signature', `t=${t},v1=${hmacHex(t)}`]], hexSecret, { signature: 'timestamped-hex' });
    for (const outcome of outcomes) expect(outcome).toMatchObject({ code: 'WD_VERIFICATION_FAILED', message: expect.stringContaining('given more than once') });
  });
});

describe('signatures of the wrong length and the work of comparing them', () => {
  const spy = vi.mocked(crypto.timingSafeEqual);
  const bytes = Buffer.from(sig.slice(3), 'base64');
  const wrong = [0, 1, 16, 31, 33, 48, 64].map((n) => `v1,${Buffer.concat([bytes, bytes, bytes]).subarray(0, n).toString('base64')}`);

  it('are never compared (timingSafeEqual would throw across lengths) and never match', () => {
    spy.mockClear();
    for (const entry of [...wrong, 'v1,', 'v1']) expect(thrownBy(() => verifyWebhook(body, { ...headers, 'webhook-signature': entry }, secret, at))).toMatchObject({ code: 'WD_VERIFICATION_FAILED' });
    const hexWrong = [0, 62, 63, 65, 66, 128].map((n) => `t=${ts},v1=${hmacHex(ts).repeat(2).slice(0, n)}`);
    for (const value of hexWrong) expect(thrownBy(() => verifyWebhook(body, { 'x-webhook-signature': value }, hexSecret, hex))).toMatchObject({ code: 'WD_VERIFICATION_FAILED' });
    expect(spy).not.toHaveBeenCalled();
  });

  it('compares every well-formed candidate with every key whether the match is first, last or absent (both schemes)', () => {
    const others = [newSecret(), newSecret(), newSecret()].map((s) => signed(s)['webhook-signature']!);
    const keys = [newSecret(), secret];
    // Not the empty `v1,`: followed by a space it reads as two joined copies, refused before comparing.
    const standard = [[sig, ...others], [...others, sig], others, [...wrong.slice(1), ...others, sig]];
    const hexKeys = ['other key', hexSecret];
    const otherHex = ['a', 'b', 'c'].map((k) => `v1=${hmacHex(ts, body, k)}`);
    const good = `v1=${hmacHex(ts)}`;
    const hexLists = [[good, ...otherHex], [...otherHex, good], otherHex];
    const counts: number[] = [];
    for (const list of standard) {
      spy.mockClear();
      thrownBy(() => verifyWebhook(body, { ...headers, 'webhook-signature': list.join(' ') }, keys, at));
      counts.push(spy.mock.calls.length);
    }
    for (const list of hexLists) {
      spy.mockClear();
      thrownBy(() => verifyWebhook(body, { 'x-webhook-signature': [`t=${ts}`, ...list].join(',') }, hexKeys, hex));
      counts.push(spy.mock.calls.length);
    }
    // 4 (or 3) well-formed candidates × 2 keys, whatever matched.
    expect(counts).toEqual([8, 8, 6, 8, 8, 8, 6]);
  });
});

describe('replays and clocks', () => {
  it('timestamped-hex: a captured request verifies only within the tolerance, either way, and only over its own t and body', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000, max: 1_000 }), fc.nat(), (skew, where) => {
        const t = ts + skew;
        const value = `t=${t},v1=${hmacHex(t)}`;
        const verified = thrownBy(() => verifyWebhook(body, { 'x-webhook-signature': value }, hexSecret, hex)) === undefined;
        expect(verified).toBe(Math.abs(skew) <= 300);
        const moved = `t=${t + 1},v1=${hmacHex(t)}`;
        expect(thrownBy(() => verifyWebhook(body, { 'x-webhook-signature': moved }, hexSecret, hex))).toMatchObject({ code: 'WD_VERIFICATION_FAILED' });
        const tampered = Buffer.from(body);
        tampered[where % tampered.length]! ^= 1;
        expect(thrownBy(() => verifyWebhook(tampered, { 'x-webhook-signature': value }, hexSecret, hex))).toMatchObject({ code: 'WD_VERIFICATION_FAILED' });
      }),
      { numRuns: 300 },
    );
  });

  it('a sender that puts milliseconds in the timestamp is refused as malformed, in both schemes', () => {
    const ms = String(now);
    expect(thrownBy(() => verifyWebhook(body, signed(secret, now), secret, at))).toMatchObject({ code: 'WD_VERIFICATION_FAILED', message: expect.stringContaining('malformed timestamp') });
    expect(thrownBy(() => verifyWebhook(body, { 'x-webhook-signature': `t=${ms},v1=${hmacHex(now)}` }, hexSecret, hex))).toMatchObject({ code: 'WD_VERIFICATION_FAILED', message: expect.stringContaining('malformed timestamp') });
  });

  it('a zero tolerance takes only this second; a huge one still refuses a signature that does not match', () => {
    expect(verifyWebhook(body, headers, secret, { ...at, toleranceSeconds: 0 }).id).toBe('evt_1');
    expect(thrownBy(() => verifyWebhook(body, signed(secret, ts + 1), secret, { ...at, toleranceSeconds: 0 }))).toMatchObject({ message: expect.stringContaining('in the future') });
    expect(verifyWebhook(body, signed(secret, 1), secret, { ...at, toleranceSeconds: Number.MAX_VALUE }).id).toBe('evt_1');
    expect(thrownBy(() => verifyWebhook(body, { ...signed(secret, 1), 'webhook-timestamp': '2' }, secret, { ...at, toleranceSeconds: Number.MAX_VALUE }))).toMatchObject({ message: expect.stringContaining('no signature matches') });
  });
});
