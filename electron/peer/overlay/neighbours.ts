import type net from 'node:net';
import type { NeighbourInfo, PeerAddress } from '../../../shared/types.js';
import { addressKey, formatAddress, limitKey, normalizeHost } from '../address.js';
import type { PeerComponents, PeerSelf } from '../components.js';
import type { PeerTuning } from '../tuning.js';
import { PeerIdMismatchError } from '../identity/tls-link.js';
import { V2Connection, type Hello } from '../v2/connection.js';
import type { FrameDecoder } from '../v2/frame.js';
import { dialSecureV2 } from '../v2/secure-v2.js';
import type { V2Message } from '../v2/messages.js';

/** One neighbour link and the counters its duplicate rule needs. */
export interface Neighbour {
  conn: V2Connection;
  /** The neighbour's listening address. */
  address: PeerAddress;
  duplicates: number;
  messages: number;
  /** When the link joined (the parts' clock). */
  added: number;
}

/** What the neighbour set tells the rest of the peer. */
interface NeighbourHooks {
  message(n: Neighbour, m: V2Message): void;
  /** A link closed (after it left the set). */
  closed(n: Neighbour): void;
  /** The set or the known-peer list changed. */
  changed(): void;
}

type Components = Pick<PeerComponents, 'hostCache' | 'clock' | 'log' | 'stats' | 'events'>;

/**
 * The neighbour links: dial known peers up to the cap (with backoff), accept
 * inbound links within their caps, and keep one link per remote peer.
 */
export class Neighbours {
  private readonly byId = new Map<string, Neighbour>();
  private readonly dialing = new Set<string>();
  private readonly backoff = new Map<string, { until: number; delay: number }>();

