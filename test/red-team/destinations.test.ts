/**
 * Red team, destinations: every way to name a refused address, and every way a name can
 * resolve to one. Refusals happen before any connection: literal addresses at `send` (the
 * recording resolver and transport prove nothing was resolved or made), names at connect time
 * through an injected resolver whose answers are loopback only. The one refused address a
 * socket could reach here is 127.0.0.2, where a trap listener counts connections.
 */
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { getGlobalDispatcher, ProxyAgent, setGlobalDispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressPolicy, type LookupFunction } from '../../src/security/address-policy.js';
import { Dispatcher } from '../../src/index.js';
import { newSecret, scoped, Terminals } from '../helpers.js';
import { okClose, status } from '../receiver.js';
import { expectRefusal, recordEvents, recordingLookup, recordingTransport } from './hostile.js';

const { receiver } = scoped();
const secret = newSecret();
const event = { type: 'red.team', data: 1 };
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A TCP listener that counts connections and answers nothing. */
async function trap(host: string, port = 0): Promise<{ port: number; connections: number }> {
  const state = { port: 0, connections: 0 };
  const server = net.createServer((socket) => {
    state.connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  state.port = (server.address() as AddressInfo).port;
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return state;
}

/** Every spelling of an IPv4 address the WHATWG URL parser takes, as URL hosts. */
function spellings(v4: string): string[] {
  const b = ipaddr.IPv4.parse(v4).toByteArray();
  const n = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
  const hex = b.map((x) => x.toString(16).padStart(2, '0'));
  const [hi, lo] = [`${hex[0]}${hex[1]}`, `${hex[2]}${hex[3]}`];
  const fullWidth = v4.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
  return [
    v4,
    `${v4}.`,
    String(n),
    `0x${n.toString(16)}`,
    `0X${n.toString(16).toUpperCase()}`,
    `0${n.toString(8)}`,
    b.map((x) => `0x${x.toString(16)}`).join('.'),
    b.map((x) => `0${x.toString(8)}`).join('.'),
    `${b[0]}.${b[1]}.${(b[2]! << 8) + b[3]!}`,
    `${b[0]}.${(b[1]! << 16) + (b[2]! << 8) + b[3]!}`,
    `%3${v4[0]}${v4.slice(1)}`,
    v4.replaceAll('.', '%2e'),
    v4.replaceAll('.', '\u3002'),
    fullWidth,
    `[::ffff:${v4}]`,
    `[::ffff:${hi}:${lo}]`,
    `[0:0:0:0:0:ffff:${hi}:${lo}]`,
    `[::ffff:0:${hi}:${lo}]`,
    `[64:ff9b::${v4}]`,
    `[2002:${hi}:${lo}::1]`,
    `[::${v4}]`,
  ];
}

const ADDRESSES: [v4: string, strict: string, open: string | undefined][] = [
  ['127.0.0.1', 'loopback', undefined],
  ['127.255.0.9', 'loopback', undefined],
  ['10.0.0.1', 'private', undefined],
  ['172.16.0.1', 'private', undefined],
  ['192.168.1.1', 'private', undefined],
  ['100.64.0.1', 'carrier-grade NAT', undefined],
  ['169.254.169.254', 'link-local', 'link-local'],
  ['169.254.0.1', 'link-local', 'link-local'],
  ['100.100.100.200', 'cloud metadata', 'cloud metadata'],
  ['0.0.0.0', 'unspecified', 'unspecified'],
];
const SPELLED = ADDRESSES.flatMap(([v4, strict, open]) => spellings(v4).map((host): [string, string, string | undefined] => [`http://${host}/latest`, strict, open]));
const OTHERS: [string, string, string | undefined][] = [
  ['http://localhost/', 'loopback', undefined],
  ['http://LOCALHOST./', 'loopback', undefined],
  ['http://%6c%6f%63%61%6c%68%6f%73%74/', 'loopback', undefined],
  ['http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/', 'loopback', undefined],
  ['http://loca\u217Chost/', 'loopback', undefined],
  ['http://a.b.localhost:8080/', 'loopback', undefined],
  ['http:\\\\127.0.0.1\\x', 'loopback', undefined],
  ['http:127.0.0.1/', 'loopback', undefined],
  ['http://\t127.0.0.1\t/', 'loopback', undefined],
  ['HTTPS://127.0.0.1:443/', 'loopback', undefined],
  ['http://[::1]/', 'loopback', undefined],
  ['http://[0000:0000:0000:0000:0000:0000:0000:0001]/', 'loopback', undefined],
  ['http://[fd00::1]/', 'unique-local', undefined],
  ['http://[fe80::1]/', 'link-local', 'link-local'],
  ['http://[fe80::a9fe:a9fe]/', 'link-local', 'link-local'],
  ['http://[fd00:ec2::254]/', 'cloud metadata', 'cloud metadata'],
  ['http://[fd00:ec2:0::254]/', 'cloud metadata', 'cloud metadata'],
  ['http://[64:ff9b:1::a9fe:a9fe]/', 'local-use NAT64', 'local-use NAT64'],
  ['http://[64:ff9b:1::7f00:1]/', 'local-use NAT64', 'local-use NAT64'],
  ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'Teredo', 'Teredo'],
  ['http://[::]/', 'unspecified', 'unspecified'],
];

describe('literal addresses in every spelling: refused at send, before any lookup or connection', () => {
  it.each([false, true])('allowPrivateNetworks %s', async (allowPrivateNetworks) => {
    const lookup = recordingLookup();
    const transport = recordingTransport();
    const d = new Dispatcher({ allowPrivateNetworks }, { lookup, transport });
    cleanup.push(() => d.close());
    const seen = recordEvents(d);
    let refused = 0;
    for (const [url, strict, open] of [...SPELLED, ...OTHERS]) {
      const expected = allowPrivateNetworks ? open : strict;
      const error = await d.send({ url, secret }, event).then(() => undefined, (e: unknown) => e);
      if (expected === undefined) {
        expect(error, url).toBeUndefined();
        continue;
      }
      expectRefusal(error, undefined, 'WD_BLOCKED_DESTINATION');
      expect(error.message, url).toContain(`${expected} address`);
      refused++;
    }
    expect(refused).toBeGreaterThan(allowPrivateNetworks ? 90 : 200);
    expect(lookup.calls).toEqual([]);
    // Refused sends made no host actor (and so no transport); the accepted ones went to the recorder.
    for (const origin of transport.origins) expect(new AddressPolicy(false, []).hostnameRefusal(new URL(origin).hostname)).toMatch(/loopback|private|carrier-grade|unique-local/);
    await d.onIdle();
    expect(seen.filter((e) => e.name === 'failed')).toEqual([]);
  });

  it('a zone id is no URL: refused as WD_INVALID_ENDPOINT, before any lookup', async () => {
    const lookup = recordingLookup();
    const d = new Dispatcher({ allowPrivateNetworks: true }, { lookup, transport: recordingTransport() });
    cleanup.push(() => d.close());
    for (const url of ['http://[fe80::1%25eth0]/', 'http://[fe80::1%eth0]/', 'http://[::ffff:169.254.169.254%251]/', 'http://169.254.169.254%25lo/']) {
      const error = await d.send({ url, secret }, event).catch((e: unknown) => e);
      expectRefusal(error, undefined, 'WD_INVALID_ENDPOINT');
    }
    expect(lookup.calls).toEqual([]);
  });

  it('any IPv4 address, spelled any way, is judged as its dotted form is', () => {
    const policies = [new AddressPolicy(false, []), new AddressPolicy(true, [])];
    fc.assert(
      fc.property(fc.ipV4(), fc.nat(), (v4, pick) => {
        const all = spellings(v4);
        const host = new URL(`http://${all[pick % all.length]!}/`).hostname;
        for (const p of policies) expect(p.hostnameRefusal(host), host).toBe(p.refusal(v4));
      }),
      { numRuns: 3000 },
    );
  });

  it('opens a metadata address only through allowedNetworks, like link-local', async () => {
    const transport = recordingTransport();
    const d = new Dispatcher({ allowPrivateNetworks: true, allowedNetworks: ['100.100.100.200/32', 'fd00:ec2::254/128'] }, { transport });
    cleanup.push(() => d.close());
    await d.send({ url: 'http://100.100.100.200/latest', secret }, event);
    await d.send({ url: 'http://[fd00:ec2::254]/latest', secret }, event);
    await d.onIdle();
    expect(transport.sent).toEqual(['http://100.100.100.200/latest', 'http://[fd00:ec2::254]/latest']);
  });
});

describe('names, checked at connect time', () => {
  const ask = (p: AddressPolicy, all: boolean) => new Promise<unknown[]>((resolve) => p.lookup('mixed.test', { all }, (...args) => resolve(args)));
  it('refuses a whole answer that mixes public and refused addresses, in any order, asked either way', async () => {
    for (const refused of ['10.0.0.7', '169.254.169.254', '::ffff:127.0.0.1', 'fd00:ec2::254', 'fe80::1%eth0', '100.100.100.200']) {
      for (const order of [['93.184.216.34', refused], [refused, '93.184.216.34']]) {
        const p = new AddressPolicy(false, [], recordingLookup(() => order));
        for (const all of [true, false]) {
          const [error, address] = await ask(p, all);
          expect(error, `${order.join(', ')} all=${all}`).toMatchObject({ code: 'WD_BLOCKED_DESTINATION', message: expect.stringContaining(refused) });
          expect(address).toEqual(all ? [] : '');
        }
      }
    }
  });

  it('a mixed answer fails the message as blocked without connecting to any of its addresses', async () => {
    const r = await receiver();
    const refusedPort = await trap('127.0.0.2', r.port);
    const d = new Dispatcher({ allowedNetworks: ['127.0.0.1/32'], retry: { attempts: 3, baseDelayMs: 1 } }, { lookup: recordingLookup(() => ['127.0.0.1', '127.0.0.2']) });
    cleanup.push(() => d.close());
    const t = new Terminals(d);
    await d.send({ url: `http://mixed.test:${r.port}/hook`, secret }, event);
    await d.onIdle();
    expect(t.failed).toEqual([expect.objectContaining({ reason: 'blocked', attempts: 1 })]);
    expect([r.count, refusedPort.connections]).toEqual([0, 0]);
  });

  it('rebinding between retries: the second answer is checked, and refused, before connecting', async () => {
    const r = await receiver(() => ({ ...status(503), close: true }));
    const refusedPort = await trap('127.0.0.2', r.port);
    const lookup = recordingLookup((_host, call) => (call === 1 ? '127.0.0.1' : '127.0.0.2'));
    const d = new Dispatcher({ allowedNetworks: ['127.0.0.1/32'], breaker: false, retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 2 } }, { lookup });
    cleanup.push(() => d.close());
    const t = new Terminals(d);
    await d.send({ url: `http://rebind.test:${r.port}/hook`, secret }, event);
    await d.onIdle();
    expect(t.failed).toEqual([expect.objectContaining({ reason: 'blocked', attempts: 2, error: expect.objectContaining({ code: 'WD_BLOCKED_DESTINATION' }) })]);
    expect([r.count, refusedPort.connections, lookup.calls.length]).toEqual([1, 0, 2]);
  });

  it('the reverse: a refused first answer ends the message at once (no retry to wait out), and a later allowed answer delivers', async () => {
    const r = await receiver(() => okClose);
    const refusedPort = await trap('127.0.0.2', r.port);
    const lookup = recordingLookup((_host, call) => (call === 1 ? '127.0.0.2' : '127.0.0.1'));
    const d = new Dispatcher({ allowedNetworks: ['127.0.0.1/32'], retry: { attempts: 5, baseDelayMs: 1 } }, { lookup });
    cleanup.push(() => d.close());
    const t = new Terminals(d);
    await d.send({ url: `http://rebind.test:${r.port}/hook`, secret }, event);
    await d.onIdle();
    await d.send({ url: `http://rebind.test:${r.port}/hook`, secret }, event);
    await d.onIdle();
    expect(t.failed).toEqual([expect.objectContaining({ reason: 'blocked', attempts: 1 })]);
    expect(t.delivered).toHaveLength(1);
    expect([r.count, refusedPort.connections]).toEqual([1, 0]);
  });

  it.each<[string, LookupFunction, string]>([
    ['answers junk later (it used to throw in a timer: an uncaught exception)', (_h, _o, cb) => void setTimeout(() => cb(null, [null, 5] as never)), 'blocked'],
    ['answers an entry whose address is not a string', (_h, _o, cb) => cb(null, [{ address: 2130706433 }] as never), 'blocked'],
    ['throws', () => { throw new Error('resolver bug'); }, 'exhausted'],
    ['answers with the wrong family', (_h, o, cb) => (o.all ? cb(null, [{ address: '127.0.0.1', family: 6 }]) : cb(null, '127.0.0.1', 6)), 'delivered'],
    ['answers twice, allowed then refused', (_h, o, cb) => { cb(null, o.all ? [{ address: '127.0.0.1', family: 4 }] : '127.0.0.1', 4); cb(null, o.all ? [{ address: '127.0.0.2', family: 4 }] : '127.0.0.2', 4); }, 'delivered'],
    ['answers twice, refused then allowed', (_h, o, cb) => { cb(null, o.all ? [{ address: '127.0.0.2', family: 4 }] : '127.0.0.2', 4); cb(null, o.all ? [{ address: '127.0.0.1', family: 4 }] : '127.0.0.1', 4); }, 'blocked'],
  ])('a resolver that %s: the message ends once, never reaching a refused address', async (_name, lookup, outcome) => {
    const r = await receiver(() => okClose);
    const refusedPort = await trap('127.0.0.2', r.port);
    const d = new Dispatcher({ allowedNetworks: ['127.0.0.1/32'], timeoutMs: 1_000, retry: { attempts: 2, baseDelayMs: 1 } }, { lookup });
    cleanup.push(() => d.close());
    const t = new Terminals(d);
    await d.send({ url: `http://resolver.test:${r.port}/hook`, secret }, event);
    await d.onIdle();
    expect(t.total).toBe(1);
    expect(t.delivered.length === 1 ? 'delivered' : t.failed[0]?.reason).toBe(outcome);
    expect(refusedPort.connections).toBe(0);
  });
});

