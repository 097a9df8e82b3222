import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { WebhookError } from '../core/errors.js';
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
const METADATA = 'cloud metadata';
/**
 * Cloud metadata services outside link-local, in ranges `allowPrivateNetworks` opens: AWS's
 * IPv6 instance metadata (`fd00:ec2::254`, unique-local) and Alibaba Cloud's (`100.100.100.200`,
 * carrier-grade NAT). Like link-local, they open only when `allowedNetworks` names them.
 */
const METADATA_ADDRESSES: readonly Address[] = [ipaddr.parse('fd00:ec2::254'), ipaddr.parse('100.100.100.200')];

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
    if (isMetadata(v6)) return METADATA;
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
    const none = opts.all ? [] : '';
    // A resolver is someone else's code: it may answer twice, throw, or answer with junk. The
    // socket hears exactly one answer, and nothing here throws: a throw would surface as an
    // uncaught exception in whatever timer or socket callback the resolver answered from.
    let answered = false;
    const answer = (...args: Parameters<Callback>): void => {
      if (answered) return;
      answered = true;
      callback(...args);
    };
    try {
      this.#resolve(hostname, { ...opts, all: true }, (error, result) => {
        if (answered) return;
        if (error) return answer(error, none);
        let addresses: LookupAddress[];
        try {
          addresses = answers(result);
        } catch (thrown) {
          // An answer whose reading throws (a Proxy, a getter).
          return answer(thrown as NodeJS.ErrnoException, none);
        }
        for (const { address } of addresses) {
          const why = this.refusal(address);
          if (why !== undefined) {
            const shown = address === '' ? 'something that is not an address' : address.length > 64 ? `${address.slice(0, 64)}…` : address;
            return answer(new WebhookError('WD_BLOCKED_DESTINATION', `Refused to connect to ${hostname}: it resolved to ${shown}, ${describeRefusal(why)}`), none);
          }
        }
        if (addresses.length === 0) {
          return answer(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), none);
        }
        if (opts.all) return answer(null, addresses);
        answer(null, addresses[0]!.address, addresses[0]!.family);
      });
    } catch (thrown) {
      // The resolver threw before answering (or after: then the answer stands).
      answer(thrown as NodeJS.ErrnoException, none);
    }
  };

  #ipv4Refusal(v4: ipaddr.IPv4): string | undefined {
    const range = v4.range();
    if (NEVER_RANGES.has(range)) return label(range);
    if (this.#inAllowedNetwork(v4)) return undefined;
    if (isMetadata(v4)) return METADATA;
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

function isMetadata(address: Address): boolean {
  return METADATA_ADDRESSES.some((m) => m.kind() === address.kind() && address.match(m, address.kind() === 'ipv4' ? 32 : 128));
}

/**
 * A resolver's answer as `{ address, family }[]`, whether it answered with an array or with one
 * address. The family is the address's own (`isIP`): a resolver that names the wrong one would
 * have the socket fail with EINVAL. An entry that is not a string address becomes `''`, which
 * the policy refuses as unparseable, where reading it would have thrown.
 */
function answers(result: unknown): LookupAddress[] {
  const entry = (address: unknown): LookupAddress => {
    const text = typeof address === 'string' ? address : '';
    return { address: text, family: isIP(text) };
  };
  if (Array.isArray(result)) return result.map((a: unknown) => entry(typeof a === 'object' && a !== null ? (a as { address?: unknown }).address : undefined));
  return typeof result === 'string' && result !== '' ? [entry(result)] : [];
}
