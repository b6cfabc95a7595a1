import { RepodError } from '../errors.ts';

/**
 * Which network addresses an outbound request (an import source, a webhook) may reach. Anything
 * that is not a globally routable unicast address is refused: a server that fetches URLs given by
 * its users must not become their proxy into the private network it sits in (SSRF). Operators who
 * do want a mirror on their own network list it in REPOD_OUTBOUND_ALLOWED_HOSTS.
 *
 * Addresses are kept as bigints (32 bits for IPv4, 128 for IPv6) so one CIDR test serves both.
 */
export interface AllowList {
  /** The host of a URL (a name, or a literal address with or without brackets) is listed. */
  allowsHost(host: string): boolean;
  /** The address lies in a listed address or CIDR block. */
  allowsAddress(ip: string): boolean;
}

interface Address {
  version: 4 | 6;
  value: bigint;
}

interface Block {
  version: 4 | 6;
  base: bigint;
  prefix: number;
}

const BITS = { 4: 32, 6: 128 } as const;

/** Strict dotted decimal (no octal or hex parts, no leading zeros): the form URL parsing and DNS answers produce. */
function parseIPv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

/** RFC 4291 text forms: eight groups, one `::` for a run of zeros, an IPv4 tail; a zone (%eth0) is ignored. */
function parseIPv6(text: string): bigint | null {
  const zone = text.indexOf('%');
  const body = zone >= 0 ? text.slice(0, zone) : text;
  if (!/^[0-9a-fA-F:.]+$/.test(body)) return null;
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (half: string, last: boolean): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    const pieces = half.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (last && i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIPv4(piece);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) out.push(Number.parseInt(piece, 16));
      else return null;
    }
    return out;
  };
  const head = groupsOf(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1], true) : [];
  if (!head || !tail) return null;
  let groups: number[];
  if (halves.length === 1) {
    if (head.length !== 8) return null;
    groups = head;
  } else {
    if (head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** A literal address (IPv6 possibly in URL brackets), or null for a host name. */
function parseAddress(text: string): Address | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v4 = parseIPv4(bare);
  if (v4 !== null) return { version: 4, value: v4 };
  if (!bare.includes(':')) return null;
  const v6 = parseIPv6(bare);
  return v6 === null ? null : { version: 6, value: v6 };
}

function block(cidr: string): Block {
  const [ip, bits] = cidr.split('/');
  const address = parseAddress(ip)!;
  const prefix = Number(bits);
  return { version: address.version, base: masked(address.value, prefix, address.version), prefix };
}

function masked(value: bigint, prefix: number, version: 4 | 6): bigint {
  const width = BigInt(BITS[version]);
  const host = width - BigInt(prefix);
  return (value >> host) << host;
}

function contains(b: Block, a: Address): boolean {
  return b.version === a.version && masked(a.value, b.prefix, a.version) === b.base;
}

/** IPv4 blocks that are not globally reachable unicast (IANA IPv4 Special-Purpose Address Registry, RFC 6890). */
const IPV4_NOT_PUBLIC = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // RFC 1918
  '100.64.0.0/10', // shared address space (carrier-grade NAT), RFC 6598
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, home of cloud metadata services (169.254.169.254)
  '172.16.0.0/12', // RFC 1918
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // TEST-NET-1
  '192.88.99.0/24', // 6to4 relay anycast (deprecated)
  '192.168.0.0/16', // RFC 1918
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // TEST-NET-2
  '203.0.113.0/24', // TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and the limited broadcast 255.255.255.255
].map(block);

/**
 * IPv6 is judged the other way round: only global unicast (2000::/3) can be public, minus the
 * special blocks inside it. Loopback ::1, unspecified ::, unique-local fc00::/7, link-local
 * fe80::/10, site-local fec0::/10, multicast ff00::/8, discard 100::/64 all lie outside 2000::/3.
 */
