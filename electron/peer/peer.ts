import crypto from 'node:crypto';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EVENT_NAMES, type EventPayloads } from '../../shared/contract.js';
import type {
  KnownPeer,
  LocalFile,
  MediaType,
  NeighbourInfo,
  PeerAddress,
  RemoteListing,
  Settings,
  Stats,
  TransferInfo,
} from '../../shared/types.js';
import { addressKey, formatAddress, isBogonTarget, isUnspecified, normalizeHost, parseHostPort } from './address.js';
import { readJson, writeFileAtomic } from './fs-util.js';
import { HostCache } from './host-cache.js';
import { Library } from './library.js';
import { DEFAULT_LISTENER_LIMITS, Listener, type ListenerLimits } from './listener.js';
import { callbackLogger, silentLogger, type Logger } from './logger.js';
import { mediaTypeOf } from './media-types.js';
import type { PeerOptions } from './options.js';
import { checkRelativeName, isRealPathInside, uniquePath } from './safe-path.js';
import { KeywordQuery } from './search-match.js';
import { BoundedTable, KeyedRateLimiter } from './seen-table.js';
import { optionsToSettings, saveSettings } from './settings-store.js';
import { StatsCounter } from './stats.js';
import { TransferManager, type DownloadRequest } from './transfers/transfer-manager.js';
import { listV1, readAll } from './v1/client.js';
import { encodeV1, formatV1Listing, V1_TTL_CAP, type V1Message } from './v1/codec.js';
import { readV1Message } from './v1/inbound.js';
import { connectTcp, DEFAULT_LIMITS, readHandshake, sendHello, V2Connection, type ConnectionLimits, type Hello } from './v2/connection.js';
import { encodeFrame, FrameDecoder } from './v2/frame.js';
import { HOPS_TTL_LIMIT, PROTOCOL_VERSION, TTL_CAP, type FileRef, type V2Message, type V2Of } from './v2/messages.js';
import { TypedEmitter } from './typed-emitter.js';

/** Tunables that tests and benchmarks change; defaults suit real use. */
export interface PeerTuning {
  connection: ConnectionLimits;
  listener: ListenerLimits;
  /** How often the peer tops up its neighbour connections. */
  dialIntervalMs: number;
  /** Neighbour connections accepted from others (on top of our own outbound cap). */
  maxInboundNeighbours: number;
  maxInboundNeighboursPerIp: number;
  /** Duplicate table bounds. */
  seenEntries: number;
  seenTtlMs: number;
  /** How long a search or discovery accepts v1 results. */
  v1ResultWindowMs: number;
  /** Connect-backs per target address: per second, burst. */
  connectBackRate: [number, number];
  handshakeTimeoutMs: number;
}

export const DEFAULT_TUNING: PeerTuning = {
  connection: DEFAULT_LIMITS,
  listener: DEFAULT_LISTENER_LIMITS,
  dialIntervalMs: 2000,
  maxInboundNeighbours: 32,
  maxInboundNeighboursPerIp: 16,
  seenEntries: 100_000,
  seenTtlMs: 10 * 60_000,
  v1ResultWindowMs: 60_000,
  connectBackRate: [5, 20],
  handshakeTimeoutMs: 5000,
};

export interface PeerDeps {
  logger?: Logger;
  tuning?: Partial<PeerTuning>;
}

type Route = V2Connection | 'self';

interface Neighbour {
  conn: V2Connection;
  /** The neighbour's listening address. */
  address: PeerAddress;
  duplicates: number;
  messages: number;
}

const AGENT = 'MacTella/0.1';
const MAX_HITS_PER_QUERY = 64;

function newId(): string {
  return crypto.randomBytes(16).toString('hex');
}

/**
 * THE peer: one object that owns the listening server, the neighbour
 * connections, the shared-folder library, the known-peer list and the
 * transfers. It exposes operations as methods and one typed event stream;
 * the CLI, the Electron IPC and the web host are thin adapters over it.
 */
export class Peer {
  readonly events = new TypedEmitter<EventPayloads>();
  readonly stats = new StatsCounter();
  readonly log: Logger;
  id = '';
  private opts: PeerOptions;
  private readonly tuning: PeerTuning;
  private library!: Library;
  private hostCache!: HostCache;
  transfers!: TransferManager;
  private listener!: Listener;
  private bound: PeerAddress = { host: '', port: 0 };
  private readonly neighbours = new Map<string, Neighbour>();
  private readonly seen: BoundedTable<true>;
  private readonly routes: BoundedTable<Route>;
  private readonly v1Seen: BoundedTable<true>;
  private readonly connectBacks: KeyedRateLimiter;
  private readonly v1Searches: BoundedTable<{ searchId: string; name: string }>;
  private v1DiscoverUntil = 0;
  private readonly dialing = new Set<string>();
  private readonly backoff = new Map<string, { until: number; delay: number }>();
  private readonly selfAddresses = new Set<string>();
  private dialTimer?: NodeJS.Timeout;
  private statsTimer?: NodeJS.Timeout;
  private lastStatsKey = '';
  private closing = false;
  private quitting?: Promise<void>;
  private forceRequested = false;

