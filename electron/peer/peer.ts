import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { EVENT_NAMES, type EventPayloads } from '../../shared/contract.js';
import type {
  KnownPeer,
  LocalFile,
  MediaType,
  PeerAddress,
  PeersSnapshot,
  RemoteListing,
  Settings,
  Stats,
  TransferInfo,
} from '../../shared/types.js';
import { formatAddress, isUnspecified } from './address.js';
import { SelfAddresses, systemClock, type Clock, type PeerComponents, type PeerSelf } from './components.js';
import { HostCache } from './host-cache.js';
import { loadOrCreateIdentity, type PeerIdentity } from './identity/identity.js';
import { parsePeerId, parsePeerSpec } from './identity/peer-id.js';
import { tlsSelfCheck } from './identity/tls-link.js';
import { Library } from './library.js';
import { Lifecycle, startError, type PeerStatus } from './lifecycle.js';
import { Listener } from './listener.js';
import { callbackLogger, silentLogger, type Logger } from './logger.js';
import type { PeerOptions } from './options.js';
import { clampTtl, FloodRouter, newId } from './overlay/flood-router.js';
import { Neighbours } from './overlay/neighbours.js';
import { listRemote } from './overlay/remote-listing.js';
import { V1Gateway } from './overlay/v1-gateway.js';
import { V2Inbound } from './overlay/v2-inbound.js';
import type { DoctorReport } from './reach/doctor.js';
import { PeerReach, reachOn, reachRouterHooks, reachTransferPush } from './reach/peer-reach.js';
import { isRealPathInside } from './safe-path.js';
import { mergeSettingsPatch, optionsToSettings, saveSettings } from './settings-store.js';
import { ShareImporter } from './share-importer.js';
import { StatsCounter } from './stats.js';
import { StreamService } from './stream/stream-service.js';
import { TransferManager, type DownloadRequest } from './transfers/transfer-manager.js';
import { DEFAULT_TUNING, type PeerTuning } from './tuning.js';
import { TypedEmitter } from './typed-emitter.js';
import type { Hello } from './v2/connection.js';
import { PROTOCOL_VERSION } from './v2/messages.js';
import { acceptSecureV2 } from './v2/secure-v2.js';

export { DEFAULT_TUNING, type PeerTuning };

interface PeerDeps {
  logger?: Logger;
  tuning?: Partial<PeerTuning>;
  /** Time for the parts (backoff, rate limits, result windows); tests hand in a fake one. */
  clock?: Clock;
}

const AGENT = 'MacTella/0.1';

/**
 * THE peer: the place that builds its parts and wires them together: the
 * listener, the neighbour links, flood routing, the v1 gateway, the share
 * (library and imports), the known-peer list and the transfers. It exposes
 * operations as methods and one typed event stream; the CLI, the Electron IPC
 * and the web host are thin adapters over it.
 * (About 500 lines, over the 400 we aim for: it is the facade of some 35 operations,
 * each a short method, plus the wiring of every part; the logic lives in the parts.)
 */
export class Peer {
  readonly events = new TypedEmitter<EventPayloads>();
  readonly stats = new StatsCounter();
  readonly log: Logger;
  /** Our peer ID: derived from our key, the same on every start. */
  id = '';
  transfers!: TransferManager;
  private identity!: PeerIdentity;
  /** Play while it downloads: open streams, which the adapters read by id. */
  readonly streams = new StreamService({
    transfers: () => this.transfers,
    events: this.events,
    log: () => this.log,
  });
  private opts: PeerOptions;
  private readonly tuning: PeerTuning;
  private readonly clock: Clock;
  private readonly lifecycle = new Lifecycle();
  private library!: Library;
  private hostCache!: HostCache;
  private listener!: Listener;
  private bound: PeerAddress = { host: '', port: 0 };
  private readonly selfAddresses = new SelfAddresses();
  private readonly self: PeerSelf;
  private components!: PeerComponents;
  private neighbours!: Neighbours;
  private router!: FloodRouter;
  private v1!: V1Gateway;
  private importer!: ShareImporter;
  private dialTimer?: NodeJS.Timeout;
  /** LAN discovery, port mapping and DHT rendezvous, as switched on (nothing is sent when all are off). */
  private reach?: PeerReach;
  private statsTimer?: NodeJS.Timeout;
  private lastStatsKey = '';

