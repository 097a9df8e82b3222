import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { WebhookError } from './errors.js';
import { embeddedIPv4, isLocalNat64, localNat64Decodings, parseNetwork, type Address } from './ip-ranges.js';

type Callback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** `dns.lookup`'s shape, as `net.connect` calls it. Inject one to use another resolver; its answers are still checked. */
export type LookupFunction = (hostname: string, options: LookupOptions, callback: Callback) => void;

/** ipaddr.js range names, in words. A range not named here is called "reserved". */
const LABELS: Record<string, string> = {
  private: 'private',
  loopback: 'loopback',
  linkLocal: 'link-local',
  carrierGradeNat: 'carrier-grade NAT',
  uniqueLocal: 'unique-local',
  deprecatedSiteLocal: 'site-local',
  multicast: 'multicast',
  broadcast: 'broadcast',
  unspecified: 'unspecified',
  reserved: 'reserved',
  teredo: 'Teredo',
  benchmarking: 'benchmarking',
  discard: 'discard-only',
  deprecatedOrchid: 'ORCHID',
  orchid2: 'ORCHIDv2',
  droneRemoteIdProtocolEntityTags: 'drone remote ID',
  segmentRouting: 'segment-routing',
};
/** Public ranges: unicast and the anycast blocks ipaddr.js names separately. */
const PUBLIC_RANGES = new Set(['unicast', 'as112', 'amt', 'as112v6']);
/**
 * Ranges `allowPrivateNetworks` opens. Link-local is not among them: 169.254.169.254 is the
 * cloud metadata service, so it takes a CIDR in `allowedNetworks` that names it.
 */
const PRIVATE_RANGES = new Set(['private', 'loopback', 'carrierGradeNat', 'uniqueLocal', 'deprecatedSiteLocal']);
/** Ranges nothing opens, not even `allowedNetworks`. */
const NEVER_RANGES = new Set(['multicast', 'broadcast', 'unspecified']);
const LOCAL_NAT64 = 'local-use NAT64';

const PRIVATE_LABELS = new Set([...PRIVATE_RANGES].map((r) => LABELS[r]));
const NEVER_LABELS = new Set([...NEVER_RANGES].map((r) => LABELS[r]));

/** "a loopback address (set `allowPrivateNetworks`, …)": a refusal label in a sentence, with how to lift it. */
export function describeRefusal(label: string): string {
  const article = /^(?:[aeio]|un(?!i))/i.test(label) ? 'an' : 'a';
  return `${article} ${label} address${howToAllow(label)}`;
}

/** How to lift a refusal, as a parenthesis to append to a message. */
export function howToAllow(label: string): string {
  if (PRIVATE_LABELS.has(label)) return ' (set `allowPrivateNetworks`, or list it in `allowedNetworks`, to allow it)';
  if (NEVER_LABELS.has(label)) return ' (never allowed)';
  if (label === 'unparseable') return '';
  return ' (list it in `allowedNetworks` to allow it)';
}