  private constructor(opts: PeerOptions, deps: PeerDeps) {
    this.opts = { ...opts };
    this.tuning = { ...DEFAULT_TUNING, ...deps.tuning };
    this.log = callbackLogger((line) => this.events.emit('log', line), deps.logger ?? silentLogger);
    this.seen = new BoundedTable(this.tuning.seenEntries, this.tuning.seenTtlMs);
    this.routes = new BoundedTable(this.tuning.seenEntries, this.tuning.seenTtlMs);
    this.v1Seen = new BoundedTable(10_000, 30_000);
    this.v1Searches = new BoundedTable(1000, this.tuning.v1ResultWindowMs);
    this.connectBacks = new KeyedRateLimiter(...this.tuning.connectBackRate);
  }

  /** Create and start a peer: index the folder, listen, and connect to known peers. */
  static async start(opts: PeerOptions, deps: PeerDeps = {}): Promise<Peer> {
    const p = new Peer(opts, deps);
    await p.init();
    return p;
  }

  private async init(): Promise<void> {
    const o = this.opts;
    await fs.promises.mkdir(o.dataDir, { recursive: true });
    await fs.promises.mkdir(o.downloadDir, { recursive: true });
    this.id = await this.loadPeerId();
    this.hostCache = new HostCache(path.join(o.dataDir, 'hosts.json'), o.bootstrap);
    await this.hostCache.load();
    this.library = this.createLibrary(o.sharedDir);
    await this.library.start(o.watch);
    this.transfers = new TransferManager({
      library: this.library,
      downloadDir: () => this.opts.downloadDir,
      stats: this.stats,
      log: this.log,
      hello: () => this.hello('transfer'),
      protocolOf: (a) => this.hostCache.get(a)?.protocol ?? 'unknown',
      setProtocol: (a, v) => this.hostCache.setProtocol(a, v),
      emit: (ev, t) => this.events.emit(ev, t),
      uploadSlots: o.uploadSlots,
      maxUploadRate: o.maxUploadRate,
      maxDownloadRate: o.maxDownloadRate,
      connectTimeoutMs: this.tuning.handshakeTimeoutMs,
    });
    await this.transfers.restore();
    this.listener = new Listener(
      {
        v2: (s, rest) => void this.acceptV2(s, rest),
        v1: (s, first, ended) => void this.acceptV1(s, first, ended),
        drop: (reason) => this.stats.drop(reason),
      },
      this.tuning.listener,
      this.log,
    );
    this.bound = await this.listener.listen(o.port, o.host);
    this.opts.port = this.bound.port;
    this.selfAddresses.add(addressKey({ host: '127.0.0.1', port: this.bound.port }));
    if (!isUnspecified(this.bound.host)) this.selfAddresses.add(addressKey(this.bound));
    this.dialTimer = setInterval(() => this.maintainNeighbours(), this.tuning.dialIntervalMs);
    this.dialTimer.unref();
    this.statsTimer = setInterval(() => this.publishStats(), 1000);
    this.statsTimer.unref();
    // Give the first dials a moment, so a command typed right after start reaches the network.
    const first = this.maintainNeighbours();
    await Promise.race([Promise.allSettled(first), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  private createLibrary(dir: string): Library {
    return new Library(dir, path.join(this.opts.dataDir, 'hash-cache.json'), this.log, (files) =>
      this.events.emit('library:changed', files),
    );
  }

  private async loadPeerId(): Promise<string> {
    const file = path.join(this.opts.dataDir, 'peer-id.json');
    const saved = await readJson<{ id?: string }>(file);
    if (saved?.id && /^[0-9a-f]{32}$/.test(saved.id)) return saved.id;
    const id = newId();
    await writeFileAtomic(file, JSON.stringify({ id }));
    return id;
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
  async listRemote(addr: PeerAddress): Promise<RemoteListing> {
    const peer = { host: addr.host, port: addr.port };
    if (this.hostCache.get(peer)?.protocol !== 'v1') {
      const socket = await connectTcp(addr.host, addr.port, this.tuning.handshakeTimeoutMs);
      try {
        const decoder = new FrameDecoder();
        sendHello(socket, this.hello('query'));
        const remote = await readHandshake(socket, decoder, this.tuning.handshakeTimeoutMs);
        if (remote !== 'v1') {
          this.hostCache.setProtocol(peer, 'v2');
          socket.write(encodeFrame({ t: 'list' }));
          this.stats.out('list');
          const files = await this.readListing(socket, decoder);
          return { peer, protocol: 'v2', files };
        }
        this.hostCache.setProtocol(peer, 'v1');
      } finally {
        socket.destroy();
      }
    }
    return { peer, protocol: 'v1', files: await listV1(addr.host, addr.port, this.tuning.handshakeTimeoutMs) };
  }

  private readListing(socket: net.Socket, decoder: FrameDecoder): Promise<FileRef[]> {
    return new Promise((resolve, reject) => {
      const files: FileRef[] = [];
      const timer = setTimeout(() => fail(new Error('timed out waiting for the listing')), 10_000);
      const fail = (e: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      socket.on('data', (c: Buffer) => {
        try {
          for (const m of decoder.push(c)) {
            if (m.t === 'list-result') {
              files.push(...m.files);
              if (!m.more) {
                clearTimeout(timer);
                resolve(files);
                return;
              }
            } else if (m.t === 'error') return fail(new Error(m.message));
          }
        } catch (e) {
          fail(e as Error);
        }
      });
      socket.on('close', () => fail(new Error('connection closed before the listing ended')));
      socket.resume();
    });
  }

  /** Flood a keyword search to neighbours (v2) and known seed peers (v1). Hits arrive as `search:hit` events. */
  search(query: string, ttl: number, type?: MediaType): { searchId: string } {
    const id = newId();
    const t = clampTtl(ttl);
    this.seen.set(`query:${id}`, true);
    this.routes.set(`query:${id}`, 'self');
    const msg: V2Of<'query'> = { t: 'query', id, ttl: t, hops: 0, q: query.slice(0, 256), ...(type ? { type } : {}) };
    for (const n of this.neighbours.values()) this.sendTo(n, msg);
    this.v1Searches.set(id, { searchId: id, name: query });
    for (const p of this.v1Peers())
      void this.sendV1WithOurAddress(p, (host) => ({ kind: 'SEARCH', name: query, ttl: t, originHost: host, originPort: this.bound.port }));
    return { searchId: id };
  }

  /** Flood a discovery (ping) to neighbours and DISCOVER to seed peers; found peers join the known-peer list. */
  discover(ttl: number): { discoverId: string } {
    const id = newId();
    const t = clampTtl(ttl);
    this.seen.set(`ping:${id}`, true);
    this.routes.set(`ping:${id}`, 'self');
    for (const n of this.neighbours.values()) this.sendTo(n, { t: 'ping', id, ttl: t, hops: 0 });
    this.v1DiscoverUntil = Date.now() + this.tuning.v1ResultWindowMs;
    for (const p of this.v1Peers())
      void this.sendV1WithOurAddress(p, (host) => ({ kind: 'DISCOVER', ttl: t, originHost: host, originPort: this.bound.port }));
    return { discoverId: id };
  }

  peers(): { known: KnownPeer[]; neighbours: NeighbourInfo[] } {
    return {
      known: this.hostCache.toKnownPeers((a) => this.isConnected(a)),
      neighbours: [...this.neighbours.values()].map((n) => ({
        ...n.address,
        peerId: n.conn.remote.peerId,
        direction: n.conn.direction,
        since: n.conn.since,
      })),
    };
  }

  addPeer(addr: PeerAddress): KnownPeer {
    if (this.isSelf(addr)) throw new Error(`${formatAddress(addr)} is this peer`);
    const { entry } = this.hostCache.add(addr, 'user');
    this.backoff.delete(addressKey(addr));
    this.maintainNeighbours();
    this.emitPeersChanged();
    return { ...entry, connected: this.isConnected(addr) };
  }

  /** RESET: the known-peer list goes back to the bootstrap peers. */
  reset(): KnownPeer[] {
    this.hostCache.reset(this.opts.bootstrap);
    this.backoff.clear();
    this.emitPeersChanged();
    this.maintainNeighbours();
    return this.peers().known;
  }

  transfersList(): TransferInfo[] {
    return this.transfers.list();
  }

  download(req: DownloadRequest): TransferInfo {
    return this.transfers.download(req);
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
    const next = { ...this.opts };
    if (patch.bootstrap) next.bootstrap = patch.bootstrap.map((s) => parseHostPort(s));
    if (patch.sharedDir !== undefined) next.sharedDir = path.resolve(patch.sharedDir);
    if (patch.downloadDir !== undefined) next.downloadDir = path.resolve(patch.downloadDir);
    for (const k of ['port', 'neighbourCap', 'uploadSlots', 'maxUploadRate', 'maxDownloadRate'] as const)
      if (patch[k] !== undefined) next[k] = patch[k]!;
    if (patch.host !== undefined) next.host = patch.host;
    if (next.sharedDir !== this.opts.sharedDir) {
      const lib = this.createLibrary(next.sharedDir);
      await lib.start(this.opts.watch);
      const old = this.library;
      this.library = lib;
      (this.transfers as unknown as { deps: { library: Library } }).deps.library = lib;
      await old.close();
      this.events.emit('library:changed', lib.list());
    }
    if (next.downloadDir !== this.opts.downloadDir) await fs.promises.mkdir(next.downloadDir, { recursive: true });
    this.transfers.slots.setSlots(next.uploadSlots);
    this.transfers.setLimits({ up: next.maxUploadRate, down: next.maxDownloadRate });
    const port = this.opts.port;
    this.opts = next;
    const settings = optionsToSettings({ ...next, port: patch.port ?? port });
    await saveSettings(this.opts.dataDir, settings);
    return this.settings();
  }

  /** Copy files into the shared folder (drag-and-drop in the app). Non-media files are refused. */
  async importFiles(paths: string[]): Promise<{ imported: string[] }> {
    const imported: string[] = [];
    for (const p of paths) {
      const name = path.basename(p);
      try {
        const st = await fs.promises.stat(p);
        if (!st.isFile()) throw new Error('not a file');
        if (!mediaTypeOf(name)) throw new Error('not a media file this app shares');
        imported.push(await this.importStream(name, fs.createReadStream(p), st.size));
      } catch (e) {
        this.events.emit('import:progress', { name, bytes: 0, total: 0, done: true, error: (e as Error).message });
        this.log.warn(`import ${name}: ${(e as Error).message}`);
      }
    }
    return { imported };
  }

  /** Write a stream into the shared folder under a safe, unique name (via `.part`, renamed when complete). */
  async importStream(name: string, body: Readable, size?: number): Promise<string> {
    const safe = path.basename(checkRelativeName(name.replace(/\\/g, '/').split('/').pop() ?? ''));
    if (!mediaTypeOf(safe)) throw new Error(`${safe}: not a media file this app shares`);
    const dest = await uniquePath(this.library.root, safe);
    const part = `${dest}.part`;
    let bytes = 0;
    let last = 0;
    body.on('data', (c: Buffer) => {
      bytes += c.length;
      if (Date.now() - last > 250) {
        last = Date.now();
        this.events.emit('import:progress', { name: safe, bytes, total: size ?? 0, done: false });
      }
    });
    try {
      await pipeline(body, fs.createWriteStream(part, { flags: 'wx' }));
      if (size !== undefined && bytes !== size) throw new Error(`incomplete: ${bytes} of ${size} bytes`);
      const rel = path.relative(this.library.root, dest);
      await fs.promises.rename(part, dest);
      await this.library.update(dest);
      this.events.emit('import:progress', { name: safe, bytes, total: bytes, done: true });
      return rel.split(path.sep).join('/');
    } catch (e) {
      await fs.promises.rm(part, { force: true });
      throw e;
    }
  }

  statsSnapshot(): Stats {
    return this.stats.snapshot({ neighbours: this.neighbours.size, knownPeers: this.hostCache.list().length });
  }

  /**
   * Stop the peer. Without `force` it first waits for running transfers (QUIT);
   * with `force` it cuts them off at once (FORCEQUIT), keeping partial downloads.
   */
  async quit(opts: { force?: boolean } = {}): Promise<void> {
    // A FORCEQUIT while QUIT is waiting cuts the wait short; both calls resolve when the peer is down.
    if (opts.force) this.forceRequested = true;
    this.quitting ??= this.shutdown();
    return this.quitting;
  }

  private async shutdown(): Promise<void> {
    await this.transfers.waitIdle(100, () => this.forceRequested);
    this.closing = true;
    clearInterval(this.dialTimer);
    clearInterval(this.statsTimer);
    for (const n of this.neighbours.values()) n.conn.close('peer shutting down');
    await this.transfers.abortAll();
    this.transfers.close();
    await this.listener.close();
    await this.library.close();
    await this.hostCache.flush().catch(() => {});
  }

  // ------------------------------------------------------------------ neighbours

  private hello(role: Hello['role']): Hello {
    return { t: 'hello', v: PROTOCOL_VERSION, peerId: this.id, port: this.bound.port, role, agent: AGENT };
  }

  private isConnected(a: PeerAddress): boolean {
    const k = addressKey(a);
    for (const n of this.neighbours.values()) if (addressKey(n.address) === k) return true;
    return false;
  }

  private isSelf(a: PeerAddress): boolean {
    const k = addressKey(a);
    if (this.selfAddresses.has(k)) return true;
    return a.port === this.bound.port && (normalizeHost(a.host) === '127.0.0.1' || normalizeHost(a.host) === '::1');
  }

  private v1Peers(): PeerAddress[] {
    return this.hostCache.list().filter((p) => p.protocol === 'v1' && !this.isSelf(p));
  }

  /** Keep outbound neighbour connections to known peers up to the cap. */
  private maintainNeighbours(): Promise<void>[] {
    const dials: Promise<void>[] = [];
    if (this.closing) return dials;
    const outbound = [...this.neighbours.values()].filter((n) => n.conn.direction === 'out').length;
    let room = this.opts.neighbourCap - outbound - this.dialing.size;
    const now = Date.now();
    for (const p of this.hostCache.list()) {
      if (room <= 0) break;
      const key = addressKey(p);
      if (p.protocol === 'v1' || this.dialing.has(key) || this.isConnected(p) || this.isSelf(p)) continue;
      const b = this.backoff.get(key);
      if (b && b.until > now) continue;
      room--;
      dials.push(this.dial(p));
    }
    return dials;
  }

  private async dial(p: PeerAddress): Promise<void> {
    const key = addressKey(p);
    this.dialing.add(key);
    try {
      const socket = await connectTcp(p.host, p.port, this.tuning.handshakeTimeoutMs);
      const decoder = new FrameDecoder(this.tuning.connection.maxFrame);
      sendHello(socket, this.hello('neighbour'));
      let remote: Hello | 'v1';
      try {
        remote = await readHandshake(socket, decoder, this.tuning.handshakeTimeoutMs);
      } catch (e) {
        socket.destroy();
        throw e;
      }
      if (remote === 'v1') {
        socket.destroy();
        this.hostCache.setProtocol(p, 'v1');
        this.log.info(`${formatAddress(p)} speaks v1 (seed peer)`);
        this.emitPeersChanged();
        return;
      }
      this.hostCache.setProtocol(p, 'v2');
      this.backoff.delete(key);
      this.addNeighbour(new V2Connection(socket, decoder, remote, 'out', this.tuning.connection), { host: p.host, port: p.port });
    } catch (e) {
      const prev = this.backoff.get(key)?.delay ?? 500;
      const delay = Math.min(prev * 2, 60_000);
      this.backoff.set(key, { until: Date.now() + delay, delay });
      this.log.info(`cannot reach ${formatAddress(p)}: ${(e as Error).message}`);
    } finally {
      this.dialing.delete(key);
    }
  }

  private async acceptV2(socket: net.Socket, rest: Buffer): Promise<void> {
    const decoder = new FrameDecoder(this.tuning.connection.maxFrame);
    decoder.append(rest);
    let hello: V2Message | undefined;
    try {
      hello = decoder.next() ?? (await this.nextFrame(socket, decoder));
    } catch (e) {
      this.stats.drop('bad handshake');
      this.log.warn(`dropped connection from ${socket.remoteAddress}: ${(e as Error).message}`);
      socket.destroy();
      return;
    }
    if (hello.t !== 'hello') {
      this.stats.drop('bad handshake');
      socket.destroy();
      return;
    }
    this.stats.in('hello');
    if (hello.v < PROTOCOL_VERSION) {
      socket.destroy();
      return;
    }
    socket.write(Buffer.concat([Buffer.from('MTELLA2\n', 'latin1'), encodeFrame(this.hello(hello.role))]));
    if (hello.role === 'neighbour') return this.acceptNeighbour(socket, decoder, hello);
    try {
      const req = decoder.next() ?? (await this.nextFrame(socket, decoder));
      this.stats.in(req.t);
      if (hello.role === 'transfer' && (req.t === 'get' || req.t === 'pieces'))
        return await this.transfers.serveTransfer(socket, decoder, req, hello);
      if (hello.role === 'query' && req.t === 'list') return this.serveListing(socket);
      socket.end(encodeFrame({ t: 'error', code: 'bad-request', message: `unexpected ${req.t} on a ${hello.role} connection` }));
    } catch (e) {
      this.stats.drop('bad request');
      socket.destroy();
      this.log.warn(`bad request from ${socket.remoteAddress}: ${(e as Error).message}`);
    }
  }

  private nextFrame(socket: net.Socket, decoder: FrameDecoder): Promise<V2Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(() => reject(new Error('timed out waiting for a frame'))), this.tuning.handshakeTimeoutMs);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.pause();
        fn();
      };
      const onData = (c: Buffer) => {
        try {
          decoder.append(c);
          const m = decoder.next();
          if (m) done(() => resolve(m));
        } catch (e) {
          done(() => reject(e));
        }
      };
      const onClose = () => done(() => reject(new Error('connection closed')));
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.resume();
    });
  }