  constructor(
    private readonly c: Components,
    private readonly self: PeerSelf,
    private readonly tuning: Pick<
      PeerTuning,
      'connection' | 'handshakeTimeoutMs' | 'maxInboundNeighbours' | 'maxInboundNeighboursPerIp' | 'duplicateGraceMs'
    >,
    private readonly cap: () => number,
    private readonly hooks: NeighbourHooks,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  all(): Neighbour[] {
    return [...this.byId.values()];
  }

  info(): NeighbourInfo[] {
    return this.all().map((n) => ({ ...n.address, peerId: n.conn.remote.peerId, direction: n.conn.direction, since: n.conn.since }));
  }

  isConnected(a: PeerAddress): boolean {
    const k = addressKey(a);
    for (const n of this.byId.values()) if (addressKey(n.address) === k) return true;
    return false;
  }

  /** Forget the backoff for one address (the user added it), or for all (RESET). */
  clearBackoff(a?: PeerAddress): void {
    if (a) this.backoff.delete(addressKey(a));
    else this.backoff.clear();
  }

  /** Keep outbound neighbour links to known peers up to the cap. Returns the dials begun. */
  maintain(): Promise<void>[] {
    const dials: Promise<void>[] = [];
    if (!this.self.isLive()) return dials;
    const outbound = this.all().filter((n) => n.conn.direction === 'out').length;
    let room = this.cap() - outbound - this.dialing.size;
    const now = this.c.clock.now();
    for (const p of this.c.hostCache.list()) {
      if (room <= 0) break;
      const key = addressKey(p);
      if (p.protocol === 'v1' || this.dialing.has(key) || this.isConnected(p) || this.self.isSelf(p)) continue;
      const b = this.backoff.get(key);
      if (b && b.until > now) continue;
      room--;
      dials.push(this.dial(p));
    }
    return dials;
  }

  /** Close the links we dialled to peers that are no longer known (after RESET). */
  closeUnknownOutbound(): void {
    for (const n of this.byId.values())
      if (n.conn.direction === 'out' && !this.c.hostCache.has(n.address)) n.conn.close('no longer a known peer');
  }

  /** Close every link (the peer is quitting). */
  closeAll(reason: string): void {
    for (const n of this.byId.values()) n.conn.close(reason);
  }

  /** An inbound neighbour hello: admit it within the caps. */
  accept(socket: net.Socket, decoder: FrameDecoder, hello: Hello): void {
    const ip = normalizeHost(socket.remoteAddress ?? '');
    const inbound = this.all().filter((n) => n.conn.direction === 'in');
    const conn = new V2Connection(socket, decoder, hello, 'in', this.tuning.connection);
    if (inbound.length >= this.tuning.maxInboundNeighbours) return this.refuse(conn, 'inbound neighbour limit');
    // Per IP, IPv6 per /64 (as the listener counts).
    const key = limitKey(ip);
    if (inbound.filter((n) => limitKey(n.conn.remoteHost) === key).length >= this.tuning.maxInboundNeighboursPerIp)
      return this.refuse(conn, 'per-IP neighbour limit');
    // An inbound link says where it listens; a known address pinned to another ID is not this peer's to claim.
    const pinned = this.c.hostCache.pinnedId({ host: ip, port: hello.port });
    if (pinned && pinned !== hello.peerId) {
      this.c.stats.drop('address pinned to another ID');
      this.c.log.warn(
        `refused neighbour: expected peer ${pinned} at ${formatAddress({ host: ip, port: hello.port })}, but it presented ${hello.peerId}`,
      );
      return conn.close('address pinned to another ID');
    }
    this.add(conn, { host: ip, port: hello.port });
  }

  private refuse(conn: V2Connection, reason: string): void {
    this.c.stats.drop(reason);
    this.c.log.warn(`refused neighbour ${conn.remoteHost}: ${reason}`);
    conn.close(reason);
  }

  private async dial(p: PeerAddress): Promise<void> {
    const key = addressKey(p);
    this.dialing.add(key);
    try {
      const link = await dialSecureV2(p, this.self.identity(), this.self.hello('neighbour'), {
        expectedId: this.c.hostCache.pinnedId(p),
        timeoutMs: this.tuning.handshakeTimeoutMs,
        maxFrame: this.tuning.connection.maxFrame,
      });
      if (link === 'v1') {
        this.c.hostCache.setProtocol(p, 'v1');
        this.c.log.info(`${formatAddress(p)} speaks v1 (seed peer, unencrypted)`);
        this.hooks.changed();
        return;
      }
      this.c.hostCache.setProtocol(p, 'v2');
      if (this.c.hostCache.pin(p, link.remoteId) === 'pinned') this.hooks.changed();
      this.backoff.delete(key);
      this.add(new V2Connection(link.socket, link.decoder, link.remote, 'out', this.tuning.connection), { host: p.host, port: p.port });
    } catch (e) {
      const prev = this.backoff.get(key)?.delay ?? 500;
      const delay = Math.min(prev * 2, 60_000);
      this.backoff.set(key, { until: this.c.clock.now() + delay, delay });
      if (e instanceof PeerIdMismatchError) {
        // Another key at a pinned address: refused until the user changes the entry. Said once per refusal, loudly.
        const first = this.c.hostCache.get(p)?.refused === undefined;
        this.c.hostCache.refuse(p, e.actual);
        if (first) this.c.log.warn(`refused ${formatAddress(p)}: ${e.message}`);
        this.hooks.changed();
      } else this.c.log.info(`cannot reach ${formatAddress(p)}: ${(e as Error).message}`);
    } finally {
      this.dialing.delete(key);
    }
  }

  private add(conn: V2Connection, address: PeerAddress): void {
    const remoteId = conn.remote.peerId;
    if (remoteId === this.self.id()) {
      this.self.markSelf(address);
      conn.close('connected to self', false);
      return;
    }
    if (!this.keepNew(conn, remoteId)) {
      conn.close('duplicate connection', false);
      return;
    }
    const n: Neighbour = { conn, address, duplicates: 0, messages: 0, added: this.c.clock.now() };
    this.byId.set(remoteId, n);
    conn.events.on('message', (m) => this.hooks.message(n, m));
    conn.events.on('dropped', ({ type, reason }) => this.c.stats.drop(`${reason} (${type})`));
    conn.events.once('close', ({ reason }) => this.onClose(n, reason));
    this.c.log.info(`neighbour ${formatAddress(address)} connected (${conn.direction})`);
    this.hooks.changed();
  }

  /**
   * A second link to a peer we are linked with. A hello can claim any ID (until
   * TLS makes IDs unforgeable), so an established link stays: a claim alone
   * displaces nothing. Only when both peers dial each other at once (the same
   * host, the first link still young) the link opened by the smaller ID is kept,
   * on both sides alike. Returns false if the new link should go.
   */
  private keepNew(conn: V2Connection, remoteId: string): boolean {
    const existing = this.byId.get(remoteId);
    if (!existing) return true;
    const simultaneous = existing.conn.remoteHost === conn.remoteHost && this.c.clock.now() - existing.added < this.tuning.duplicateGraceMs;
    if (!simultaneous) {
      this.c.stats.drop('second link claiming a linked peer ID');
      return false;
    }
    const initiator = (c: V2Connection) => (c.direction === 'out' ? this.self.id() : remoteId);
    const keeper = this.self.id() < remoteId ? this.self.id() : remoteId;
    if (initiator(existing.conn) === keeper || initiator(conn) !== keeper) return false;
    existing.conn.events.emit('close', { reason: 'replaced' });
    existing.conn.close('duplicate connection', false);
    return true;
  }

  private onClose(n: Neighbour, reason: string): void {
    const live = this.self.isLive();
    const remoteId = n.conn.remote.peerId;
    // Counted by kind (the text before any detail), so STATS stays a short list.
    if (reason !== 'replaced' && live) this.c.stats.drop(`neighbour closed: ${reason.split(/[:(]/)[0]!.trim()}`);
    if (this.byId.get(remoteId) === n) this.byId.delete(remoteId);
    this.hooks.closed(n);
    if (reason === 'replaced') return;
    if (live) this.c.log.info(`neighbour ${formatAddress(n.address)} left: ${reason}`);
    const known = this.c.hostCache.get(n.address);
    this.c.events.emit('peer:lost', {
      host: n.address.host,
      port: n.address.port,
      protocol: 'v2',
      source: known?.source ?? 'discovered',
      connected: false,
    });
    this.hooks.changed();
    // A lost neighbour may be replaced by another known peer.
    if (live) setTimeout(() => this.maintain(), 50).unref();
  }
}
