import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { WebhookError, invalidOptions } from './errors.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Callback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** `dns.lookup`'s shape, as `net.connect` calls it. Inject one to use another resolver; its answers are still checked. */
export type LookupFunction = (hostname: string, options: LookupOptions, callback: Callback) => void;

/** Ranges `allowPrivateNetworks` opens. Everything else that is not public unicast stays refused. */
const PRIVATE_RANGES = new Set(['private', 'loopback', 'linkLocal', 'carrierGradeNat', 'uniqueLocal', 'deprecatedSiteLocal']);
/** Public ranges: unicast and the anycast blocks ipaddr.js names separately. */
const PUBLIC_RANGES = new Set(['unicast', 'as112', 'amt', 'as112v6']);

/**
 * The IPv4 address an IPv6 address carries, for the forms that route to it: IPv4-mapped
 * (`::ffff:a.b.c.d`), SIIT (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`),
 * 6to4 (`2002:AABB:CCDD::`) and the deprecated IPv4-compatible form (`::a.b.c.d`).
 */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const range = address.range();
  const p = address.parts;
  const fromWords = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  if (range === 'ipv4Mapped' || range === 'rfc6145' || range === 'rfc6052') return fromWords(p[6]!, p[7]!);
  if (range === '6to4') return fromWords(p[1]!, p[2]!);
  const compatible = p.slice(0, 6).every((w) => w === 0) && (p[6]! !== 0 || p[7]! > 1);
  return compatible ? fromWords(p[6]!, p[7]!) : undefined;
}

/** Decides which destination addresses may be connected to. Guards against SSRF. */
export class AddressPolicy {
  readonly #allowPrivate: boolean;
  readonly #allowed: [Address, number][];
  readonly #resolve: LookupFunction;

  constructor(allowPrivateNetworks: boolean, allowedNetworks: readonly string[], resolve: LookupFunction = dnsLookup as LookupFunction) {
    this.#allowPrivate = allowPrivateNetworks;
    this.#allowed = allowedNetworks.map((cidr) => {
      try {
        return ipaddr.parseCIDR(cidr);
      } catch {
        throw invalidOptions('allowedNetworks', 'an array of CIDR strings such as `10.1.0.0/16`', cidr);
      }
    });
    this.#resolve = resolve;
  }

  /** Why `address` (an IP literal) is refused, or `undefined` when it may be used. */
  refusal(address: string): string | undefined {
    let parsed: Address;
    try {
      parsed = ipaddr.parse(address);
    } catch {
      return 'unparseable';
    }
    if (this.#inAllowedNetwork(parsed)) return undefined;
    if (parsed.kind() === 'ipv6') {
      const v4 = embeddedIPv4(parsed as ipaddr.IPv6);
      if (v4 !== undefined) return this.#inAllowedNetwork(v4) ? undefined : this.#rangeRefusal(v4.range());
      if (parsed.range() === 'teredo') return 'teredo';
    }
    return this.#rangeRefusal(parsed.range());
  }

  /** Why a URL's hostname is refused before any lookup, or `undefined` (names are checked again at connect time). */
  hostnameRefusal(hostname: string): string | undefined {
    const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    if (ipaddr.isValid(bare)) return this.refusal(bare);
    const name = bare.toLowerCase().replace(/\.$/, '');
    if (!this.#allowPrivate && (name === 'localhost' || name.endsWith('.localhost'))) return 'loopback';
    return undefined;
  }

  /**
   * A `lookup` for `net.connect`: resolves once, checks every address of the answer, and hands
   * the checked addresses to the socket, so a second resolution (DNS rebinding) cannot slip past.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const opts: LookupOptions = typeof options === 'object' && options !== null ? options : {};
    this.#resolve(hostname, { ...opts, all: true }, (error, result) => {
      if (error) return callback(error, '');
      const addresses = (Array.isArray(result) ? result : [{ address: result, family: 0 }]) as LookupAddress[];
      for (const { address } of addresses) {
        const why = this.refusal(address);
        if (why !== undefined) {
          return callback(new WebhookError('WD_BLOCKED_DESTINATION', `Refused to connect to ${hostname}: it resolved to a ${why} address (${address})`), '');
        }
      }
      if (addresses.length === 0) return callback(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      if (opts.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

  #inAllowedNetwork(address: Address): boolean {
    for (const [network, bits] of this.#allowed) {
      if (network.kind() === address.kind() && address.match(network, bits)) return true;
    }
    return false;
  }

  #rangeRefusal(range: string): string | undefined {
    if (PUBLIC_RANGES.has(range)) return undefined;
    if (this.#allowPrivate && PRIVATE_RANGES.has(range)) return undefined;
    return range;
  }
}