  private serveListing(socket: net.Socket): void {
    const files = this.library.list();
    const frames: Buffer[] = [];
    for (let i = 0; i < files.length || i === 0; i += 200) {
      const page = files.slice(i, i + 200).map((f) => ({ name: f.name, size: f.size, type: f.type, sha256: f.sha256 }));
      frames.push(encodeFrame({ t: 'list-result', files: page, more: i + 200 < files.length }));
      this.stats.out('list-result');
    }
    socket.end(Buffer.concat(frames));
  }

  private acceptNeighbour(socket: net.Socket, decoder: FrameDecoder, hello: Hello): void {
    const ip = normalizeHost(socket.remoteAddress ?? '');
    const inbound = [...this.neighbours.values()].filter((n) => n.conn.direction === 'in');
    const conn = new V2Connection(socket, decoder, hello, 'in', this.tuning.connection);
    if (inbound.length >= this.tuning.maxInboundNeighbours) return this.refuse(conn, 'inbound neighbour limit');
    if (inbound.filter((n) => normalizeHost(n.conn.remoteHost) === ip).length >= this.tuning.maxInboundNeighboursPerIp)
      return this.refuse(conn, 'per-IP neighbour limit');
    this.addNeighbour(conn, { host: ip, port: hello.port });
  }

  private refuse(conn: V2Connection, reason: string): void {
    this.stats.drop(reason);
    this.log.warn(`refused neighbour ${conn.remoteHost}: ${reason}`);
    conn.close(reason);
  }

