/**
 * The peer's reach, in one part: starts the enabled ways of being found (LAN
 * discovery, port mapping, DHT rendezvous), keeps the reachability verdict,
 * and reports what it found as events. Each way is off unless its switch is
 * on; with every switch off, nothing is sent at all.
 */
import type { ReachSettings } from '../../../shared/types.js';
import { silentLogger, type Logger } from '../logger.js';
import { TypedEmitter } from '../typed-emitter.js';
import { DhtRendezvous, type DhtPeer } from './dht-rendezvous.js';
import { LanDiscovery, type LanPeer } from './lan-discovery.js';
import { PortMapper, type MappingAttempt, type PortMapping } from './port-mapping.js';
import { ReachabilityTracker, type DialBackResult, type ReachabilityVerdict } from './reachability.js';

/** The switches: what the user turned on (settings and flags). */
export type { ReachSettings };

/**
 * The public Mainline DHT routers, used only when the DHT is on and the user
 * gave no bootstrap list: the desktop app's default. Tests and benches always
 * pass their own list.
 */
const PUBLIC_DHT_BOOTSTRAP = ['router.bittorrent.com:6881', 'router.utorrent.com:6881', 'dht.transmissionbt.com:6881'];

/** What the doctor reads: the state of every way of being found. */
export interface ReachSnapshot {
  settings: ReachSettings;
  port: number;
  lan: { peers: LanPeer[]; runningMs: number; firstPeerMs: number | null } | null;
  mapping: { current: PortMapping | null; attempts: MappingAttempt[] } | null;
  reachability: ReachabilityVerdict;
  dht: { nodes: number; peers: DhtPeer[]; network: string; bootstrap: string[]; error?: string } | null;
  relays: string[];
}

/** Events of a {@link ReachService}. */
interface ReachEvents {
  /** A peer on the LAN: it belongs in the known-peer list. */
  nearby: LanPeer;
  'nearby-lost': LanPeer;
  /** A peer the DHT returned: it belongs in the host cache as "found online". */
  'found-online': DhtPeer;
  mapping: PortMapping | null;
  reachability: ReachabilityVerdict;
}

/** Options of a {@link ReachService}. */
interface ReachServiceOptions {
  peerId: string;
  /** Our v2 port (listening). */
  port: number;
  settings: ReachSettings;
  logger?: Logger;
  /** Neighbours that must agree on a dial-back (default 2). */
  confirmations?: number;
  /** Seams for the lab and tests: the parts' own options. */
  lanInterface?: string;
  dhtPort?: number;
  dhtRefreshMs?: number;
}

/** Starts and stops the enabled reach parts and keeps their state for the doctor. */
export class ReachService extends TypedEmitter<ReachEvents> {
  private readonly log: Logger;
  private lan: LanDiscovery | null = null;
  private mapper: PortMapper | null = null;
  private dht: DhtRendezvous | null = null;
  private dhtError: string | undefined;
  private readonly tracker: ReachabilityTracker;
  private startedAt = 0;

  constructor(private readonly opts: ReachServiceOptions) {
    super();
    this.log = opts.logger ?? silentLogger;
    this.tracker = new ReachabilityTracker({ confirmations: opts.confirmations });
    this.tracker.on('changed', (v) => this.emit('reachability', v));
  }

  /**
   * Start what is switched on. The mapping comes first, so the DHT announces
   * the port others can reach. A part that fails is logged and reported by the
   * doctor; it never stops the peer.
   */
  async start(): Promise<void> {
    const { settings: s, port, peerId } = this.opts;
    this.startedAt = Date.now();
    if (s.lan) {
      const lan = new LanDiscovery({ peerId, port, interfaceAddress: this.opts.lanInterface, logger: this.log });
      lan.on('found', (p) => this.emit('nearby', p));
      lan.on('lost', (p) => this.emit('nearby-lost', p));
      this.lan = lan;
      await lan.start().catch((err: Error) => this.log.warn(`LAN discovery failed to start: ${err.message}`));
    }
    if (s.upnp) {
      const mapper = new PortMapper({ port, logger: this.log });
      this.mapper = mapper;
      const apply = (m: PortMapping | null) => {
        this.tracker.setMapping(m);
        this.emit('mapping', m);
      };
      mapper.on('renewed', apply);
      apply(await mapper.start());
    }
    if (s.dht) await this.startDht();
  }