describe('proxies from the environment', () => {
  it('are never used: HTTP(S)_PROXY and a global undici ProxyAgent get no connection, refused or allowed', async () => {
    const proxy = await trap('127.0.0.1');
    const proxyUrl = `http://127.0.0.1:${proxy.port}`;
    const saved = { ...process.env };
    const globalDispatcher = getGlobalDispatcher();
    cleanup.push(() => {
      for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'NO_PROXY']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
      setGlobalDispatcher(globalDispatcher);
    });
    Object.assign(process.env, { HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, http_proxy: proxyUrl, https_proxy: proxyUrl, ALL_PROXY: proxyUrl, NO_PROXY: '' });
    setGlobalDispatcher(new ProxyAgent(proxyUrl));
    const r = await receiver();
    const d = new Dispatcher({ allowedNetworks: ['127.0.0.1/32'], retry: { attempts: 1 } }, { lookup: recordingLookup((host) => (host === 'refused.test' ? '10.0.0.1' : '127.0.0.1')) });
    cleanup.push(() => d.close());
    const t = new Terminals(d);
    await expect(d.send({ url: 'http://10.0.0.1/hook', secret }, event)).rejects.toMatchObject({ code: 'WD_BLOCKED_DESTINATION' });
    await d.send({ url: `http://refused.test:${r.port}/hook`, secret }, event);
    await d.send({ url: `http://allowed.test:${r.port}/hook`, secret }, event);
    await d.send({ url: r.url(), secret }, event);
    await d.onIdle();
    expect(t.failed.map((e) => e.reason)).toEqual(['blocked']);
    expect(t.delivered).toHaveLength(2);
    expect([r.count, proxy.connections]).toEqual([2, 0]);
  });
});

describe('https to a self-signed local server', () => {
  it('fails every attempt with the certificate error (retryable: retried, then exhausted), and no request reaches the server', async () => {
    const fixtures = new URL('./fixtures/', import.meta.url);
    let requests = 0;
    const server = https.createServer({ key: readFileSync(new URL('self-signed.key', fixtures)), cert: readFileSync(new URL('self-signed.crt', fixtures)) }, (_req, res) => {
      requests++;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const d = new Dispatcher({ allowedNetworks: ['127.0.0.1/32'], breaker: false, retry: { attempts: 2, baseDelayMs: 1 } });
    cleanup.push(() => d.close());
    const t = new Terminals(d);
    const retries: number[] = [];
    d.on('retry', (e) => retries.push(e.attempt));
    await d.send({ url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, secret }, event);
    await d.onIdle();
    expect(t.failed).toEqual([expect.objectContaining({ reason: 'exhausted', attempts: 2, error: expect.objectContaining({ code: expect.stringMatching(/CERT|SELF_SIGNED/) }) })]);
    expect(retries).toEqual([1]);
    expect(requests).toBe(0);
  });
});