  private addNeighbour(conn: V2Connection, address: PeerAddress): void {
    const remoteId = conn.remote.peerId;
    if (remoteId === this.id) {
      this.selfAddresses.add(addressKey(address));
      conn.close('connected to self', false);
      return;
    }
    const existing = this.neighbours.get(remoteId);
    if (existing) {
      // Both sides may dial each other at once: keep the connection opened by the smaller id, on both sides alike.
      const initiator = (c: V2Connection) => (c.direction === 'out' ? this.id : remoteId);
      const keeper = this.id < remoteId ? this.id : remoteId;
      if (initiator(existing.conn) === keeper || initiator(conn) !== keeper) {
        conn.close('duplicate connection', false);
        return;
      }
      existing.conn.events.emit('close', { reason: 'replaced' });
      existing.conn.close('duplicate connection', false);
    }
    const n: Neighbour = { conn, address, duplicates: 0, messages: 0 };
    this.neighbours.set(remoteId, n);
    conn.events.on('message', (m) => this.onMessage(n, m));
    conn.events.on('dropped', ({ type, reason }) => this.stats.drop(`${reason} (${type})`));
    conn.events.once('close', ({ reason }) => {
      // Counted by kind (the text before any detail), so STATS stays a short list.
      if (reason !== 'replaced' && !this.closing) this.stats.drop(`neighbour closed: ${reason.split(/[:(]/)[0]!.trim()}`);
      if (this.neighbours.get(remoteId) === n) this.neighbours.delete(remoteId);
      this.routes.deleteWhere((r) => r === conn);
      if (reason !== 'replaced') {
        if (!this.closing) this.log.info(`neighbour ${formatAddress(address)} left: ${reason}`);
        const known = this.hostCache.get(address);
        this.events.emit('peer:lost', {
          host: address.host,
          port: address.port,
          protocol: 'v2',
          source: known?.source ?? 'discovered',
          connected: false,
        });
        this.emitPeersChanged();
        // A lost neighbour may be replaced by another known peer.
        if (!this.closing) setTimeout(() => this.maintainNeighbours(), 50).unref();
      }
    });
    this.log.info(`neighbour ${formatAddress(address)} connected (${conn.direction})`);
    this.emitPeersChanged();
  }