  private constructor(opts: PeerOptions, deps: PeerDeps) {
    this.opts = { ...opts };
    this.tuning = { ...DEFAULT_TUNING, ...deps.tuning };
    this.clock = deps.clock ?? systemClock;
    this.log = callbackLogger((line) => this.events.emit('log', line), deps.logger ?? silentLogger);
    this.self = {
      id: () => this.id,
      identity: () => this.identity,
      port: () => this.bound.port,
      boundHost: () => this.bound.host,
      hello: (role) => this.hello(role),
      isSelf: (a) => this.selfAddresses.has(a),
      markSelf: (a) => this.selfAddresses.add(a),
      isLive: () => this.lifecycle.live,
      publicAddress: () => this.reach?.publicAddress() ?? null,
      firewalled: () => this.reach?.firewalled() ?? false,
    };
  }

  /**
   * Create and start a peer: index the folder, listen, and connect to known peers.
   * A start that fails undoes what it began and rejects with a one-line reason
   * (keeping the error's `code`, e.g. EADDRINUSE).
   */
  static async start(opts: PeerOptions, deps: PeerDeps = {}): Promise<Peer> {
    const p = new Peer(opts, deps);
    try {
      await p.init();
    } catch (e) {
      await p.lifecycle.failed(() => p.undoStart());
      throw startError(e);
    }
    p.lifecycle.running();
    return p;
  }

  /** The lifecycle: starting → running → quitting → stopped. */
  get status(): PeerStatus {
    return this.lifecycle.status;
  }