const IPV6_GLOBAL = block('2000::/3');
const IPV6_NOT_PUBLIC = [
  '2001::/23', // IETF protocol assignments, Teredo (2001::/32) among them
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation (RFC 9637)
].map(block);
/** Forms that carry an IPv4 address, judged by that address. */
const IPV4_MAPPED = block('::ffff:0:0/96');
const NAT64 = block('64:ff9b::/96'); // RFC 6052 well-known prefix
const SIX_TO_FOUR = block('2002::/16'); // the IPv4 address sits in bits 16..47

/** The IPv4 address an IPv6 address stands for, when it embeds one. */
function embeddedIPv4(a: Address): Address | null {
  if (a.version !== 6) return null;
  if (contains(IPV4_MAPPED, a) || contains(NAT64, a)) return { version: 4, value: a.value & 0xffffffffn };
  if (contains(SIX_TO_FOUR, a)) return { version: 4, value: (a.value >> 80n) & 0xffffffffn };
  return null;
}

function publicAddress(a: Address): boolean {
  const v4 = embeddedIPv4(a);
  if (v4) return publicAddress(v4);
  if (a.version === 4) return !IPV4_NOT_PUBLIC.some((b) => contains(b, a));
  return contains(IPV6_GLOBAL, a) && !IPV6_NOT_PUBLIC.some((b) => contains(b, a));
}

/** Whether `ip` is a literal address that is globally routable unicast. Anything else (names included) is not. */
export function isPublicAddress(ip: string): boolean {
  const address = parseAddress(ip);
  return address !== null && publicAddress(address);
}

/** Whether `host` (a URL's hostname) is a literal IP address rather than a name. */
export function isAddressLiteral(host: string): boolean {
  return parseAddress(host) !== null;
}

/** A URL host without IPv6 brackets, lower-cased, without the trailing dot of a fully qualified name. */
export function normalizeHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase().replace(/\.$/, '');
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * REPOD_OUTBOUND_ALLOWED_HOSTS: comma-separated host names (matched exactly, case-insensitively),
 * literal addresses and CIDR blocks, IPv4 or IPv6 ("mirror.lan, 10.1.0.0/16, fd00::/8, ::1").
 * A listed name may resolve to any address; a listed block admits any name resolving into it.
 */
export function parseAllowList(text: string | undefined): AllowList {
  const names = new Set<string>();
  const blocks: Block[] = [];
  for (const raw of (text ?? '').split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const bad = (why: string) => new RepodError('invalid_config', `REPOD_OUTBOUND_ALLOWED_HOSTS: bad entry ${JSON.stringify(entry)}: ${why}`, { status: 500 });
    const slash = entry.indexOf('/');
    if (slash >= 0) {
      const address = parseAddress(entry.slice(0, slash));
      const bits = entry.slice(slash + 1);
      if (!address) throw bad('a CIDR block needs an IPv4 or IPv6 address before the "/"');
      if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > BITS[address.version]) throw bad(`the prefix length must be 0..${BITS[address.version]}`);
      const prefix = Number(bits);
      blocks.push({ version: address.version, base: masked(address.value, prefix, address.version), prefix });
      continue;
    }
    const address = parseAddress(entry);
    if (address) {
      blocks.push({ version: address.version, base: address.value, prefix: BITS[address.version] });
      continue;
    }
    const name = normalizeHost(entry);
    if (name.includes(':')) throw bad('list a host name or an address without a port or scheme');
    // URL parsing reads a host ending in a number as IPv4 (WHATWG URL), so such a name never matches.
    if (!HOST_NAME.test(name) || /^[0-9]+$|^0x/i.test(name.slice(name.lastIndexOf('.') + 1))) throw bad('not a host name, an IP address or a CIDR block');
    names.add(name);
  }
  const allowsAddress = (ip: string): boolean => {
    const parsed = parseAddress(ip);
    if (!parsed) return false;
    const candidates = [parsed];
    const v4 = embeddedIPv4(parsed);
    if (v4 && contains(IPV4_MAPPED, parsed)) candidates.push(v4);
    return blocks.some((b) => candidates.some((a) => contains(b, a)));
  };
  return {
    allowsAddress,
    allowsHost: (host) => {
      const name = normalizeHost(host);
      return names.has(name) || (isAddressLiteral(name) && allowsAddress(name));
    },
  };
}