  private sendTo(n: Neighbour, m: V2Message): void {
    if (n.conn.send(m)) this.stats.out(m.t);
  }

  // ------------------------------------------------------------------ v2 routing

  private onMessage(n: Neighbour, m: V2Message): void {
    this.stats.in(m.t);
    n.messages++;
    switch (m.t) {
      case 'query':
      case 'ping':
        return this.onFlood(n, m);
      case 'hit':
      case 'pong':
        return this.onReply(n, m);
      default:
        this.stats.drop(`unexpected ${m.t}`);
    }
  }

  /** A query or ping: suppress duplicates, answer, and forward once to the other neighbours. */
  private onFlood(n: Neighbour, m: V2Of<'query'> | V2Of<'ping'>): void {
    const key = `${m.t}:${m.id}`;
    if (!this.seen.add(key, true)) {
      this.stats.duplicate();
      n.duplicates++;
      // gtk-gnutella's rule: more than 5 duplicates making up over 1.5% of a neighbour's traffic.
      if (n.duplicates > 5 && n.duplicates / n.messages > 0.015 && n.messages > 20) {
        n.conn.close(`too many duplicates (${n.duplicates} of ${n.messages} messages)`);
      }
      return;
    }
    if (m.ttl === 0) return this.stats.drop('ttl 0');
    const ttl = Math.min(m.ttl, TTL_CAP);
    if (m.hops + ttl > HOPS_TTL_LIMIT) return this.stats.drop('hops+ttl over limit');
    this.routes.set(key, n.conn);
    const me = this.advertised(n.conn);
    if (m.t === 'query') {
      const q = new KeywordQuery(m.q, m.type);
      const files = this.library.search(q, MAX_HITS_PER_QUERY).map((f) => ({ name: f.name, size: f.size, type: f.type, sha256: f.sha256 }));
      if (files.length) this.sendTo(n, { t: 'hit', id: m.id, hops: 0, peer: me, files });
    } else {
      this.sendTo(n, { t: 'pong', id: m.id, hops: 0, peer: me, files: this.library.size, bytes: this.library.totalBytes() });
    }
    if (ttl - 1 <= 0) return;
    const fwd = { ...m, ttl: ttl - 1, hops: m.hops + 1 };
    for (const other of this.neighbours.values()) if (other !== n) this.sendTo(other, fwd);
  }

