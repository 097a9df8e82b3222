import type { LookupAddress } from 'node:dns';
import net, { type AddressInfo } from 'node:net';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressPolicy, type LookupFunction } from '../src/security/address-policy.js';
import { Dispatcher } from '../src/index.js';
import { newSecret, Terminals } from './helpers.js';
import { okClose, Receiver } from './receiver.js';

/** [url, refused range or undefined when allowed]. Each spelling is one the WHATWG URL parser accepts. */
const SPELLINGS: [string, string | undefined][] = [
  ['http://127.0.0.1/', 'loopback'],
  ['http://0x7f.1/', 'loopback'],
  ['http://2130706433/', 'loopback'],
  ['http://017700000001/', 'loopback'],
  ['http://0177.0.0.1/', 'loopback'],
  ['http://127.1/', 'loopback'],
  ['http://127.000.000.001/', 'loopback'],
  ['http://１２７.０.０.１/', 'loopback'],
  ['http://localhost:8080/', 'loopback'],
  ['http://LOCALHOST./', 'loopback'],
  ['http://api.localhost/', 'loopback'],
  ['http://[::1]/', 'loopback'],
  ['http://[0:0:0:0:0:0:0:1]/', 'loopback'],
  ['http://[::ffff:127.0.0.1]/', 'loopback'],
  ['http://[::ffff:0:7f00:1]/', 'loopback'],
  ['http://[::127.0.0.1]/', 'loopback'],
  ['http://[64:ff9b::7f00:1]/', 'loopback'],
  ['http://[2002:7f00:1::]/', 'loopback'],
  // 127.0.0.1 behind a local-use NAT64 gateway with a /64 prefix (RFC 6052 §2.2: bits 64–71 are the u-octet).
  ['http://[64:ff9b:1:0:7f:0:100:0]/', 'local-use NAT64'],
  // 10.0.0.1 behind a /48 gateway.
  ['http://[64:ff9b:1:a00:0:100::]/', 'local-use NAT64'],
  // 8.8.8.8 at /96 is 0.0.0.8 at /64: refused, since the gateway's prefix length is unknown.
  ['http://[64:ff9b:1::808:808]/', 'local-use NAT64'],
  ['http://0/', 'unspecified'],
  ['http://0.0.0.0/', 'unspecified'],
  ['http://[::]/', 'unspecified'],
  ['http://10.0.0.1/', 'private'],
  ['http://0x0a000001/', 'private'],
  ['http://172.16.0.1/', 'private'],
  ['http://172.31.255.255/', 'private'],
  ['http://192.168.1.1/', 'private'],
  ['http://[::ffff:10.0.0.1]/', 'private'],
  ['http://169.254.169.254/latest/meta-data/', 'link-local'],
  ['http://[::ffff:a9fe:a9fe]/', 'link-local'],
  ['http://[fe80::1]/', 'link-local'],
  ['http://100.64.0.1/', 'carrier-grade NAT'],
  ['http://[fc00::1]/', 'unique-local'],
  ['http://[fd12:3456::1]/', 'unique-local'],
  ['http://[fec0::1]/', 'site-local'],
  ['http://224.0.0.1/', 'multicast'],
  ['http://[ff02::1]/', 'multicast'],
  ['http://255.255.255.255/', 'broadcast'],
  ['http://192.0.2.1/', 'reserved'],
  ['http://198.18.0.1/', 'reserved'],
  ['http://240.0.0.1/', 'reserved'],
  ['http://[2001:db8::1]/', 'reserved'],
  ['http://[2001::1]/', 'Teredo'],
  ['https://example.com/hook', undefined],
  ['https://hooks.example.org:8443/a?b=c', undefined],
  ['http://8.8.8.8/', undefined],
  ['http://0x08.0x08.0x08.0x08/', undefined],
  ['http://1.1.1.1:8080/', undefined],
  ['http://172.32.0.1/', undefined],
  ['http://100.128.0.1/', undefined],
  ['http://[2606:4700::1111]/', undefined],
  ['http://[::ffff:8.8.8.8]/', undefined],
  ['http://[64:ff9b::808:808]/', undefined],
  // 8.8.8.8 in every RFC 6052 layout of 64:ff9b:1::/48.
  ['http://[64:ff9b:1:808:8:808:808:808]/', undefined],
  ['http://[2002:808:808::]/', undefined],
  // A name is checked when it is resolved, at connect time.
  ['http://127.0.0.1.nip.io/', undefined],
];

