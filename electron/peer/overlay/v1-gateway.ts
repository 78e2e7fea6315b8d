import type net from 'node:net';
import type { PeerAddress } from '../../../shared/types.js';
import { addressKey, connectBackAllowed, formatAddress, isBogonTarget, limitKey, normalizeHost } from '../address.js';
import type { PeerComponents, PeerSelf } from '../components.js';
import { BoundedTable, KeyedRateLimiter } from '../seen-table.js';
import type { PeerTuning } from '../tuning.js';
import { readAll } from '../v1/client.js';
import { encodeV1, formatV1Listing, V1_TTL_CAP, type V1Message } from '../v1/codec.js';
import { readV1Message } from '../v1/inbound.js';
import { connectTcp } from '../v2/connection.js';

type Components = Pick<PeerComponents, 'hostCache' | 'library' | 'transfers' | 'clock' | 'log' | 'stats' | 'events'>;

/** What the gateway needs from the rest of the peer. */
interface GatewayHooks {
  isConnected(a: PeerAddress): boolean;
  /** A DISCOV_Result named a peer worth knowing: top up the neighbours. */
  found(): void;
}

type FloodMessage = Extract<V1Message, { kind: 'SEARCH' | 'DISCOVER' }>;

/** A v1 search or discovery we sent: results are accepted for it within its window, up to a cap. */
interface Pending {
  searchId?: string;
  name?: string;
  results: number;
}

/**
 * The v1 gateway to seed peers: their one-message-per-connection requests in
 * (LISTR, GET, SEARCH, DISCOVER and the results), our searches and discoveries
 * out, and the connect-backs their flooding asks for.
 */
export class V1Gateway {
  private readonly seen: BoundedTable<true>;
  /** Connect-back budgets per target host and per requesting host. */
  private readonly perTarget: KeyedRateLimiter;
  private readonly perRequester: KeyedRateLimiter;
  private readonly forwards: KeyedRateLimiter;
  private readonly searches: BoundedTable<Pending>;
  private discovery?: Pending & { until: number };

  constructor(
    private readonly c: Components,
    private readonly self: PeerSelf,
    private readonly tuning: Pick<
      PeerTuning,
      | 'v1ResultWindowMs'
      | 'v1ResultsPerRequest'
      | 'v1ForwardPerSource'
      | 'connectBackRate'
      | 'connectBackPerRequester'
      | 'handshakeTimeoutMs'
    >,
    private readonly hooks: GatewayHooks,
  ) {
    const now = () => c.clock.now();
    this.seen = new BoundedTable(10_000, 30_000, now);
    this.searches = new BoundedTable(1000, tuning.v1ResultWindowMs, now);
    this.perTarget = new KeyedRateLimiter(...tuning.connectBackRate, now);
    this.perRequester = new KeyedRateLimiter(...tuning.connectBackPerRequester, now);
    this.forwards = new KeyedRateLimiter(...tuning.v1ForwardPerSource, now);
  }

  /** Known peers that speak v1 (seed peers). */
  peers(): PeerAddress[] {
    return this.c.hostCache.list().filter((p) => p.protocol === 'v1' && !this.self.isSelf(p));
  }

  /** Send our SEARCH to every seed peer. */
  search(id: string, query: string, ttl: number): void {
    const peers = this.peers();
    // Results are accepted only for a search that was really sent to a seed peer.
    if (peers.length) this.searches.set(id, { searchId: id, name: query, results: 0 });
    for (const p of peers)
      void this.sendWithOurAddress(p, (host) => ({ kind: 'SEARCH', name: query, ttl, originHost: host, originPort: this.self.port() }));
  }

  /** Send our DISCOVER to every seed peer. */
  discover(ttl: number): void {
    const peers = this.peers();
    if (peers.length) this.discovery = { until: this.c.clock.now() + this.tuning.v1ResultWindowMs, results: 0 };
    for (const p of peers)
      void this.sendWithOurAddress(p, (host) => ({ kind: 'DISCOVER', ttl, originHost: host, originPort: this.self.port() }));
  }

  /** An inbound connection that did not start with the v2 magic. */
  async accept(socket: net.Socket, first: Buffer, ended: boolean): Promise<void> {
    let msg: V1Message;
    try {
      msg = await readV1Message(socket, first, ended);
    } catch (e) {
      this.c.stats.drop('v1 malformed');
      this.c.log.warn(`v1 from ${socket.remoteAddress}: ${(e as Error).message}`);
      if (!socket.destroyed) socket.end(`ERROR: ${(e as Error).message}`);
      return;
    }
    this.c.stats.in(`v1:${msg.kind}`);
    // The address this request reached: what connect-backs advertise (never "localhost").
    const ourHost = normalizeHost(socket.localAddress ?? '127.0.0.1');
    switch (msg.kind) {
      case 'LISTR':
        this.c.stats.out('v1:LISTR-reply');
        socket.end(formatV1Listing(this.c.library().list()));
        return;
      case 'GET':
        this.c.stats.out('v1:GET-reply');
        await this.c.transfers!.serveV1(socket, msg.name);
        return;
      case 'SEARCH':
      case 'DISCOVER':
        socket.end();
        return this.onFlood(msg, ourHost, normalizeHost(socket.remoteAddress ?? ''));
      case 'SEAR_Result':
        socket.end();
        return this.onSearchResult(msg);
      case 'DISCOV_Result':
        socket.end();
        return this.onDiscoverResult(msg);
    }
  }

