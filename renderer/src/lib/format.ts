import { formatBytes, formatRoute } from '../../../shared/format.js';
import type { PeerAddress, TransferInfo } from '../../../shared/types.js';

export { formatBytes, formatEta, formatSpeed, percent } from '../../../shared/format.js';

/** A size that may be unknown (v1 hits, peers that have not said). */
export function formatSize(n: number | undefined): string {
  return n === undefined ? 'size unknown' : formatBytes(n);
}

/** The total of a per-type counter (messages in or out). */
export function sumCounts(r: Record<string, number> | undefined): number {
  return Object.values(r ?? {}).reduce((a, b) => a + b, 0);
}

/** `host:port`, with brackets around IPv6 hosts. */
export function formatAddress(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * The line under a transfer's name: where it comes from or goes to, and for a
 * download that came by PUSH or through a relay, how ("relayed via ABCDEFG…").
 */
export function transferPeersText(t: TransferInfo): string {
  const peers = t.sources.map(formatAddress);
  if (t.direction === 'up') return `to ${peers.join(', ') || 'a peer'}`;
  const route = formatRoute(t.route, (id) => `${id.slice(0, 7)}…`);
  return `from ${peers.length === 1 ? peers[0] : `${peers.length} peers`}${route ? ` · ${route}` : ''}`;
}

/** `12345` → `12,345`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `Date.now()`-style time as "just now", "5 min ago", … */
export function formatAgo(time: number | undefined, now = Date.now()): string {
  if (!time) return 'never';
  const s = Math.max(0, Math.round((now - time) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A file date as "24 Nov 2026". */
export function formatDate(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '';
  return new Date(ms).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
}
