/**
 * Is this peer reachable from outside, and at which address? As libp2p's
 * AutoNAT does, the answer comes from neighbours dialling our advertised
 * addresses back, never from our own guess: a verdict needs agreeing results
 * from more than one neighbour, and the latest results outweigh old ones.
 */
import net from 'node:net';
import { TypedEmitter } from '../typed-emitter.js';
import { mappingMethodLabel, type PortMapping } from './port-mapping.js';

/** What we know about being reachable. */
type ReachabilityState = 'unknown' | 'open' | 'mapped' | 'firewalled';

/** One neighbour's attempt to dial one of our addresses. */
export interface DialBackResult {
  /** Who dialled (a peer ID or address), so one neighbour cannot decide alone. */
  by: string;
  host: string;
  port: number;
  ok: boolean;
  error?: string;
  at: number;
}

/** The verdict, with the address that worked and the reason in words. */
export interface ReachabilityVerdict {
  state: ReachabilityState;
  /** The address others should dial (the mapped one when mapped), or null. */
  address: { host: string; port: number } | null;
  reason: string;
}

/** Options of a {@link ReachabilityTracker}. */
interface ReachabilityOptions {
  /** Distinct neighbours that must agree (default 2; 1 suits a lab or a two-peer network). */
  confirmations?: number;
  /** Results kept (default 8); older ones fall out. */
  window?: number;
}

/**
 * Decide from dial-back results and the current port mapping. Only the latest
 * result from each neighbour counts. Reachable at an address dialled
 * successfully by `confirmations` neighbours: "mapped" when that address is the
 * mapping's external one, else "open". Firewalled when as many neighbours
 * failed and none succeeded.
 */
export function decideReachability(
  results: readonly DialBackResult[],
  mapping: PortMapping | null,
  confirmations = 2,
): ReachabilityVerdict {
  const latest = new Map<string, DialBackResult>();
  for (const r of [...results].sort((a, b) => a.at - b.at)) latest.set(r.by, r);
  const byAddress = new Map<string, DialBackResult[]>();
  for (const r of latest.values()) {
    if (!r.ok) continue;
    const key = `${r.host}:${r.port}`;
    byAddress.set(key, [...(byAddress.get(key) ?? []), r]);
  }
  const isMapped = (r: DialBackResult) => mapping !== null && r.host === mapping.externalHost && r.port === mapping.externalPort;
  const confirmed = [...byAddress.values()]
    .filter((rs) => rs.length >= confirmations)
    .sort((a, b) => Number(isMapped(b[0]!)) - Number(isMapped(a[0]!)));
  const best = confirmed[0]?.[0];
  if (best) {
    const address = { host: best.host, port: best.port };
    return isMapped(best)
      ? {
          state: 'mapped',
          address,
          reason: `dialled back at the ${mappingMethodLabel(mapping!.method)} mapping ${best.host}:${best.port}`,
        }
      : { state: 'open', address, reason: `dialled back at ${best.host}:${best.port}` };
  }
  const failures = [...latest.values()].filter((r) => !r.ok);
  const successes = [...latest.values()].filter((r) => r.ok);
  if (failures.length >= confirmations && successes.length === 0) {
    return {
      state: 'firewalled',
      address: null,
      reason: `${failures.length} neighbours could not dial back${failures[0]!.error ? ` (${failures[0]!.error})` : ''}`,
    };
  }
  return { state: 'unknown', address: null, reason: `${latest.size} dial-back result(s), ${confirmations} needed to agree` };
}

/** Collects dial-back results and emits `changed` when the verdict's state or address changes. */
export class ReachabilityTracker extends TypedEmitter<{ changed: ReachabilityVerdict }> {
  private results: DialBackResult[] = [];
  private mapping: PortMapping | null = null;
  private last: ReachabilityVerdict = { state: 'unknown', address: null, reason: 'no dial-back yet' };

  constructor(private readonly opts: ReachabilityOptions = {}) {
    super();
  }

  /** The current verdict. */
  verdict(): ReachabilityVerdict {
    return this.last;
  }

  /** Record one dial-back result. */
  add(result: DialBackResult): ReachabilityVerdict {
    this.results.push(result);
    const window = this.opts.window ?? 8;
    if (this.results.length > window) this.results = this.results.slice(-window);
    return this.update();
  }

  /** The port mapping changed (made, renewed at another address, or removed). */
  setMapping(mapping: PortMapping | null): ReachabilityVerdict {
    this.mapping = mapping;
    return this.update();
  }

  private update(): ReachabilityVerdict {
    const next = decideReachability(this.results, this.mapping, this.opts.confirmations ?? 2);
    const changed =
      next.state !== this.last.state || next.address?.host !== this.last.address?.host || next.address?.port !== this.last.address?.port;
    this.last = next;
    if (changed) this.emit('changed', next);
    return next;
  }
}

/**
 * The dialling side of a dial-back: can a TCP connection be opened to
 * host:port within the timeout? The connection is closed at once; the peer's
 * own handshake, not this probe, checks who answers.
 */
export function probeTcp(host: string, port: number, timeoutMs = 3000): Promise<{ ok: boolean; error?: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean, error?: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, error, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => done(false, `no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
  });
}
