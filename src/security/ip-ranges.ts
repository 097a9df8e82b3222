import ipaddr from 'ipaddr.js';
import { WebhookError, describe } from '../core/errors.js';

export type Address = ipaddr.IPv4 | ipaddr.IPv6;

const LOCAL_NAT64_PREFIX = ipaddr.IPv6.parse('64:ff9b:1::');
const WELL_KNOWN_NAT64_PREFIX = ipaddr.IPv6.parse('64:ff9b::');

function ipv4(bytes: number[]): ipaddr.IPv4 {
  return new ipaddr.IPv4(bytes);
}

/**
 * The IPv4 address an IPv6 address unambiguously carries, for the forms that route to it:
 * IPv4-mapped (`::ffff:a.b.c.d`), SIIT (`::ffff:0:a.b.c.d`), the well-known NAT64 prefix
 * (`64:ff9b::/96`), 6to4 (`2002:AABB:CCDD::`) and the deprecated IPv4-compatible form
 * (`::a.b.c.d`). The local-use NAT64 prefix has several layouts: see {@link localNat64Decodings}.
 */
export function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const range = address.range();
  const b = address.toByteArray();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || (range === 'rfc6052' && address.match(WELL_KNOWN_NAT64_PREFIX, 96))) {
    return ipv4(b.slice(12, 16));
  }
  if (range === '6to4') return ipv4(b.slice(2, 6));
  const p = address.parts;
  const compatible = p.slice(0, 6).every((w) => w === 0) && (p[6]! !== 0 || p[7]! > 1);
  return compatible ? ipv4(b.slice(12, 16)) : undefined;
}

/** Whether `address` is in the local-use NAT64 prefix `64:ff9b:1::/48` (RFC 8215). */
export function isLocalNat64(address: ipaddr.IPv6): boolean {
  return address.match(LOCAL_NAT64_PREFIX, 48);
}

/**
 * Every IPv4 address a NAT64 gateway might translate `address` (in `64:ff9b:1::/48`) to. A
 * gateway's prefix inside that /48 may be /48, /56, /64 or /96 long, and RFC 6052 §2.2 lays the
 * IPv4 address out differently for each, skipping bits 64–71 (the "u" octet). Suffix bits are
 * ignored, as a gateway may ignore them.
 */
export function localNat64Decodings(address: ipaddr.IPv6): ipaddr.IPv4[] {
  const b = address.toByteArray();
  return [96, 64, 56, 48].map((prefixBits) => {
    const bytes: number[] = [];
    for (let i = prefixBits / 8; bytes.length < 4; i++) if (i !== 8) bytes.push(b[i]!);
    return ipv4(bytes);
  });
}

const DECIMAL_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
/** Four dotted decimal octets, no leading zeros (which some parsers read as octal). */
const STRICT_IPV4 = new RegExp(`^${DECIMAL_OCTET}(?:\\.${DECIMAL_OCTET}){3}$`);
const PREFIX_LENGTH = /^(?:0|[1-9][0-9]{0,2})$/;

/** Networks no CIDR in `allowedNetworks` may reach into. */
const NEVER: Record<'ipv4' | 'ipv6', [Address, number, string][]> = {
  ipv4: [
    [ipaddr.IPv4.parse('0.0.0.0'), 8, 'unspecified'],
    [ipaddr.IPv4.parse('224.0.0.0'), 4, 'multicast'],
    [ipaddr.IPv4.parse('255.255.255.255'), 32, 'broadcast'],
  ],
  ipv6: [
    [ipaddr.IPv6.parse('::'), 128, 'unspecified'],
    [ipaddr.IPv6.parse('ff00::'), 8, 'multicast'],
  ],
};

/** `address` with its host bits (those after the first `bits`) cleared. */
function networkOf(address: Address, bits: number): Address {
  const bytes = address.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    bytes[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  return ipaddr.fromByteArray(bytes);
}

/**
 * Parses one CIDR of `allowedNetworks` strictly: IPv4 as four dotted decimal octets (`10.1/16`
 * would otherwise be read as `10.0.0.1/16`), IPv6 without a zone, a prefix length in range, and
 * no host bits set (`10.1.2.3/16` is refused, naming `10.1.0.0/16`). A network that reaches
 * multicast, broadcast or unspecified addresses (`0.0.0.0/0`, `::/0`, `240.0.0.0/4`) is refused:
 * nothing may open those. Throws `WD_INVALID_OPTIONS`.
 */
export function parseNetwork(cidr: string, name: string): [Address, number] {
  const syntax = () => new WebhookError('WD_INVALID_OPTIONS', `Expected \`${name}\` to be a CIDR such as \`10.1.0.0/16\` or \`fd00:1::/32\` (IPv4 as four decimal octets), got ${describe(cidr)}`);
  const parts = cidr.split('/');
  if (parts.length !== 2 || !PREFIX_LENGTH.test(parts[1]!)) throw syntax();
  const [text, length] = [parts[0]!, Number(parts[1])];
  let address: Address;
  if (text.includes(':')) {
    if (text.includes('%') || !ipaddr.IPv6.isValid(text) || length > 128) throw syntax();
    address = ipaddr.IPv6.parse(text);
  } else {
    if (!STRICT_IPV4.test(text) || length > 32) throw syntax();
    address = ipaddr.IPv4.parse(text);
  }
  const network = networkOf(address, length);
  if (network.toString() !== address.toString()) {
    throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`${name}\` to be a network address with no host bits set, got \`${cidr}\` (did you mean \`${network.toString()}/${length}\`?)`);
  }
  for (const [never, bits, what] of NEVER[address.kind()]) {
    if (address.kind() === never.kind() && address.match(never, Math.min(bits, length))) {
      throw new WebhookError('WD_INVALID_OPTIONS', `Expected \`${name}\` to leave out ${what} addresses, which are never allowed, got \`${cidr}\``);
    }
  }
  return [address, length];
}
