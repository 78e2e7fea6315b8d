/**
 * Internet rendezvous with no server of ours: the BitTorrent Mainline DHT
 * (bittorrent-dht, as WebTorrent uses). Every peer of a network announces its
 * port under one infohash derived from the network's name and looks the same
 * infohash up; the DHT returns the announcers' addresses.
 *
 * The bootstrap list is always explicit: bittorrent-dht falls back to the
 * public routers when it is left out, which tests and labs must never reach.
 */
import crypto from 'node:crypto';
import DHT from 'bittorrent-dht';
import { isBogonTarget, parseHostPort } from '../address.js';
import { silentLogger, type Logger } from '../logger.js';
import { TypedEmitter } from '../typed-emitter.js';
import { DEFAULT_NETWORK_NAME } from './reach-options.js';

/** The 20-byte infohash a network's peers announce under. */
export function networkInfoHash(name: string): Buffer {
  return crypto.createHash('sha1').update(`mactella rendezvous v1\n${name}`).digest();
}

/** A peer address the DHT returned. */
export interface DhtPeer {
  host: string;
  port: number;
  /** When it was first returned (ms since the epoch). */
  foundAt: number;
}

/** Events of a {@link DhtRendezvous}. */
interface DhtRendezvousEvents {
  /** The routing table was filled from the bootstrap nodes. */
  ready: { nodes: number };
  peer: DhtPeer;
  announced: { port: number };
}

/** Options of a {@link DhtRendezvous}. */
interface DhtRendezvousOptions {
  /** `HOST:PORT` of the DHT nodes to start from. Required; an empty list makes this node a bootstrap node itself. */
  bootstrap: readonly string[];
  /** The network's name (default "mactella"); a private name means only those who know it meet. */
  networkName?: string;
  /** The TCP port to announce (the v2 port, or the mapped external one). 0: announce nothing, only look up. */
  announcePort: number;
  /** The DHT's own UDP port (default 0: any free port). */
  dhtPort?: number;
  /** The UDP address to bind (default all). */
  bindHost?: string;
  /** Announce and look up again this often (default 5 min; the DHT forgets an announcement after about 30). */
  refreshMs?: number;
  /** The first re-lookups after start (default 5 s, 15 s, 45 s), before the steady pace. */
  earlyRefreshMs?: number[];
  /** At most this many peers are kept (default 1000). */
  maxPeers?: number;
  logger?: Logger;
}

/** Announces this peer under a network name on the DHT and reports the other peers found there. */
export class DhtRendezvous extends TypedEmitter<DhtRendezvousEvents> {
  private readonly log: Logger;
  private readonly infoHash: Buffer;
  private readonly bootstrap: { host: string; port: number }[];
  private dht: DHT | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly found = new Map<string, DhtPeer>();

  constructor(private readonly opts: DhtRendezvousOptions) {
    super();
    if (!Array.isArray(opts.bootstrap)) throw new Error('DHT rendezvous: an explicit bootstrap list is required');
    this.bootstrap = opts.bootstrap.map((b) => parseHostPort(b));
    this.infoHash = networkInfoHash(opts.networkName ?? DEFAULT_NETWORK_NAME);
    this.log = opts.logger ?? silentLogger;
  }

  /** The network's infohash, hex. */
  get infoHashHex(): string {
    return this.infoHash.toString('hex');
  }

  /** The DHT's UDP port, once started. */
  get dhtPort(): number | null {
    return this.dht?.listening ? this.dht.address().port : null;
  }

  /** Nodes in the routing table. */
  nodeCount(): number {
    return this.dht?.nodes.count() ?? 0;
  }

  /** Peers found so far. */
  peers(): DhtPeer[] {
    return [...this.found.values()];
  }

  /** Bind the UDP socket and fill the routing table from the bootstrap nodes; then announce and look up. */
  async start(): Promise<void> {
    if (this.dht) return;
    const dht = new DHT({ bootstrap: this.bootstrap.length ? this.bootstrap : false, maxPeers: 10_000 });
    this.dht = dht;
    dht.on('warning', (err: Error) => this.log.warn(`DHT: ${err.message}`));
    dht.on('error', (err: Error) => this.log.error(`DHT: ${err.message}`));
    dht.on('peer', (peer: { host: string; port: number }, infoHash: Buffer) => this.onPeer(peer, infoHash));
    const ready = new Promise<void>((resolve) => dht.once('ready', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      dht.once('error', reject);
      dht.listen(this.opts.dhtPort ?? 0, this.opts.bindHost, () => {
        dht.off('error', reject);
        resolve();
      });
    });
    await ready;
    this.log.info(`DHT: listening on UDP ${dht.address().port}, ${dht.nodes.count()} nodes, network ${this.infoHashHex.slice(0, 8)}`);
    this.emit('ready', { nodes: dht.nodes.count() });
    if (this.bootstrap.length) void this.refresh();
    this.scheduleRefresh(0);
  }

  /** Peers that start together miss each other's first announcement: look again soon, then at the steady pace. */
  private scheduleRefresh(round: number): void {
    const early = this.opts.earlyRefreshMs ?? [5_000, 15_000, 45_000];
    const delay = round < early.length ? early[round]! : (this.opts.refreshMs ?? 5 * 60_000);
    this.timer = setTimeout(() => {
      if (!this.dht) return;
      void this.refresh().finally(() => {
        if (this.dht) this.scheduleRefresh(round + 1);
      });
    }, delay);
    this.timer.unref();
  }

  private onPeer(peer: { host: string; port: number }, infoHash: Buffer): void {
    if (!infoHash.equals(this.infoHash)) return;
    if (!Number.isInteger(peer.port) || peer.port < 1 || isBogonTarget(peer.host)) return;
    const key = `${peer.host}:${peer.port}`;
    if (this.found.has(key) || this.found.size >= (this.opts.maxPeers ?? 1000)) return;
    const found = { host: peer.host, port: peer.port, foundAt: Date.now() };
    this.found.set(key, found);
    this.emit('peer', found);
  }

  /** Announce (when there is a port to announce) and look up once; errors are logged, not thrown. */
  async refresh(): Promise<void> {
    try {
      if (this.opts.announcePort > 0) await this.announce();
      await this.lookup();
    } catch (err) {
      this.log.warn(`DHT: ${(err as Error).message}`);
    }
  }

  /** Announce our port under the network's infohash. */
  announce(): Promise<void> {
    const dht = this.requireDht();
    const port = this.opts.announcePort;
    return new Promise((resolve, reject) =>
      dht.announce(this.infoHash, port, (err) => {
        if (err) return reject(err);
        this.emit('announced', { port });
        resolve();
      }),
    );
  }

  /** Look the network up; peers arrive as `peer` events. Resolves with the peers known and the time taken. */
  lookup(): Promise<{ peers: DhtPeer[]; ms: number }> {
    const dht = this.requireDht();
    const t0 = performance.now();
    return new Promise((resolve, reject) =>
      dht.lookup(this.infoHash, (err) => (err ? reject(err) : resolve({ peers: this.peers(), ms: performance.now() - t0 }))),
    );
  }

  private requireDht(): DHT {
    if (!this.dht || this.dht.destroyed) throw new Error('DHT rendezvous is not running');
    return this.dht;
  }

  /** Close the UDP socket; announcements expire on their own in the DHT. */
  async stop(): Promise<void> {
    const dht = this.dht;
    if (!dht) return;
    this.dht = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await new Promise<void>((resolve) => dht.destroy(() => resolve()));
  }
}