  /** v1 results name no request: they count against the latest one still in its window. */
  private claim(pending: Pending | undefined): boolean {
    if (!pending) {
      this.c.stats.drop('unsolicited v1 result');
      return false;
    }
    if (pending.results >= this.tuning.v1ResultsPerRequest) {
      this.c.stats.drop('v1 results over the cap');
      return false;
    }
    pending.results++;
    return true;
  }

  private onSearchResult(msg: Extract<V1Message, { kind: 'SEAR_Result' }>): void {
    let pending: Pending | undefined;
    for (const s of this.searches.values()) pending = s;
    if (!this.claim(pending) || !pending) return;
    this.c.events.emit('search:hit', {
      searchId: pending.searchId!,
      peer: { host: msg.host, port: msg.port },
      protocol: 'v1',
      name: pending.name!,
    });
  }

  private onDiscoverResult(msg: Extract<V1Message, { kind: 'DISCOV_Result' }>): void {
    const d = this.discovery && this.c.clock.now() <= this.discovery.until ? this.discovery : undefined;
    if (!this.claim(d)) return;
    const addr = { host: msg.host, port: msg.port };
    if (this.self.isSelf(addr)) return;
    const { entry, added } = this.c.hostCache.add(addr, 'discovered');
    if (added) this.c.log.info(`discovered ${formatAddress(addr)} (v1 reply)`);
    this.c.events.emit('peer:found', { ...entry, connected: this.hooks.isConnected(addr) });
    this.hooks.found();
  }

  /** The seed's flooding rules, bounded: TTL capped, duplicates suppressed, connect-backs checked and rate-limited. */
  private onFlood(msg: FloodMessage, ourHost: string, requester: string): void {
    const origin = { host: msg.originHost, port: msg.originPort };
    const key = `${msg.kind}:${msg.kind === 'SEARCH' ? msg.name : ''}:${addressKey(origin)}`;
    if (!this.seen.add(key, true)) {
      this.c.stats.duplicate();
      return;
    }
    const ttl = Math.min(msg.ttl, V1_TTL_CAP);
    if (ttl <= 0) return this.c.stats.drop('ttl 0');
    const port = this.self.port();
    if (msg.kind === 'SEARCH') {
      if (this.c.library().findExact(msg.name)) this.connectBack(requester, origin, { kind: 'SEAR_Result', host: ourHost, port });
    } else {
      this.connectBack(requester, origin, { kind: 'DISCOV_Result', host: ourHost, port });
    }
    if (ttl - 1 <= 0) return;
    const fwd: V1Message = { ...msg, ttl: ttl - 1 };
    for (const p of this.peers()) {
      if (addressKey(p) === addressKey(origin)) continue;
      // One source cannot make us fan out without bound (each copy costs a connection).
      if (!this.forwards.take(limitKey(requester))) return this.c.stats.drop('v1 forward budget');
      this.c.stats.out(`v1:${msg.kind}`);
      void this.send(p, fwd);
    }
  }

  /** Checked before any connect: a literal, non-bogon address the requester may name, within both budgets. */
  private connectBack(requester: string, target: PeerAddress, msg: V1Message): void {
    const host = normalizeHost(target.host);
    if (isBogonTarget(host)) return this.c.stats.drop('connect-back to bogon address');
    if (this.self.isSelf(target)) return this.c.stats.drop('connect-back to self');
    if (!connectBackAllowed(requester, host)) return this.c.stats.drop('connect-back to a network the requester is not on');
    // Budgets count IPv6 by /64, so a host cannot take a fresh budget with each of its addresses.
    if (!this.perTarget.take(limitKey(host)) || !this.perRequester.take(limitKey(requester)))
      return this.c.stats.drop('connect-back rate limit');
    this.c.stats.connectBacks++;
    this.c.stats.out(`v1:${msg.kind}`);
    void this.send({ host, port: target.port }, msg);
  }

  private async send(p: PeerAddress, msg: V1Message): Promise<void> {
    try {
      const socket = await connectTcp(p.host, p.port, this.tuning.handshakeTimeoutMs);
      socket.on('error', () => {});
      socket.end(encodeV1(msg));
    } catch (e) {
      this.c.log.info(`could not reach ${formatAddress(p)}: ${(e as Error).message}`);
    }
  }

  /** A v1 request that names our address: use the local address of the very connection, never "localhost". */
  private async sendWithOurAddress(p: PeerAddress, build: (ourHost: string) => V1Message): Promise<void> {
    try {
      const socket = await connectTcp(p.host, p.port, this.tuning.handshakeTimeoutMs);
      socket.on('error', () => {});
      const msg = build(normalizeHost(socket.localAddress ?? '127.0.0.1'));
      this.c.stats.out(`v1:${msg.kind}`);
      socket.end(encodeV1(msg));
      await readAll(socket, 1024, 2000).catch(() => {});
    } catch (e) {
      this.c.log.info(`could not reach ${formatAddress(p)}: ${(e as Error).message}`);
    }
  }
}