  private async startDht(): Promise<void> {
    const { settings: s } = this.opts;
    const mapped = this.mapper?.current();
    const dht = new DhtRendezvous({
      bootstrap: s.dhtBootstrap.length ? s.dhtBootstrap : PUBLIC_DHT_BOOTSTRAP,
      networkName: s.networkName,
      announcePort: mapped?.externalPort ?? this.opts.port,
      dhtPort: this.opts.dhtPort,
      refreshMs: this.opts.dhtRefreshMs,
      logger: this.log,
    });
    dht.on('peer', (p) => this.emit('found-online', p));
    this.dht = dht;
    try {
      await dht.start();
    } catch (err) {
      this.dhtError = (err as Error).message;
      this.log.warn(`DHT failed to start: ${this.dhtError}`);
    }
  }

  /** The TCP port we announce on the DHT: the mapped external one when mapped. */
  announcedPort(): number {
    return this.mapper?.current()?.externalPort ?? this.opts.port;
  }

  /**
   * Whether a DHT find is our own announcement: our port at one of our own
   * addresses (an interface, or the mapping's external one). Behind a NAT
   * without a mapping our public address is unknown, and the peer's handshake
   * (our own ID) is what recognises it.
   */
  isOwnAnnouncement(host: string, port: number, localAddresses: readonly string[]): boolean {
    if (port !== this.announcedPort()) return false;
    return localAddresses.includes(host) || host === this.mapper?.current()?.externalHost;
  }

  /** A neighbour dialled one of our addresses back. */
  addDialBack(result: DialBackResult): ReachabilityVerdict {
    return this.tracker.add(result);
  }

  /** The verdict now. */
  reachability(): ReachabilityVerdict {
    return this.tracker.verdict();
  }

  /** The address to put in pongs and hits (the mapped one when mapped), and whether we are firewalled. */
  advertised(): { host: string; port: number; firewalled: boolean } | null {
    const v = this.tracker.verdict();
    if (v.address) return { ...v.address, firewalled: false };
    const m = this.mapper?.current();
    if (m) return { host: m.externalHost, port: m.externalPort, firewalled: v.state === 'firewalled' };
    return v.state === 'firewalled' ? { host: '', port: this.opts.port, firewalled: true } : null;
  }

  /** The state of every part, for the doctor. */
  snapshot(): ReachSnapshot {
    return {
      settings: this.opts.settings,
      port: this.opts.port,
      lan: this.lan ? { peers: this.lan.peers(), runningMs: Date.now() - this.startedAt, firstPeerMs: this.lan.timeToFirstPeerMs() } : null,
      mapping: this.mapper ? { current: this.mapper.current(), attempts: this.mapper.attempts() } : null,
      reachability: this.tracker.verdict(),
      dht: this.dht
        ? {
            nodes: this.dht.nodeCount(),
            peers: this.dht.peers(),
            network: this.opts.settings.networkName,
            bootstrap: this.opts.settings.dhtBootstrap.length ? this.opts.settings.dhtBootstrap : PUBLIC_DHT_BOOTSTRAP,
            error: this.dhtError,
          }
        : null,
      relays: [],
    };
  }

  /** Stop every part: say goodbye on the LAN, remove the mapping, close the DHT. */
  async stop(): Promise<void> {
    const parts = [this.lan, this.mapper, this.dht];
    this.lan = this.mapper = this.dht = null;
    await Promise.all(parts.map((p) => p?.stop().catch((err: Error) => this.log.warn(`reach: ${err.message}`))));
  }
}
