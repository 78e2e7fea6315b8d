import crypto from 'node:crypto';
import { isSafeNetworkName, type MediaType, type PeerAddress } from '../../../shared/types.js';
import { formatAddress, isBogonTarget, isLocalNetworkHost, isUnspecified } from '../address.js';
import type { PeerComponents, PeerSelf } from '../components.js';
import { KeywordQuery } from '../search-match.js';
import { BoundedTable } from '../seen-table.js';
import type { PeerTuning } from '../tuning.js';
import type { V2Connection } from '../v2/connection.js';
import { HOPS_TTL_LIMIT, TTL_CAP, type V2Message, type V2Of } from '../v2/messages.js';
import type { Neighbour } from './neighbours.js';

type Route = V2Connection | 'self';

const MAX_HITS_PER_QUERY = 64;

/** A fresh 128-bit message or peer id, as hex. */
export function newId(): string {
  return crypto.randomBytes(16).toString('hex');
}

/** A TTL from a user: a whole number from 1, trimmed to the cap. */
export function clampTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 1) throw new Error(`bad TTL ${ttl}: expected a whole number from 1 to ${TTL_CAP}`);
  return Math.min(ttl, TTL_CAP);
}

/** What the router needs from the rest of the peer. */
export interface RouterHooks {
  neighbours(): Neighbour[];
  isConnected(a: PeerAddress): boolean;
  /** A pong named a peer worth knowing: top up the neighbours. */
  found(): void;
  /** The reachability check's messages (reach/dial-back.ts). */
  dialBack?: { onDialMe(n: Neighbour, m: V2Of<'dial-me'>): void; onDialed(n: Neighbour, m: V2Of<'dialed'>): void };
  /** A push request addressed to us (reach/push.ts). */
  pushed?(m: V2Of<'push'>): void;
  /** A neighbour relays for a downloader and calls us (reach/relay.ts). */
  relayCall?(n: Neighbour, m: V2Of<'relay-call'>): void;
}

type Components = Pick<PeerComponents, 'hostCache' | 'library' | 'clock' | 'log' | 'stats' | 'events'>;

/**
 * v2 flooding: queries and pings go to every neighbour once (duplicates
 * suppressed, TTL capped), answers go back along the path the request came.
 */
export class FloodRouter {
  private readonly seen: BoundedTable<true>;
  private readonly routes: BoundedTable<Route>;
  /** The link each responder's hits and pongs came on: where a push for it goes (Gnutella's push routing). */
  private readonly responders: BoundedTable<V2Connection>;

  constructor(
    private readonly c: Components,
    private readonly self: PeerSelf,
    tuning: Pick<PeerTuning, 'seenEntries' | 'seenTtlMs'>,
    private readonly hooks: RouterHooks,
  ) {
    const now = () => c.clock.now();
    this.seen = new BoundedTable(tuning.seenEntries, tuning.seenTtlMs, now);
    this.routes = new BoundedTable(tuning.seenEntries, tuning.seenTtlMs, now);
    this.responders = new BoundedTable(tuning.seenEntries, tuning.seenTtlMs, now);
  }

  /** Send a push of our own toward its target; false when no path to it is known. */
  push(m: V2Of<'push'>): boolean {
    this.seen.set(`push:${m.id}`, true);
    return this.forwardPush(m);
  }

  private forwardPush(m: V2Of<'push'>): boolean {
    const direct = this.hooks.neighbours().find((n) => n.conn.remote.peerId === m.target)?.conn;
    const route = direct ?? this.responders.get(m.target);
    if (!route?.isOpen) return false;
    if (route.send(m)) this.c.stats.out(m.t);
    return true;
  }

  private onPush(m: V2Of<'push'>): void {
    if (!this.seen.add(`push:${m.id}`, true)) return this.c.stats.duplicate();
    if (m.target === this.self.id()) return this.hooks.pushed?.(m);
    if (m.ttl === 0) return this.c.stats.drop('ttl 0');
    if (!this.forwardPush({ ...m, ttl: Math.min(m.ttl, TTL_CAP) - 1, hops: Math.min(255, m.hops + 1) }))
      this.c.stats.drop('push without route');
  }

  /** Start a search of our own; returns its id. */
  search(id: string, query: string, ttl: number, type?: MediaType): void {
    this.originate(`query:${id}`, { t: 'query', id, ttl, hops: 0, q: query.slice(0, 256), ...(type ? { type } : {}) });
  }

  /** Start a discovery of our own. */
  discover(id: string, ttl: number): void {
    this.originate(`ping:${id}`, { t: 'ping', id, ttl, hops: 0 });
  }

  /** A neighbour left: its routes go with it. */
  forget(conn: V2Connection): void {
    this.routes.deleteWhere((r) => r === conn);
  }

  /** A message from a neighbour. */
  onMessage(n: Neighbour, m: V2Message): void {
    this.c.stats.in(m.t);
    n.messages++;
    switch (m.t) {
      case 'query':
      case 'ping':
        return this.onFlood(n, m);
      case 'hit':
      case 'pong':
        this.responders.set(m.peer.peerId, n.conn);
        return this.onReply(m);
      case 'push':
        return this.onPush(m);
      case 'relay-call':
        return this.hooks.relayCall?.(n, m);
      case 'dial-me':
        return this.hooks.dialBack?.onDialMe(n, m);
      case 'dialed':
        return this.hooks.dialBack?.onDialed(n, m);
      default:
        this.c.stats.drop(`unexpected ${m.t}`);
    }
  }

