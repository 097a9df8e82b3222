import type { LookupAddress } from 'node:dns';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressPolicy, type LookupFunction } from '../src/address-policy.js';
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
  ['http://0/', 'unspecified'],
  ['http://0.0.0.0/', 'unspecified'],
  ['http://[::]/', 'unspecified'],
  ['http://10.0.0.1/', 'private'],
  ['http://0x0a000001/', 'private'],
  ['http://172.16.0.1/', 'private'],
  ['http://172.31.255.255/', 'private'],
  ['http://192.168.1.1/', 'private'],
  ['http://[::ffff:10.0.0.1]/', 'private'],
  ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
  ['http://[::ffff:a9fe:a9fe]/', 'linkLocal'],
  ['http://[fe80::1]/', 'linkLocal'],
  ['http://100.64.0.1/', 'carrierGradeNat'],
  ['http://[fc00::1]/', 'uniqueLocal'],
  ['http://[fd12:3456::1]/', 'uniqueLocal'],
  ['http://[fec0::1]/', 'deprecatedSiteLocal'],
  ['http://224.0.0.1/', 'multicast'],
  ['http://[ff02::1]/', 'multicast'],
  ['http://255.255.255.255/', 'broadcast'],
  ['http://192.0.2.1/', 'reserved'],
  ['http://198.18.0.1/', 'reserved'],
  ['http://240.0.0.1/', 'reserved'],
  ['http://[2001:db8::1]/', 'reserved'],
  ['http://[2001::1]/', 'teredo'],
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
  ['http://[2002:808:808::]/', undefined],
  // A name is checked when it is resolved, at connect time.
  ['http://127.0.0.1.nip.io/', undefined],
];

describe('destination policy', () => {
  const policy = new AddressPolicy(false, []);
  it.each(SPELLINGS)('%s → %s', (url, refused) => {
    expect(policy.hostnameRefusal(new URL(url).hostname)).toBe(refused);
  });

  it.each(SPELLINGS.filter(([, refused]) => refused !== undefined))('send() refuses %s with WD_BLOCKED_DESTINATION', async (url) => {
    const d = new Dispatcher();
    await expect(d.send({ url, secret: newSecret() }, { type: 't', data: 1 })).rejects.toMatchObject({ code: 'WD_BLOCKED_DESTINATION', message: expect.stringContaining('allowPrivateNetworks') });
    await d.close();
  });

  it('opens private ranges with allowPrivateNetworks, but never multicast, broadcast or unspecified', () => {
    const open = new AddressPolicy(true, []);
    for (const a of ['127.0.0.1', '10.1.2.3', '::1', 'fd00::1', '169.254.1.1', '100.64.0.1']) expect(open.refusal(a)).toBeUndefined();
    for (const a of ['224.0.0.1', '255.255.255.255', '0.0.0.0', '::']) expect(open.refusal(a)).toBeDefined();
  });

  it('opens exactly the listed networks with allowedNetworks, also through IPv4-mapped IPv6', () => {
    const listed = new AddressPolicy(false, ['10.1.0.0/16', 'fd00:1::/32']);
    expect(listed.refusal('10.1.200.3')).toBeUndefined();
    expect(listed.refusal('::ffff:10.1.0.9')).toBeUndefined();
    expect(listed.refusal('fd00:1::5')).toBeUndefined();
    expect(listed.refusal('10.2.0.1')).toBe('private');
    expect(listed.refusal('127.0.0.1')).toBe('loopback');
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

  it('refuses http: endpoints when httpsOnly is set', async () => {
    const d = new Dispatcher({ httpsOnly: true });
    await expect(d.send({ url: 'http://example.com/', secret: newSecret() }, { type: 't', data: 1 })).rejects.toMatchObject({ code: 'WD_INVALID_ENDPOINT', message: expect.stringContaining('httpsOnly') });
    await d.close();
  });
});
