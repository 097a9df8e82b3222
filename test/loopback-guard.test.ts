/** The guard that keeps the tests on loopback sees what it must, and stops it before it leaves. */
import dns from 'node:dns';
import net from 'node:net';
import { expect, it } from 'vitest';
import { Dispatcher } from '../src/index.js';
import { newSecret, Terminals } from './helpers.js';
import { offLoopback } from './loopback-guard.js';

it('refuses a lookup of any name but localhost, before a query is sent', async () => {
  await expect(dns.promises.lookup('example.com')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  const viaCallback = await new Promise<NodeJS.ErrnoException | null>((resolve) => dns.lookup('example.org', (error) => resolve(error)));
  expect(viaCallback?.code).toBe('ENOTFOUND');
  expect(offLoopback.splice(0)).toEqual(['lookup of example.com', 'lookup of example.org']);
});

it('destroys a socket headed for an address off loopback before it connects', async () => {
  const socket = net.connect({ host: '192.0.2.1', port: 9 });
  const error = await new Promise<NodeJS.ErrnoException>((resolve) => socket.once('error', resolve));
  expect(error.code).toBe('ECONNREFUSED');
  expect(offLoopback.splice(0)).toEqual(['connect to 192.0.2.1']);
});

it("catches the library's own resolution of a name: the send fails, and the test would too", async () => {
  const d = new Dispatcher({ allowPrivateNetworks: true, retry: { attempts: 1 } });
  const t = new Terminals(d);
  await d.send({ url: 'http://hooks.example.com:9/x', secret: newSecret() }, { type: 't', data: 1 });
  await d.onIdle();
  await d.close();
  expect(t.failed).toHaveLength(1);
  expect(offLoopback.splice(0)).toEqual(['lookup of hooks.example.com']);
});
