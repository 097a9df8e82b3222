/**
 * The tests' network rule, enforced: traffic goes to 127.0.0.1 or ::1 only. A DNS lookup of any
 * other name fails with ENOTFOUND before a query leaves the machine, and a socket about to
 * connect anywhere else is destroyed first. Each attempt is recorded, and the test that made it
 * fails (test/setup.ts), so a test cannot pass by relying on the outside world.
 */
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

const LOOPBACK_NAMES = new Set(['localhost']);

export const offLoopback: string[] = [];

function loopbackAddress(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function refused(what: string): NodeJS.ErrnoException {
  offLoopback.push(what);
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${what} (tests reach loopback only)`), { code: 'ENOTFOUND', hostname: what });
}

const lookup = dns.lookup;
// Node's own callers and the library's policy pass (host, options?, callback).
(dns as { lookup: unknown }).lookup = function guardedLookup(host: string, ...rest: unknown[]) {
  if (net.isIP(host) === 0 && !LOOPBACK_NAMES.has(host.toLowerCase())) {
    const callback = rest.at(-1) as (error: Error) => void;
    process.nextTick(() => callback(refused(`lookup of ${host}`)));
    return {};
  }
  return (lookup as (...args: unknown[]) => unknown).call(dns, host, ...rest);
};
const promiseLookup = dns.promises.lookup;
(dns.promises as { lookup: unknown }).lookup = function guardedPromiseLookup(host: string, ...rest: unknown[]) {
  if (net.isIP(host) === 0 && !LOOPBACK_NAMES.has(host.toLowerCase())) return Promise.reject(refused(`lookup of ${host}`));
  return (promiseLookup as (...args: unknown[]) => Promise<unknown>).call(dns.promises, host, ...rest);
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  // `net.connect` hands over its normalized arguments as an array: `[options, callback]`.
  const first = Array.isArray(args[0]) ? (args[0][0] as unknown) : args[0];
  const options = (typeof first === 'object' && first !== null ? first : typeof first === 'number' ? { port: first, host: args[1] } : { path: first }) as { host?: unknown; path?: unknown };
  if (options.path === undefined) {
    const host = typeof options.host === 'string' ? options.host.replace(/^\[|\]$/g, '') : 'localhost';
    if (net.isIP(host) !== 0 && !loopbackAddress(host)) {
      offLoopback.push(`connect to ${host}`);
      process.nextTick(() => this.destroy(Object.assign(new Error(`connect ECONNREFUSED ${host} (tests reach loopback only)`), { code: 'ECONNREFUSED' })));
      return this;
    }
    // A name, resolved by Node or by the caller's own lookup: checked once it is an address,
    // before the socket connects to it.
    this.once('lookup', (error: Error | null, address: string) => {
      if (error === null && typeof address === 'string' && !loopbackAddress(address)) {
        offLoopback.push(`connect to ${String(options.host)} at ${address}`);
        this.destroy(Object.assign(new Error(`connect ECONNREFUSED ${address} (tests reach loopback only)`), { code: 'ECONNREFUSED' }));
      }
    });
  }
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;

// Named imports of `node:dns` (`import { lookup } from 'node:dns'`) see the guard too.
syncBuiltinESMExports();