  /** A hit or pong goes back along the path its request came, never to an address it names. */
  private onReply(n: Neighbour, m: V2Of<'hit'> | V2Of<'pong'>): void {
    const reqType = m.t === 'hit' ? 'query' : 'ping';
    const route = this.routes.get(`${reqType}:${m.id}`);
    if (!route) return this.stats.drop('reply without route');
    if (route !== 'self') {
      if (!route.isOpen) return this.stats.drop('route gone');
      if (route.send({ ...m, hops: Math.min(255, m.hops + 1) })) this.stats.out(m.t);
      return;
    }
    if (m.t === 'hit') {
      for (const f of m.files) {
        this.events.emit('search:hit', {
          searchId: m.id,
          peer: { host: m.peer.host, port: m.peer.port },
          protocol: 'v2',
          name: f.name,
          size: f.size,
          type: f.type,
          sha256: f.sha256,
          hops: m.hops + 1,
        });
      }
    } else {
      const addr = { host: m.peer.host, port: m.peer.port };
      if (m.peer.peerId === this.id || this.isSelf(addr)) return;
      const { entry, added } = this.hostCache.add(addr, 'discovered', { protocol: 'v2', files: m.files, bytes: m.bytes });
      if (added) this.log.info(`discovered ${formatAddress(addr)} (${m.files} files, ${m.hops + 1} hops)`);
      this.events.emit('peer:found', { ...entry, connected: this.isConnected(addr) });
      this.emitPeersChanged();
      this.maintainNeighbours();
    }
    void n;
  }