  private originate(key: string, msg: V2Of<'query'> | V2Of<'ping'>): void {
    this.seen.set(key, true);
    this.routes.set(key, 'self');
    for (const n of this.hooks.neighbours()) this.sendTo(n, msg);
  }

  private sendTo(n: Neighbour, m: V2Message): void {
    if (n.conn.send(m)) this.c.stats.out(m.t);
  }

  /** A query or ping: suppress duplicates, answer, and forward once to the other neighbours. */
  private onFlood(n: Neighbour, m: V2Of<'query'> | V2Of<'ping'>): void {
    const key = `${m.t}:${m.id}`;
    if (!this.seen.add(key, true)) {
      this.c.stats.duplicate();
      n.duplicates++;
      // gtk-gnutella's rule: more than 5 duplicates making up over 1.5% of a neighbour's traffic.
      if (n.duplicates > 5 && n.duplicates / n.messages > 0.015 && n.messages > 20) {
        n.conn.close(`too many duplicates (${n.duplicates} of ${n.messages} messages)`);
      }
      return;
    }
    if (m.ttl === 0) return this.c.stats.drop('ttl 0');
    const ttl = Math.min(m.ttl, TTL_CAP);
    if (m.hops + ttl > HOPS_TTL_LIMIT) return this.c.stats.drop('hops+ttl over limit');
    this.routes.set(key, n.conn);
    this.answer(n, m);
    if (ttl - 1 <= 0) return;
    const fwd = { ...m, ttl: ttl - 1, hops: m.hops + 1 };
    for (const other of this.hooks.neighbours()) if (other !== n) this.sendTo(other, fwd);
  }

  private answer(n: Neighbour, m: V2Of<'query'> | V2Of<'ping'>): void {
    const me = this.advertised(n.conn, m.hops);
    const library = this.c.library();
    if (m.t === 'query') {
      const q = new KeywordQuery(m.q, m.type);
      const files = library
        .search(q, MAX_HITS_PER_QUERY)
        // A name the network refuses would cost us the link; such files are not announced.
        .filter((f) => isSafeNetworkName(f.name))
        .map((f) => ({ name: f.name, size: f.size, type: f.type, sha256: f.sha256 }));
      if (files.length) this.sendTo(n, { t: 'hit', id: m.id, hops: 0, peer: me, files });
    } else {
      this.sendTo(n, { t: 'pong', id: m.id, hops: 0, peer: me, files: library.size, bytes: library.totalBytes() });
    }
  }

  /** A hit or pong goes back along the path its request came, never to an address it names. */
  private onReply(m: V2Of<'hit'> | V2Of<'pong'>): void {
    // The schema made the host a literal address; one no peer can be at is dropped here.
    if (isBogonTarget(m.peer.host)) return this.c.stats.drop('reply naming a bogon address');
    const reqType = m.t === 'hit' ? 'query' : 'ping';
    const route = this.routes.get(`${reqType}:${m.id}`);
    if (!route) return this.c.stats.drop('reply without route');
    if (route !== 'self') {
      if (!route.isOpen) return this.c.stats.drop('route gone');
      if (route.send({ ...m, hops: Math.min(255, m.hops + 1) })) this.c.stats.out(m.t);
      return;
    }
    if (m.t === 'hit') return this.onOwnHit(m);
    this.onOwnPong(m);
  }

  private onOwnHit(m: V2Of<'hit'>): void {
    for (const f of m.files) {
      this.c.events.emit('search:hit', {
        searchId: m.id,
        // The responder's ID: a download from this hit requires it (a forged hit gets no further than TLS).
        peer: { host: m.peer.host, port: m.peer.port, id: m.peer.peerId },
        ...(m.peer.fw ? { firewalled: true } : {}),
        protocol: 'v2',
        name: f.name,
        size: f.size,
        type: f.type,
        sha256: f.sha256,
        hops: m.hops + 1,
      });
    }
  }

  private onOwnPong(m: V2Of<'pong'>): void {
    const addr = { host: m.peer.host, port: m.peer.port };
    if (m.peer.peerId === this.self.id() || this.self.isSelf(addr)) return;
    const { entry, added } = this.c.hostCache.add(addr, 'discovered', { protocol: 'v2', files: m.files, bytes: m.bytes });
    if (added) this.c.log.info(`discovered ${formatAddress(addr)} (${m.files} files, ${m.hops + 1} hops)`);
    this.c.events.emit('peer:found', { ...entry, connected: this.hooks.isConnected(addr) });
    this.hooks.found();
  }

  /**
   * Our address for a reply: the configured host, or the address the neighbour's connection reached. But when
   * the internet reaches us at a public address (a port mapping) and the asker may be beyond our network (the
   * request came from farther away, or this neighbour is not on a local network), that address: a private one
   * would name some other machine in the asker's home.
   */
  private advertised(conn: V2Connection, hops: number): { host: string; port: number; peerId: string; fw?: boolean } {
    const fw = this.self.firewalled?.() ? { fw: true } : {};
    const pub = this.self.publicAddress?.();
    if (pub && (hops > 0 || !isLocalNetworkHost(conn.remoteHost))) return { host: pub.host, port: pub.port, peerId: this.self.id(), ...fw };
    const bound = this.self.boundHost();
    const host = isUnspecified(bound) ? conn.localHost : bound;
    return { host, port: this.self.port(), peerId: this.self.id(), ...fw };
  }
}
