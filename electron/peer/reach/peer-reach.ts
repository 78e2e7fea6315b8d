/**
 * The peer's side of reach: start the ReachService when a switch is on, put
 * nearby LAN peers in the known-peer list (pinned to the ID they announce:
 * the TLS handshake must then prove it) and DHT finds in the host cache as
 * "found online", check reachability with neighbours (dial-back), push for
 * downloaders when we are firewalled, and answer the doctor.
 */
import type net from 'node:net';
import os from 'node:os';
import type { PeerAddress, ReachSettings } from '../../../shared/types.js';
import type { HostCache } from '../host-cache.js';
import { isPeerId } from '../identity/peer-id.js';
import type { Logger } from '../logger.js';
import type { PeerIdentity } from '../identity/identity.js';
import type { RouterHooks } from '../overlay/flood-router.js';
import type { Neighbour } from '../overlay/neighbours.js';
import type { RoutedLink, SourceDialer } from '../transfers/v2-source.js';
import type { Hello } from '../v2/connection.js';
import type { FrameDecoder } from '../v2/frame.js';
import { DialBack } from './dial-back.js';
import { diagnose, type DoctorReport } from './doctor.js';
import { ReachService } from './reach-service.js';
import { PushBroker, type PushDeps } from './push.js';
import { RelayService, type RelayDeps } from './relay.js';
import { probeTcp } from './reachability.js';

/** What the peer hands to its reach. */
interface PeerReachDeps {
  peerId: string;
  /** Where we listen, as bound. */
  bound: PeerAddress;
  settings: ReachSettings;
  hostCache: HostCache;
  log: Logger;
  isSelf(a: PeerAddress): boolean;
  /** The known-peer list changed: tell the front ends and dial. */
  changed(): void;
  /** What PUSH needs: our identity and hello, the overlay route, the upload server. */
  identity(): PeerIdentity;
  hello: PushDeps['hello'];
  route: PushDeps['route'];
  serveTransfer: PushDeps['serveTransfer'];
  newId(): string;
  /** What relaying needs: our neighbour links, and where an inner relayed link goes. */
  neighbours: RelayDeps['neighbours'];
  acceptInner: RelayDeps['acceptInner'];
}

/** The overlay's hooks for the dial-back and push messages; `reach()` is undefined until the peer listens. */
export function reachRouterHooks(reach: () => PeerReach | undefined): Pick<RouterHooks, 'dialBack' | 'pushed' | 'relayCall'> {
  return {
    relayCall: (n, m) => void reach()?.relay.onRelayCall(n, m),
    dialBack: { onDialMe: (n, m) => void reach()?.dialBack.onDialMe(n.conn, m), onDialed: (n, m) => reach()?.dialBack.onDialed(n.conn, m) },
    pushed: (m) => void reach()?.push.onPush(m),
  };
}

/** PUSH for the downloads: ask a source that cannot be dialled to dial us. */
export function reachTransferPush(reach: () => PeerReach | undefined): NonNullable<SourceDialer['push']> {
  return {
    idAt: (a) => reach()?.push.idAt(a),
    request: (s, signal) => reach()?.reachSource(s, signal) ?? Promise.reject(new Error('the peer is not started')),
  };
}

/** True when any way of being found is switched on (then the peer also checks reachability and pushes). */
export function reachOn(s: ReachSettings): boolean {
  return s.lan || s.upnp || s.dht;
}

/** The reach of one peer: created at start (with every switch off it sends nothing), stopped at quit. */
export class PeerReach {
  readonly service: ReachService;
  /** The reachability check: answered for neighbours always, asked of them only when a reach switch is on. */
  readonly dialBack: DialBack;
  /** PUSH for firewalled sources (both sides). */
  readonly push: PushBroker;
  /** Relaying for two firewalled peers (all three roles). */
  readonly relay: RelayService;

  constructor(private readonly deps: PeerReachDeps) {
    this.service = new ReachService({ peerId: deps.peerId, port: deps.bound.port, settings: deps.settings, logger: deps.log });
    this.service.on('nearby', (p) => {
      // The TXT record is anyone's to write: only a well-formed ID is pinned, and the handshake must prove it.
      if (!isPeerId(p.id) || p.id === deps.peerId) return;
      this.add({ host: p.host, port: p.port, id: p.id }, 'nearby');
    });
    this.dialBack = new DialBack({ log: deps.log, probe: probeTcp, result: (r) => this.service.addDialBack(r) });
    this.push = new PushBroker({
      ...deps,
      self: () => ({ id: deps.peerId, reachable: this.publicAddress() }),
    });
    this.relay = new RelayService({ ...deps, enabled: () => deps.settings.relay });
    this.service.on('reachability', (v) => deps.log.info(`reachability: ${v.state} (${v.reason})`));
    this.service.on('found-online', (p) => {
      if (!this.service.isOwnAnnouncement(p.host, p.port, localInterfaces())) this.add({ host: p.host, port: p.port }, 'online');
    });
  }

  private add(addr: PeerAddress & { id?: string }, source: 'nearby' | 'online'): void {
    if (this.deps.isSelf(addr)) return;
    const { added } = this.deps.hostCache.add(addr, source);
    if (added) {
      this.deps.log.info(`${source === 'nearby' ? 'nearby peer' : 'found online'}: ${addr.host}:${addr.port}`);
      this.deps.changed();
    }
  }

  start(): Promise<void> {
    return this.service.start();
  }

  stop(): Promise<void> {
    return this.service.stop();
  }

  /** A source that cannot be dialled: ask it to push when we are reachable, else go through a relay. */
  async reachSource(source: PeerAddress & { id: string }, signal: AbortSignal): Promise<RoutedLink> {
    if (this.publicAddress()) return { ...(await this.push.request(source, signal)), route: { kind: 'push' } };
    const link = await this.relay.open(source, signal);
    return { ...link, route: { kind: 'relay', via: link.via } };
  }

  /** An inbound link for reach: a push (a source we asked), or a relay link. */
  onLink(socket: net.Socket, decoder: FrameDecoder, hello: Hello, remoteId: string): void {
    if (hello.role === 'push') return this.push.onPushLink(socket, decoder, hello, remoteId);
    void this.relay.onRelayLink(socket, decoder, remoteId);
  }

  /** Ask each neighbour beyond our network, once per link, to dial us back (when a reach switch is on). */
  askDialBack(neighbours: readonly Neighbour[]): void {
    if (!reachOn(this.deps.settings)) return;
    for (const n of neighbours) this.dialBack.ask(n.conn, this.service.announcedPort());
  }

  /** True when neighbours could not dial us back. */
  firewalled(): boolean {
    return this.service.reachability().state === 'firewalled';
  }

  /** Where the internet reaches us: the confirmed address, else the port mapping's external one. */
  publicAddress(): PeerAddress | null {
    const a = this.service.advertised();
    return a && a.host && !a.firewalled ? { host: a.host, port: a.port } : null;
  }

  /** The network doctor's report now. */
  doctor(): DoctorReport {
    const { host, port } = this.deps.bound;
    return diagnose({ ...this.service.snapshot(), relays: [...this.relay.used] }, { host, port, interfaces: localInterfaces() });
  }
}

function localInterfaces(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i && i.family === 'IPv4' && !i.internal)
    .map((i) => i!.address);
}