/** A URL host name that may be an IP literal. WHATWG URLs write IPv4 as dotted decimal and IPv6 in brackets. */
const MAYBE_IP = /^(?:\[|[0-9][0-9a-fx.]*$)|:/i;

/** Decides which destination addresses may be connected to. Guards against SSRF. */
export class AddressPolicy {
  readonly #allowPrivate: boolean;
  readonly #allowed: [Address, number][];
  readonly #resolve: LookupFunction;

  /**
   * @param allowedNetworks CIDRs, parsed strictly (see `parseNetwork`). Throws `WD_INVALID_OPTIONS`.
   */
  constructor(allowPrivateNetworks: boolean, allowedNetworks: readonly string[], resolve: LookupFunction = dnsLookup as LookupFunction) {
    this.#allowPrivate = allowPrivateNetworks;
    this.#allowed = allowedNetworks.map((cidr, i) => parseNetwork(cidr, `allowedNetworks[${i}]`));
    this.#resolve = resolve;
  }

  /**
   * Why `address` (an IP literal) is refused, in words (`'loopback'`, `'link-local'`, …), or
   * `undefined` when it may be used. An IPv6 address that carries an IPv4 address is judged
   * by the IPv4 address it reaches.
   */
  refusal(address: string): string | undefined {
    let parsed: Address;
    try {
      parsed = ipaddr.parse(address);
    } catch {
      return 'unparseable';
    }
    if (parsed.kind() === 'ipv4') return this.#ipv4Refusal(parsed as ipaddr.IPv4);
    const v6 = parsed as ipaddr.IPv6;
    const range = v6.range();
    if (NEVER_RANGES.has(range)) return label(range);
    if (isLocalNat64(v6)) {
      if (this.#inAllowedNetwork(v6)) return undefined;
      // The gateway's prefix length is unknown: refuse when any layout reaches a refused address.
      return localNat64Decodings(v6).some((v4) => this.#ipv4Refusal(v4) !== undefined) ? LOCAL_NAT64 : undefined;
    }
    const v4 = embeddedIPv4(v6);
    if (v4 !== undefined) {
      if (NEVER_RANGES.has(v4.range())) return label(v4.range());
      if (this.#inAllowedNetwork(v6)) return undefined;
      return this.#ipv4Refusal(v4);
    }
    if (this.#inAllowedNetwork(v6)) return undefined;
    return this.#rangeRefusal(range);
  }

  /** Why a URL's hostname is refused before any lookup, or `undefined` (names are checked again at connect time). */
  hostnameRefusal(hostname: string): string | undefined {
    // Most host names are DNS names: tell them apart without ipaddr.js, whose checks throw and catch on them.
    if (MAYBE_IP.test(hostname)) {
      const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
      if (ipaddr.isValid(bare)) return this.refusal(bare);
    }
    if (this.#allowPrivate) return undefined;
    const name = hostname.toLowerCase();
    if (name === 'localhost' || name === 'localhost.' || name.endsWith('.localhost') || name.endsWith('.localhost.')) return 'loopback';
    return undefined;
  }

  /**
   * A `lookup` for `net.connect`: resolves once, checks every address of the answer, and hands
   * the checked addresses to the socket, so a second resolution (DNS rebinding) cannot slip past.
   * It answers in the form the caller asked for (`all: true`: an array; otherwise one address
   * and its family), whichever form the injected resolver answered in.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const opts: LookupOptions = typeof options === 'number' ? { family: options } : typeof options === 'object' && options !== null ? options : {};
    this.#resolve(hostname, { ...opts, all: true }, (error, result, family) => {
      if (error) return callback(error, opts.all ? [] : '');
      const addresses = answers(result, family);
      for (const { address } of addresses) {
        const why = this.refusal(address);
        if (why !== undefined) {
          return callback(new WebhookError('WD_BLOCKED_DESTINATION', `Refused to connect to ${hostname}: it resolved to ${address}, ${describeRefusal(why)}`), opts.all ? [] : '');
        }
      }
      if (addresses.length === 0) {
        return callback(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), opts.all ? [] : '');
      }
      if (opts.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

  #ipv4Refusal(v4: ipaddr.IPv4): string | undefined {
    const range = v4.range();
    if (NEVER_RANGES.has(range)) return label(range);
    if (this.#inAllowedNetwork(v4)) return undefined;
    return this.#rangeRefusal(range);
  }

  #inAllowedNetwork(address: Address): boolean {
    for (const [network, bits] of this.#allowed) {
      if (network.kind() === address.kind() && address.match(network, bits)) return true;
    }
    return false;
  }

  #rangeRefusal(range: string): string | undefined {
    if (PUBLIC_RANGES.has(range)) return undefined;
    if (this.#allowPrivate && PRIVATE_RANGES.has(range)) return undefined;
    return label(range);
  }
}

function label(range: string): string {
  return LABELS[range] ?? 'reserved';
}

/** A resolver's answer as `{ address, family }[]`, whether it answered with an array or with one address and its family. */
function answers(result: string | LookupAddress[] | undefined, family: number | undefined): LookupAddress[] {
  const fix = (address: string, given: unknown): LookupAddress => ({ address, family: given === 4 || given === 6 ? given : isIP(address) });
  if (Array.isArray(result)) return result.map((a) => fix(a.address, a.family));
  return typeof result === 'string' && result !== '' ? [fix(result, family)] : [];
}