  private async init(): Promise<void> {
    const o = this.opts;
    await fs.promises.mkdir(o.dataDir, { recursive: true });
    await fs.promises.mkdir(o.downloadDir, { recursive: true });
    // A corrupt key stops the start (IdentityError): a silent new identity would break every pin on us.
    this.identity = await loadOrCreateIdentity(o.dataDir);
    this.id = this.identity.id;
    this.hostCache = new HostCache(path.join(o.dataDir, 'hosts.json'), o.bootstrap);
    await this.hostCache.load();
    this.library = this.createLibrary(o.sharedDir);
    await this.library.start(o.watch);
    this.transfers = this.createTransfers();
    await this.transfers.restore();
    this.listener = new Listener(
      {
        tls: (s, first) => void this.acceptTls(s, first),
        v1: (s, first, ended) => void this.v1.accept(s, first, ended),
        drop: (reason) => this.stats.drop(reason),
      },
      this.tuning.listener,
      this.log,
    );
    this.buildParts();
    this.bound = await this.listener.listen(o.port, o.host);
    this.opts.port = this.bound.port;
    this.selfAddresses.listening(this.bound, isUnspecified(this.bound.host));
    this.reach = this.createReach();
    await this.reach.start();
    this.dialTimer = setInterval(() => this.neighbours.maintain(), this.tuning.dialIntervalMs);
    this.dialTimer.unref();
    this.statsTimer = setInterval(() => this.publishStats(), 1000);
    this.statsTimer.unref();
    // Give the first dials a moment, so a command typed right after start reaches the network.
    const first = this.neighbours.maintain();
    await Promise.race([Promise.allSettled(first), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  private v2Inbound!: V2Inbound;

  /** Build the overlay parts on the components made so far. */
  private buildParts(): void {
    this.components = {
      listener: this.listener,
      hostCache: this.hostCache,
      library: () => this.library,
      transfers: this.transfers,
      clock: this.clock,
      log: this.log,
      stats: this.stats,
      events: this.events,
    };
    const c = this.components;
    const found = () => {
      this.emitPeersChanged();
      this.neighbours.maintain();
    };
    this.neighbours = new Neighbours(c, this.self, this.tuning, () => this.opts.neighbourCap, {
      message: (n, m) => this.router.onMessage(n, m),
      closed: (n) => this.router.forget(n.conn),
      changed: () => {
        this.emitPeersChanged();
        this.reach?.askDialBack(this.neighbours.all());
      },
    });
    const isConnected = (a: PeerAddress) => this.neighbours.isConnected(a);
    const reach = () => this.reach;
    this.events.on('search:hit', (h) => this.reach?.push.noteHit(h));
    this.router = new FloodRouter(c, this.self, this.tuning, {
      neighbours: () => this.neighbours.all(),
      isConnected,
      found,
      ...reachRouterHooks(reach),
    });
    this.v1 = new V1Gateway(c, this.self, this.tuning, { isConnected, found });
    this.v2Inbound = new V2Inbound(
      c,
      this.self,
      this.tuning,
      (s, d, h) => this.neighbours.accept(s, d, h),
      (s, d, h, id) => (this.reach ? this.reach.onLink(s, d, h, id) : s.destroy()),
    );
    this.importer = new ShareImporter({ ...c, reserved: () => this.transfers.downloads.reservedPaths });
  }

  private createTransfers(): TransferManager {
    const o = this.opts;
    return new TransferManager({
      library: this.library,
      downloadDir: () => this.opts.downloadDir,
      stats: this.stats,
      log: this.log,
      hello: () => this.hello('transfer'),
      identity: () => this.identity,
      pinnedId: (a) => this.hostCache.pinnedId(a),
      proved: (a, id) => void this.hostCache.pin(a, id),
      protocolOf: (a) => this.hostCache.get(a)?.protocol ?? 'unknown',
      setProtocol: (a, v) => this.hostCache.setProtocol(a, v),
      emit: (ev, t) => this.events.emit(ev, t),
      uploadSlots: o.uploadSlots,
      maxUploadRate: o.maxUploadRate,
      maxDownloadRate: o.maxDownloadRate,
      connectTimeoutMs: this.tuning.handshakeTimeoutMs,
      stateDir: () => path.join(this.opts.dataDir, 'transfers'),
      // PUSH only with a reach switch on: otherwise a failed dial fails as it always did.
      push: reachOn(this.opts.reach) ? reachTransferPush(() => this.reach) : undefined,
    });
  }

  /** Undo a start that failed part-way: whatever was begun is closed again. */
  private async undoStart(): Promise<void> {
    clearInterval(this.dialTimer);
    clearInterval(this.statsTimer);
    this.neighbours?.closeAll('peer failed to start');
    this.transfers?.close();
    await this.reach?.stop();
    await this.listener?.close().catch(() => {});
    await this.library?.close().catch(() => {});
    await this.hostCache?.flush().catch(() => {});
  }

  private createLibrary(dir: string): Library {
    return new Library(dir, path.join(this.opts.dataDir, 'hash-cache.json'), this.log, (files) =>
      this.events.emit('library:changed', files),
    );
  }

  /** A connection that opened with a TLS ClientHello: TLS (both certificates), the magic inside, then the v2 hello. */
  private async acceptTls(raw: net.Socket, first: Buffer): Promise<void> {
    const from = raw.remoteAddress;
    let accepted;
    try {
      accepted = await acceptSecureV2(raw, first, this.identity, this.tuning.handshakeTimeoutMs);
    } catch (e) {
      this.stats.drop('TLS handshake failed');
      this.log.warn(`dropped TLS connection from ${from}: ${(e as Error).message}`);
      return;
    }
    await this.v2Inbound.accept(accepted.socket, accepted.rest, accepted.remoteId);
  }

  // ------------------------------------------------------------------ operations

  /** The address we listen on (host as bound, e.g. 0.0.0.0 or 127.0.0.1). */
  address(): PeerAddress {
    return { ...this.bound };
  }

  listLocal(): LocalFile[] {
    return this.library.list();
  }

  /** Absolute path of an indexed shared file, for previews; undefined for anything else. */
  mediaPath(name: string): string | undefined {
    return this.library.getByName(name)?.absPath;
  }

  /** A remote peer's shared files, whatever protocol it speaks. */
  listRemote(addr: PeerAddress): Promise<RemoteListing> {
    const t = this.tuning;
    return listRemote(this.components, this.self, addr, {
      timeoutMs: t.handshakeTimeoutMs,
      maxFiles: t.listingMaxFiles,
      maxBytes: t.listingMaxBytes,
    });
  }

  /** Flood a keyword search to neighbours (v2) and known seed peers (v1). Hits arrive as `search:hit` events. */
  search(query: string, ttl: number, type?: MediaType): { searchId: string } {
    const id = newId();
    const t = clampTtl(ttl);
    this.router.search(id, query, t, type);
    this.v1.search(id, query, t);
    return { searchId: id };
  }

  /** Flood a discovery (ping) to neighbours and DISCOVER to seed peers; found peers join the known-peer list. */
  discover(ttl: number): { discoverId: string } {
    const id = newId();
    const t = clampTtl(ttl);
    this.router.discover(id, t);
    this.v1.discover(t);
    return { discoverId: id };
  }

  /** What this runtime's TLS negotiates (the desktop app logs it: Electron's BoringSSL is not Node's OpenSSL). */
  tlsSelfCheck(): Promise<{ protocol: string; cipher: string }> {
    return tlsSelfCheck(this.identity);
  }

  peers(): PeersSnapshot {
    return {
      selfId: this.id,
      known: this.hostCache.toKnownPeers((a) => this.neighbours.isConnected(a)),
      neighbours: this.neighbours.info(),
    };
  }

  addPeer(addr: PeerAddress): KnownPeer {
    if (this.selfAddresses.has(addr)) throw new Error(`${formatAddress(addr)} is this peer`);
    // An ID the user gives pins the peer from the start: its check characters must be right (parsePeerId throws).
    const { entry } = this.hostCache.add(addr.id ? { ...addr, id: parsePeerId(addr.id) } : addr, 'user');
    this.neighbours.clearBackoff(addr);
    this.neighbours.maintain();
    this.emitPeersChanged();
    return { ...entry, connected: this.neighbours.isConnected(addr) };
  }

  /**
   * Forget one known peer with its pinned ID (the way out of a refusal: the
   * next contact pins anew) and close the link we dialled to it.
   */
  removePeer(addr: PeerAddress): PeersSnapshot {
    if (!this.hostCache.has(addr)) throw new Error(`${formatAddress(addr)} is not a known peer`);
    this.hostCache.remove(addr);
    this.neighbours.closeUnknownOutbound();
    this.neighbours.clearBackoff(addr);
    this.emitPeersChanged();
    return this.peers();
  }

  /** RESET: the known-peer list goes back to the bootstrap peers, and our links to peers no longer known close. */
  reset(): KnownPeer[] {
    this.hostCache.reset(this.opts.bootstrap);
    this.neighbours.closeUnknownOutbound();
    this.neighbours.clearBackoff();
    this.emitPeersChanged();
    this.neighbours.maintain();
    return this.peers().known;
  }

  transfersList(): TransferInfo[] {
    return this.transfers.list();
  }
  download(req: DownloadRequest): TransferInfo {
    // A source's ID (ID@HOST:PORT, as a hit names it) is one the source must prove: its check characters must be right.
    const sources = req.sources.map((s) => (s.id ? { ...s, id: parsePeerId(s.id) } : s));
    return this.transfers.download({ ...req, sources });
  }
  pauseTransfer(id: string): TransferInfo {
    return this.transfers.pause(id);
  }
  resumeTransfer(id: string): TransferInfo {
    return this.transfers.resume(id);
  }
  cancelTransfer(id: string): TransferInfo {
    return this.transfers.cancel(id);
  }
  /** A bandwidth limit for one transfer (bytes/s, 0 = none), on top of the global ones; applies at once. */
  setTransferLimit(id: string, bytesPerSecond: number): TransferInfo {
    return this.transfers.setTransferLimit(id, bytesPerSecond);
  }
  activeTransfers(): TransferInfo[] {
    return this.transfers.active();
  }

  settings(): Settings {
    return optionsToSettings(this.opts);
  }

  /** Change settings at run time; they persist. Port and host take effect at the next start. */
  async updateSettings(patch: Partial<Settings>): Promise<Settings> {
    const next = mergeSettingsPatch(this.opts, patch, (s) => parsePeerSpec(s));
    if (next.sharedDir !== this.opts.sharedDir) await this.swapLibrary(next.sharedDir);
    if (next.downloadDir !== this.opts.downloadDir) await fs.promises.mkdir(next.downloadDir, { recursive: true });
    this.transfers.slots.setSlots(next.uploadSlots);
    this.transfers.setLimits({ up: next.maxUploadRate, down: next.maxDownloadRate });
    const port = this.opts.port;
    this.opts = next;
    const settings = optionsToSettings({ ...next, port: patch.port ?? port });
    await saveSettings(this.opts.dataDir, settings);
    return this.settings();
  }

  private async swapLibrary(dir: string): Promise<void> {
    const lib = this.createLibrary(dir);
    await lib.start(this.opts.watch);
    const old = this.library;
    this.library = lib;
    this.transfers.setLibrary(lib);
    await old.close();
    this.events.emit('library:changed', lib.list());
  }

  /** Copy files into the shared folder (drag-and-drop in the app). Non-media files are refused. */
  importFiles(paths: string[]): Promise<{ imported: string[] }> {
    return this.importer.importFiles(paths);
  }

  /** Write a stream into the shared folder under a safe, unique name (see ShareImporter). */
  importStream(name: string, body: Readable, size?: number): Promise<string> {
    return this.importer.importStream(name, body, size);
  }

  /** The network doctor: listening, LAN, port mapping, reachability, DHT and relays, with advice for each failure. */
  doctor(): DoctorReport {
    return this.reach!.doctor();
  }

  private createReach(): PeerReach {
    const changed = () => {
      this.emitPeersChanged();
      this.neighbours.maintain();
    };
    return new PeerReach({
      peerId: this.id,
      bound: this.bound,
      settings: this.opts.reach,
      hostCache: this.hostCache,
      log: this.log,
      isSelf: (a) => this.selfAddresses.has(a),
      changed,
      identity: () => this.identity,
      hello: (role) => this.hello(role),
      route: (m) => this.router.push(m),
      neighbours: () => this.neighbours.all(),
      acceptInner: (s, rest, id) => void this.v2Inbound.accept(s, rest, id),
      serveTransfer: (s, d, first, remote) => this.transfers.serveTransfer(s, d, first, remote),
      newId,
    });
  }

  statsSnapshot(): Stats {
    return this.stats.snapshot({ neighbours: this.neighbours.size, knownPeers: this.hostCache.list().length });
  }

  /**
   * Stop the peer. Without `force` it first waits for running transfers (QUIT);
   * with `force` it cuts them off at once (FORCEQUIT), keeping partial downloads.
   * A FORCEQUIT while QUIT is waiting cuts the wait short; both resolve when the peer is down.
   */
  quit(opts: { force?: boolean } = {}): Promise<void> {
    return this.lifecycle.quit(
      !!opts.force,
      () => this.transfers.waitIdle(100, () => this.lifecycle.force),
      () => this.close(),
    );
  }

  private async close(): Promise<void> {
    clearInterval(this.dialTimer);
    clearInterval(this.statsTimer);
    this.neighbours.closeAll('peer shutting down');
    await this.streams.closeAll();
    await this.transfers.abortAll();
    this.transfers.close();
    await this.reach?.stop();
    await this.listener.close();
    await this.library.close();
    await this.hostCache.flush().catch(() => {});
  }

  // ------------------------------------------------------------------ self

  private hello(role: Hello['role']): Hello {
    return { t: 'hello', v: PROTOCOL_VERSION, peerId: this.id, port: this.bound.port, role, agent: AGENT };
  }

  // ------------------------------------------------------------------ events

  private emitPeersChanged(): void {
    this.events.emit('peers:changed', this.peers());
  }

  private publishStats(): void {
    const s = this.statsSnapshot();
    const key = JSON.stringify(s);
    if (key === this.lastStatsKey) return;
    this.lastStatsKey = key;
    this.events.emit('stats', s);
  }

  /** All event names, for adapters that forward everything. */
  static readonly eventNames = EVENT_NAMES;
}

/** Check the realpath containment of a file inside a folder (re-exported for adapters serving media). */
export { isRealPathInside };