describe('destination policy', () => {
  const policy = new AddressPolicy(false, []);
  it.each(SPELLINGS)('%s → %s', (url, refused) => {
    expect(policy.hostnameRefusal(new URL(url).hostname)).toBe(refused);
  });

  const NEVER = new Set(['multicast', 'broadcast', 'unspecified']);
  it.each(SPELLINGS.filter(([, refused]) => refused !== undefined))('send() refuses %s with WD_BLOCKED_DESTINATION, naming the range and how to allow it', async (url, refused) => {
    const d = new Dispatcher();
    const how = NEVER.has(refused!) ? '(never allowed)' : 'allowedNetworks';
    await expect(d.send({ url, secret: newSecret() }, { type: 't', data: 1 })).rejects.toMatchObject({ code: 'WD_BLOCKED_DESTINATION', message: expect.stringMatching(new RegExp(`an? ${refused} address.*${how.replace(/[()]/g, '\\$&')}`)) });
    await d.close();
  });

  it('opens private ranges with allowPrivateNetworks, but never multicast, broadcast or unspecified', () => {
    const open = new AddressPolicy(true, []);
    for (const a of ['127.0.0.1', '10.1.2.3', '::1', 'fd00::1', '100.64.0.1', '::ffff:192.168.0.1']) expect(open.refusal(a)).toBeUndefined();
    for (const a of ['224.0.0.1', '255.255.255.255', '0.0.0.0', '::', '::ffff:224.0.0.1', 'ff02::1']) expect(open.refusal(a)).toBeDefined();
  });

  it('keeps link-local (the cloud metadata address among it) refused under allowPrivateNetworks, unless allowedNetworks names it', async () => {
    const open = new AddressPolicy(true, []);
    for (const a of ['169.254.169.254', '169.254.1.1', 'fe80::1', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe']) expect(open.refusal(a)).toBe('link-local');
    const listed = new AddressPolicy(true, ['169.254.10.0/24', 'fe80::/64']);
    expect(listed.refusal('169.254.10.7')).toBeUndefined();
    expect(listed.refusal('fe80::7')).toBeUndefined();
    expect(listed.refusal('169.254.169.254')).toBe('link-local');
    const d = new Dispatcher({ allowPrivateNetworks: true });
    await expect(d.send({ url: 'http://169.254.169.254/latest/meta-data/', secret: newSecret() }, { type: 't', data: 1 })).rejects.toMatchObject({
      code: 'WD_BLOCKED_DESTINATION',
      message: 'Refused `url`: 169.254.169.254 is a link-local address (list it in `allowedNetworks` to allow it)',
    });
    await d.close();
  });

  it('judges an IPv6 address that carries an IPv4 one by the IPv4 address, in every embedding', () => {
    const policies = [new AddressPolicy(false, []), new AddressPolicy(true, []), new AddressPolicy(false, ['10.1.0.0/16', '198.18.0.0/15'])];
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        const hex = ipaddr.IPv4.parse(v4).toByteArray().map((b) => b.toString(16).padStart(2, '0'));
        const [hi, lo] = [`${hex[0]}${hex[1]}`, `${hex[2]}${hex[3]}`];
        for (const p of policies) {
          const expected = p.refusal(v4);
          for (const v6 of [`::ffff:${v4}`, `::ffff:0:${hi}:${lo}`, `64:ff9b::${hi}:${lo}`, `2002:${hi}:${lo}::1`]) expect(p.refusal(v6), v6).toBe(expected);
          // Local-use NAT64, /64 layout: refused whenever the IPv4 address is.
          if (expected !== undefined) expect(p.refusal(`64:ff9b:1:0:${hex[0]}:${hex[1]}${hex[2]}:${hex[3]}00:0`)).toBeDefined();
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('opens a local-use NAT64 prefix only through allowedNetworks', () => {
    expect(new AddressPolicy(true, []).refusal('64:ff9b:1::808:808')).toBe('local-use NAT64');
    const listed = new AddressPolicy(false, ['64:ff9b:1::/96']);
    expect(listed.refusal('64:ff9b:1::808:808')).toBeUndefined();
    expect(listed.refusal('64:ff9b:1:0:7f:0:100:0')).toBe('local-use NAT64');
  });

  it('opens exactly the listed networks with allowedNetworks, also through IPv4-mapped IPv6', () => {
    const listed = new AddressPolicy(false, ['10.1.0.0/16', 'fd00:1::/32']);
    expect(listed.refusal('10.1.200.3')).toBeUndefined();
    expect(listed.refusal('::ffff:10.1.0.9')).toBeUndefined();
    expect(listed.refusal('fd00:1::5')).toBeUndefined();
    expect(listed.refusal('10.2.0.1')).toBe('private');
    expect(listed.refusal('127.0.0.1')).toBe('loopback');
  });

  it.each([
    ['10.1/16', 'to be a CIDR such as'],
    ['10.1.2.3/16', 'no host bits set, got `10.1.2.3/16` (did you mean `10.1.0.0/16`?)'],
    ['010.1.0.0/16', 'four decimal octets'],
    ['10.1.0.0/016', 'to be a CIDR such as'],
    ['10.1.0.0', 'to be a CIDR such as'],
    ['10.1.0.0/33', 'to be a CIDR such as'],
    ['0x0a.0.0.0/8', 'to be a CIDR such as'],
    ['fe80::%eth0/64', 'to be a CIDR such as'],
    ['fd00::1/8', '(did you mean `fd00::/8`?)'],
    ['0.0.0.0/0', 'leave out unspecified addresses'],
    ['::/0', 'leave out unspecified addresses'],
    ['128.0.0.0/1', 'leave out multicast addresses'],
    ['240.0.0.0/4', 'leave out broadcast addresses'],
    ['224.0.0.0/24', 'leave out multicast addresses'],
    ['0.0.0.0/32', 'leave out unspecified addresses'],
    ['ff00::/8', 'leave out multicast addresses'],
  ])('refuses allowedNetworks %s: %s', (cidr, message) => {
    expect(() => new Dispatcher({ allowedNetworks: ['10.0.0.0/8', cidr] })).toThrow(expect.objectContaining({ code: 'WD_INVALID_OPTIONS', message: expect.stringContaining(message) }));
    expect(() => new Dispatcher({ allowedNetworks: ['10.0.0.0/8', cidr] })).toThrow(/`allowedNetworks\[1\]`/);
  });

  it('never opens multicast, broadcast or unspecified, whatever allowedNetworks holds', () => {
    const listed = new AddressPolicy(true, ['::ffff:0:0/96', '64:ff9b::/96']);
    for (const a of ['::ffff:224.0.0.1', '::ffff:255.255.255.255', '::ffff:0.0.0.0', '64:ff9b::e000:1']) expect(listed.refusal(a)).toBeDefined();
    expect(listed.refusal('::ffff:8.8.8.8')).toBeUndefined();
  });

  it('checks every address of every answer: a name that rebinds from public to private is refused the second time', async () => {
    const answers: LookupAddress[][] = [[{ address: '93.184.216.34', family: 4 }], [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.7', family: 4 }]];
    const resolve: LookupFunction = (_host, _opts, cb) => cb(null, answers.shift()!);
    const p = new AddressPolicy(false, [], resolve);
    const ask = () => new Promise<[Error | null, unknown]>((r) => p.lookup('rebind.example', { all: true }, (err, addresses) => r([err, addresses])));
    expect(await ask()).toEqual([null, [{ address: '93.184.216.34', family: 4 }]]);
    const [error] = await ask();
    expect(error).toMatchObject({ code: 'WD_BLOCKED_DESTINATION', message: expect.stringContaining('10.0.0.7') });
  });
});

describe('destination policy against real connections', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
  });

  it('connects to the address it checked, and fails a name that later resolves elsewhere as blocked without retrying', async () => {
    const r = await Receiver.start(() => okClose);
    cleanup.push(() => r.stop());
    const answers = ['127.0.0.1', '127.0.0.2'];
    const lookups: string[] = [];
    const lookup: LookupFunction = (host, opts, cb) => {
      lookups.push(host);
      const address = answers.shift() ?? '127.0.0.2';
      cb(null, opts.all ? [{ address, family: 4 }] : address, 4);
    };
    const d = new Dispatcher({ allowedNetworks: ['127.0.0.1/32'], retry: { attempts: 5, baseDelayMs: 1 } }, { lookup });
    cleanup.push(() => d.close());
    const t = new Terminals(d);
    // `receiver.test` exists only in this lookup: a delivery proves the socket used its answer.
    const url = `http://receiver.test:${r.port}/hook`;
    await d.send({ url, secret: newSecret() }, { type: 't', data: 1 });
    await d.onIdle();
    expect(t.delivered).toHaveLength(1);
    await d.send({ url, secret: newSecret() }, { type: 't', data: 2 });
    await d.onIdle();
    expect(t.failed).toEqual([expect.objectContaining({ reason: 'blocked', attempts: 1, error: expect.objectContaining({ code: 'WD_BLOCKED_DESTINATION' }) })]);
    expect(r.count).toBe(1);
    expect(lookups).toEqual(['receiver.test', 'receiver.test']);
  });

  it.each([
    ['an array', (_h: string, _o: unknown, cb: (e: null, a: LookupAddress[]) => void) => cb(null, [{ address: '127.0.0.1', family: 4 }])],
    ['one address and its family', (_h: string, _o: unknown, cb: (e: null, a: string, f: number) => void) => cb(null, '127.0.0.1', 4)],
    ['one address and no family', (_h: string, _o: unknown, cb: (e: null, a: string) => void) => cb(null, '127.0.0.1')],
  ])('lets net.connect reach a server through a resolver that answers with %s, asked with all true or false', async (_name, resolver) => {
    const server = net.createServer((socket) => socket.end('hi'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const policy = new AddressPolicy(false, ['127.0.0.1/32'], resolver as LookupFunction);
    // autoSelectFamily true makes net ask for every address (all: true); false asks for one.
    for (const autoSelectFamily of [false, true]) {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect({ host: 'receiver.test', port, lookup: policy.lookup as never, autoSelectFamily });
        let text = '';
        socket.on('data', (chunk) => (text += chunk));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(reply).toBe('hi');
    }
    const asked = (all: boolean) => new Promise<unknown[]>((resolve) => policy.lookup('receiver.test', { all }, (...args) => resolve(args)));
    expect(await asked(true)).toEqual([null, [{ address: '127.0.0.1', family: 4 }]]);
    expect(await asked(false)).toEqual([null, '127.0.0.1', 4]);
  });

  it('refuses before connecting when a single-address answer is forbidden', async () => {
    const policy = new AddressPolicy(false, [], (_h, _o, cb) => cb(null, '169.254.169.254', 4));
    const [error] = await new Promise<unknown[]>((resolve) => policy.lookup('metadata.test', { all: false }, (...args) => resolve(args)));
    expect(error).toMatchObject({ code: 'WD_BLOCKED_DESTINATION', message: 'Refused to connect to metadata.test: it resolved to 169.254.169.254, a link-local address (list it in `allowedNetworks` to allow it)' });
  });

  it('refuses http: endpoints when httpsOnly is set', async () => {
    const d = new Dispatcher({ httpsOnly: true });
    await expect(d.send({ url: 'http://example.com/', secret: newSecret() }, { type: 't', data: 1 })).rejects.toMatchObject({ code: 'WD_INVALID_ENDPOINT', message: expect.stringContaining('httpsOnly') });
    await d.close();
  });
});
