import net from 'node:net';
import type { PeerAddress } from '../../shared/types.js';

/** Parse `host:port` (or `[v6]:port`). Throws a message a user can act on. */
export function parseHostPort(text: string): PeerAddress {
  const s = text.trim();
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:\s]+):(\d+)$/.exec(s);
  if (!m) throw new Error(`bad address "${text}": expected HOST:PORT, for example 127.0.0.1:10001`);
  return { host: m[1]!, port: parsePort(m[2]!, false) };
}

/** A TCP port number; `allowZero` for listening ("any free port"). */
export function parsePort(text: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text.trim())) throw new Error(`bad port "${text}": expected a number from ${allowZero ? 0 : 1} to 65535`);
  const n = Number(text);
  if (n > 65535 || (!allowZero && n === 0)) throw new Error(`bad port "${text}": expected a number from ${allowZero ? 0 : 1} to 65535`);
  return n;
}

export function formatAddress(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function addressKey(a: PeerAddress): string {
  return `${normalizeHost(a.host)}:${a.port}`;
}

/** Strip the IPv4-mapped prefix Node puts on dual-stack sockets, and map `localhost`. */
export function normalizeHost(host: string): string {
  const h = host.startsWith('::ffff:') && net.isIPv4(host.slice(7)) ? host.slice(7) : host;
  return h.toLowerCase() === 'localhost' ? '127.0.0.1' : h.toLowerCase();
}

/** The eight 16-bit groups of an IPv6 address (an IPv4 tail folded in); undefined if it is not one. */
function ipv6Groups(host: string): number[] | undefined {
  if (!net.isIPv6(host)) return undefined;
  let h = host.split('%')[0]!;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    h = `${h.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = h.includes('::') ? h.split('::') : [h, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16));
}

/**
 * The key that connection limits and bans count by: an IPv4 address itself,
 * an IPv6 address by its /64 (one host or customer usually holds a whole /64,
 * so counting addresses one by one would not limit it at all).
 */
export function limitKey(ip: string): string {
  const h = normalizeHost(ip);
  const g = ipv6Groups(h);
  if (!g) return h;
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`;
}

/**
 * A host a message from the network may name: a literal IPv4 or IPv6 address,
 * or `localhost` (the seed's own). Never a name to resolve, nor a numeric form
 * such as 2130706433, 0x7f000001 or 127.1 that the resolver would turn into another address.
 */
export function isLiteralPeerHost(host: string): boolean {
  return host === 'localhost' || net.isIP(host) !== 0;
}

/**
 * Addresses that a connect-back (v1 SEAR_Result / DISCOV_Result) must never target:
 * unspecified, multicast, broadcast, and reserved ranges. Loopback and private
 * ranges are allowed (they are where real peers live, and where tests run).
 */
export function isBogonTarget(host: string): boolean {
  const h = normalizeHost(host);
  if (net.isIPv4(h)) {
    const [a, b] = h.split('.').map(Number) as [number, number, number, number];
    if (a === 0) return true; // "this network", includes 0.0.0.0
    if (a >= 224) return true; // multicast 224/4, reserved 240/4, broadcast 255.255.255.255
    if (a === 169 && b === 254) return true; // link-local
    if (a === 192 && b === 0 && h.startsWith('192.0.2.')) return true; // TEST-NET-1
    if (a === 198 && (b === 18 || b === 19)) return true; // benchmarking
    if (h.endsWith('.255')) return true; // likely a subnet broadcast
    return false;
  }
  if (net.isIPv6(h)) {
    if (h === '::' || h === '::0') return true;
    if (h.startsWith('ff')) return true; // multicast
    if (h.startsWith('fe80')) return true; // link-local
    return false;
  }
  // Hostnames are not bogons by themselves; the v1 layer only accepts IPs anyway.
  return false;
}

/**
 * The local network a host belongs to: `loopback`, a private range (`10/8`,
 * `172.16/12`, `192.168/16`, `100.64/10`, `fc00/7`), or undefined for a public address.
 */
function localNetworkOf(host: string): string | undefined {
  const h = normalizeHost(host);
  if (net.isIPv4(h)) {
    const [a, b] = h.split('.').map(Number) as [number, number];
    if (a === 127) return 'loopback';
    if (a === 10) return '10/8';
    if (a === 172 && b >= 16 && b <= 31) return '172.16/12';
    if (a === 192 && b === 168) return '192.168/16';
    if (a === 100 && b >= 64 && b <= 127) return '100.64/10';
    return undefined;
  }
  if (net.isIPv6(h)) {
    if (h === '::1') return 'loopback';
    if (/^f[cd]/.test(h)) return 'fc00/7';
  }
  return undefined;
}

/**
 * May a v1 connect-back asked for by `requester` (the socket's remote address)
 * go to `target`? Only a literal IP that is no bogon; a loopback target only for
 * a requester on loopback, a private target only for a requester on that same
 * private range (or on loopback: this machine is on its own networks).
 */
export function connectBackAllowed(requester: string, target: string): boolean {
  const t = normalizeHost(target);
  if (!net.isIP(t) || isBogonTarget(t)) return false;
  const targetNet = localNetworkOf(t);
  if (!targetNet) return true;
  const requesterNet = localNetworkOf(requester);
  return requesterNet === targetNet || requesterNet === 'loopback';
}

/** True for an address that means something only on its own network (loopback, RFC 1918, CGNAT, IPv6 ULA). */
export function isLocalNetworkHost(host: string): boolean {
  return localNetworkOf(host) !== undefined;
}

export function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}