  /** Our address as a neighbour sees it: the configured host, or the address its connection reached. */
  private advertised(conn: V2Connection): { host: string; port: number; peerId: string } {
    const host = isUnspecified(this.bound.host) ? conn.localHost : this.bound.host;
    return { host, port: this.bound.port, peerId: this.id };
  }

  // ------------------------------------------------------------------ v1 (seed peers)

  private async acceptV1(socket: net.Socket, first: Buffer, ended: boolean): Promise<void> {
    let msg: V1Message;
    try {
      msg = await readV1Message(socket, first, ended);
    } catch (e) {
      this.stats.drop('v1 malformed');
      this.log.warn(`v1 from ${socket.remoteAddress}: ${(e as Error).message}`);
      if (!socket.destroyed) socket.end(`ERROR: ${(e as Error).message}`);
      return;
    }
    this.stats.in(`v1:${msg.kind}`);
    // The address this request reached: what connect-backs advertise (never "localhost").
    const ourHost = normalizeHost(socket.localAddress ?? '127.0.0.1');
    switch (msg.kind) {
      case 'LISTR':
        this.stats.out('v1:LISTR-reply');
        socket.end(formatV1Listing(this.library.list()));
        return;
      case 'GET':
        this.stats.out('v1:GET-reply');
        await this.transfers.serveV1(socket, msg.name);
        return;
      case 'SEARCH':
      case 'DISCOVER':
        socket.end();
        return this.onV1Flood(msg, ourHost);
      case 'SEAR_Result': {
        socket.end();
        const pending = this.latestV1Search();
        if (!pending) return this.stats.drop('unsolicited v1 result');
        this.events.emit('search:hit', {
          searchId: pending.searchId,
          peer: { host: msg.host, port: msg.port },
          protocol: 'v1',
          name: pending.name,
        });
        return;
      }
      case 'DISCOV_Result': {
        socket.end();
        if (Date.now() > this.v1DiscoverUntil) return this.stats.drop('unsolicited v1 result');
        const addr = { host: msg.host, port: msg.port };
        if (this.isSelf(addr)) return;
        const { entry, added } = this.hostCache.add(addr, 'discovered');
        if (added) this.log.info(`discovered ${formatAddress(addr)} (v1 reply)`);
        this.events.emit('peer:found', { ...entry, connected: this.isConnected(addr) });
        this.emitPeersChanged();
        this.maintainNeighbours();
        return;
      }
    }
  }

  private latestV1Search(): { searchId: string; name: string } | undefined {
    let last: { searchId: string; name: string } | undefined;
    for (const s of this.v1Searches.values()) last = s;
    return last;
  }

  /** The seed's flooding rules, bounded: TTL capped, duplicates suppressed, connect-backs checked and rate-limited. */
  private onV1Flood(msg: Extract<V1Message, { kind: 'SEARCH' | 'DISCOVER' }>, ourHost: string): void {
    const origin = { host: msg.originHost, port: msg.originPort };
    const key = `${msg.kind}:${msg.kind === 'SEARCH' ? msg.name : ''}:${addressKey(origin)}`;
    if (!this.v1Seen.add(key, true)) {
      this.stats.duplicate();
      return;
    }
    const ttl = Math.min(msg.ttl, V1_TTL_CAP);
    if (ttl <= 0) return this.stats.drop('ttl 0');
    const next = ttl - 1;
    if (msg.kind === 'SEARCH') {
      const f = this.library.findExact(msg.name);
      if (f) this.connectBack(origin, { kind: 'SEAR_Result', host: ourHost, port: this.bound.port });
    } else {
      this.connectBack(origin, { kind: 'DISCOV_Result', host: ourHost, port: this.bound.port });
    }
    if (next <= 0) return;
    const fwd: V1Message = { ...msg, ttl: next };
    for (const p of this.v1Peers()) {
      if (addressKey(p) === addressKey(origin)) continue;
      this.stats.out(`v1:${msg.kind}`);
      void this.sendV1(p, fwd);
    }
  }

  private connectBack(target: PeerAddress, msg: V1Message): void {
    if (isBogonTarget(target.host)) return this.stats.drop('connect-back to bogon address');
    if (this.isSelf(target)) return this.stats.drop('connect-back to self');
    if (!this.connectBacks.take(addressKey(target))) return this.stats.drop('connect-back rate limit');
    this.stats.connectBacks++;
    this.stats.out(`v1:${msg.kind}`);
    void this.sendV1(target, msg);
  }

  private async sendV1(p: PeerAddress, msg: V1Message): Promise<void> {
    try {
      const socket = await connectTcp(p.host, p.port, this.tuning.handshakeTimeoutMs);
      socket.on('error', () => {});
      socket.end(encodeV1(msg));
    } catch (e) {
      this.log.info(`could not reach ${formatAddress(p)}: ${(e as Error).message}`);
    }
  }

  /** A v1 request that names our address: use the local address of the very connection, never "localhost". */
  private async sendV1WithOurAddress(p: PeerAddress, build: (ourHost: string) => V1Message): Promise<void> {
    try {
      const socket = await connectTcp(p.host, p.port, this.tuning.handshakeTimeoutMs);
      socket.on('error', () => {});
      const msg = build(normalizeHost(socket.localAddress ?? '127.0.0.1'));
      this.stats.out(`v1:${msg.kind}`);
      socket.end(encodeV1(msg));
      await readAll(socket, 1024, 2000).catch(() => {});
    } catch (e) {
      this.log.info(`could not reach ${formatAddress(p)}: ${(e as Error).message}`);
    }
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

function clampTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 1) throw new Error(`bad TTL ${ttl}: expected a whole number from 1 to ${TTL_CAP}`);
  return Math.min(ttl, TTL_CAP);
}

/** Check the realpath containment of a file inside a folder (re-exported for adapters serving media). */
export { isRealPathInside };
