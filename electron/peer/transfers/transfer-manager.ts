import crypto from 'node:crypto';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import type { PeerAddress, TransferInfo } from '../../../shared/types.js';
import { formatAddress } from '../address.js';
import type { IndexedFile, Library } from '../library.js';
import type { Logger } from '../logger.js';
import { isRealPathInside, uniquePath } from '../safe-path.js';
import type { StatsCounter } from '../stats.js';
import { V1GetHeaderParser, listV1 } from '../v1/client.js';
import { connectTcp, readHandshake, sendHello, type Hello } from '../v2/connection.js';
import { encodeFrame, FrameDecoder } from '../v2/frame.js';
import type { V2Message } from '../v2/messages.js';
import { commitPart, fileSize, hashPrefix, listPartStates, partPathFor, syncFile, writePartState, type PartState } from './part-file.js';
import { Bitfield, PieceCache, pieceCount, pieceLength, TRANSFER_MAX_FRAME } from './pieces.js';
import { etaSeconds, SpeedMeter } from './progress.js';
import { sleep, takeAll, TokenBucket } from './rate-limiter.js';
import { SlotQueue } from './slots.js';
import { sendFileRange } from './file-sender.js';
import { SocketReader } from './socket-reader.js';
import { ContentVerifier } from './content-verifier.js';
import { DiskError, diskError, runSwarm, type SourceConn } from './swarm.js';

export interface DownloadRequest {
  name: string;
  sha256?: string;
  size?: number;
  sources: PeerAddress[];
}

export interface TransferDeps {
  library: Library;
  downloadDir: () => string;
  stats: StatsCounter;
  log: Logger;
  /** Our hello for a transfer connection. */
  hello: () => Hello;
  protocolOf: (a: PeerAddress) => 'v1' | 'v2' | 'unknown';
  setProtocol: (a: PeerAddress, v: 'v1' | 'v2') => void;
  emit: (event: 'transfer:progress' | 'transfer:done' | 'transfer:failed', t: TransferInfo) => void;
  uploadSlots: number;
  connectTimeoutMs?: number;
  /** Global limits in bytes per second; 0 = none. */
  maxUploadRate?: number;
  maxDownloadRate?: number;
  /** How long an idle transfer connection is kept for a further request. */
  idleTimeoutMs?: number;
}

interface Download {
  info: TransferInfo;
  abort?: AbortController;
  partPath?: string;
  finalPath?: string;
  run?: Promise<void>;
  meter: SpeedMeter;
  pieces?: { pieceSize: number; hashes: string[]; have: Bitfield };
  /** Per-transfer limit. */
  limit: TokenBucket;
  /** A state write in flight, one waiting to start, and when the last one started. */
  saving?: Promise<void>;
  saveTimer?: NodeJS.Timeout;
  savedAt?: number;
  /** The whole-file hash kept on the way in, so the end reads back only what it has not seen. */
  whole?: WholeHash;
  /** Which source sent each piece this run (by address), to name the one that sent a bad piece. */
  pieceFrom: Map<number, string>;
  /** Sources that sent bad data: out of this download. */
  dropped: Set<string>;
}

interface WholeHash {
  /** The SHA-256 of the whole `.part`. */
  digest(): Promise<string>;
  /** With a piece list: every piece checked on its own, the bad ones' indexes. */
  badPieces?(): Promise<number[]>;
  close(): void | Promise<void>;
}

/** Rounds of refetching pieces found bad after the whole-file check, before a download gives up. */
const MAX_REPAIR_ROUNDS = 3;

interface Upload {
  info: TransferInfo;
  socket: net.Socket;
  meter: SpeedMeter;
  limit: TokenBucket;
}

const PROGRESS_INTERVAL_MS = 250;

/** Why a download attempt ended without the file. */
class TransferError extends Error {}

function newTransferInfo(
  direction: TransferInfo['direction'],
  name: string,
  sha256: string | undefined,
  state: TransferInfo['state'],
  total: number,
  sources: PeerAddress[] = [],
): TransferInfo {
  return { id: crypto.randomUUID(), direction, name, sha256, state, bytes: 0, total, speed: 0, eta: null, sources };
}

function newDownload(info: TransferInfo): Download {
  return { info, meter: new SpeedMeter(), limit: new TokenBucket(), pieceFrom: new Map(), dropped: new Set() };
}

/**
 * Downloads and uploads. Downloads write to `<final>.part` with a state file
 * beside it, verify SHA-256, fsync, and only then take their final name.
 * Uploads run in a limited number of slots with a queue.
 */
export class TransferManager {
  private readonly downloads = new Map<string, Download>();
  private readonly uploads = new Map<string, Upload>();
  private readonly reservedPaths = new Set<string>();
  readonly slots: SlotQueue;
  private readonly ticker: NodeJS.Timeout;
  private readonly lastSent = new Map<string, string>();
  /** Piece lists for uploads, from the library's cache (computed when it is indexed). */
  private readonly pieceCache = new PieceCache<IndexedFile>((f) => this.deps.library.pieces(f));
  /** Global bandwidth limits, shared by every transfer in that direction. */
  readonly upLimit: TokenBucket;
  readonly downLimit: TokenBucket;

  constructor(private readonly deps: TransferDeps) {
    this.upLimit = new TokenBucket(deps.maxUploadRate ?? 0);
    this.downLimit = new TokenBucket(deps.maxDownloadRate ?? 0);
    this.slots = new SlotQueue(deps.uploadSlots);
    this.ticker = setInterval(() => this.publishProgress(), PROGRESS_INTERVAL_MS);
    this.ticker.unref();
  }

  list(): TransferInfo[] {
    return [...this.downloads.values(), ...this.uploads.values()].map((t) => ({ ...t.info }));
  }

  /** Transfers QUIT waits for. */
  active(): TransferInfo[] {
    return this.list().filter((t) => t.state === 'running' || t.state === 'queued');
  }

  /** Resolves when no transfer is running or queued. */
  async waitIdle(pollMs = 100, stop: () => boolean = () => false): Promise<void> {
    while (this.active().length > 0 && !stop()) await new Promise((r) => setTimeout(r, pollMs));
  }

  /** Downloads left as `.part` by an earlier run show up paused, ready to resume. */
  async restore(): Promise<void> {
    for (const { partPath, state } of await listPartStates(this.deps.downloadDir())) {
      if ([...this.downloads.values()].some((d) => d.partPath === partPath)) continue;
      const d = newDownload(newTransferInfo('down', state.name, state.sha256, 'paused', state.size ?? 0));
      this.attachState(d, partPath, state);
      this.downloads.set(d.info.id, d);
    }
  }

  /** Change the global limits (bytes/s, 0 = none); running transfers follow at once. */
  setLimits(limits: { up?: number; down?: number }): void {
    if (limits.up !== undefined) this.upLimit.setRate(limits.up);
    if (limits.down !== undefined) this.downLimit.setRate(limits.down);
  }

  /** A limit for one transfer (either direction), on top of the global one. */
  setTransferLimit(id: string, bytesPerSecond: number): TransferInfo {
    const t = this.downloads.get(id) ?? this.uploads.get(id);
    if (!t) throw new Error(`no transfer with id ${id}`);
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0)
      throw new Error(`bad limit ${bytesPerSecond}: expected bytes per second, 0 = none`);
    t.limit.setRate(bytesPerSecond);
    return { ...t.info };
  }

  download(req: DownloadRequest): TransferInfo {
    // The same file already downloading (or left paused by an earlier run): return that transfer, adding the new sources.
    const name = path.posix.basename(req.name);
    const sameSource = (d: Download) => req.sources.some((s) => d.info.sources.some((x) => x.host === s.host && x.port === s.port));
    {
      for (const d of this.downloads.values()) {
        if (d.info.direction !== 'down' || d.info.state === 'cancelled' || d.info.state === 'done') continue;
        const same = req.sha256 ? d.info.sha256 === req.sha256 : d.info.name === name && sameSource(d);
        if (same) {
          for (const s of req.sources) if (!d.info.sources.some((x) => x.host === s.host && x.port === s.port)) d.info.sources.push(s);
          if (d.info.state === 'paused' || d.info.state === 'failed') this.resume(d.info.id);
          return { ...d.info };
        }
      }
    }
    const d = newDownload(newTransferInfo('down', name, req.sha256, 'queued', req.size ?? 0, [...req.sources]));
    this.downloads.set(d.info.id, d);
    this.start(d);
    return { ...d.info };
  }

  pause(id: string): TransferInfo {
    const d = this.mustGet(id);
    if (d.info.state === 'running' || d.info.state === 'queued') {
      d.info.state = 'paused';
      d.abort?.abort();
      this.emitNow(d.info, 'transfer:progress');
    }
    return { ...d.info };
  }

  resume(id: string): TransferInfo {
    const d = this.mustGet(id);
    if (d.info.state === 'paused' || d.info.state === 'failed') {
      d.info.error = undefined;
      d.info.state = 'queued';
      this.start(d);
    }
    return { ...d.info };
  }

  cancel(id: string): TransferInfo {
    const d = this.downloads.get(id);
    if (!d) {
      const u = this.uploads.get(id);
      if (!u) throw new Error(`no transfer with id ${id}`);
      u.info.state = 'cancelled';
      u.socket.destroy();
      return { ...u.info };
    }
    if (d.info.state === 'done') return { ...d.info };
    d.info.state = 'cancelled';
    d.abort?.abort();
    const cleanup = async () => {
      await d.run?.catch(() => {});
      if (d.partPath) {
        await fs.promises.rm(d.partPath, { force: true });
        await fs.promises.rm(`${d.partPath}.json`, { force: true });
      }
      if (d.finalPath) this.reservedPaths.delete(d.finalPath);
    };
    void cleanup();
    this.emitNow(d.info, 'transfer:failed');
    return { ...d.info };
  }

  /** FORCEQUIT / shutdown: stop everything now; downloads keep their `.part` to resume. */
  async abortAll(): Promise<void> {
    for (const d of this.downloads.values()) {
      if (d.info.state === 'running' || d.info.state === 'queued') {
        d.info.state = 'paused';
        d.abort?.abort();
      }
    }
    for (const u of this.uploads.values()) u.socket.destroy();
    await Promise.all([...this.downloads.values()].map((d) => d.run?.catch(() => {})));
  }

  close(): void {
    clearInterval(this.ticker);
  }

  private mustGet(id: string): Download {
    const d = this.downloads.get(id);
    if (!d) throw new Error(`no download with id ${id}`);
    return d;
  }

  private start(d: Download): void {
    const abort = new AbortController();
    d.abort = abort;
    d.run = this.run(d, abort.signal).catch((e: Error) => {
      if (abort.signal.aborted) return; // paused, cancelled or shutting down
      d.info.state = 'failed';
      d.info.error = e.message;
      this.deps.log.warn(`download ${d.info.name} failed: ${e.message}`);
      this.emitNow(d.info, 'transfer:failed');
    });
  }

  private async run(d: Download, signal: AbortSignal): Promise<void> {
    await fs.promises.mkdir(this.deps.downloadDir(), { recursive: true });
    if (!d.partPath) await this.preparePart(d);
    d.info.state = 'running';
    d.meter.reset(d.info.bytes);
    const errors: string[] = [];
    let pre: SourceConn | undefined;
    // Sources that turned out to be seed peers; the host cache only remembers known peers.
    const seedSources = new Set<string>();
    if (!d.pieces) {
      for (const source of [...d.info.sources]) {
        if (signal.aborted) return;
        if (this.deps.protocolOf(source) === 'v1') continue;
        try {
          const c = await this.openSource(source, signal);
          if (c === 'v1') {
            seedSources.add(formatAddress(source));
            continue;
          }
          try {
            await this.fetchPieceList(d, c);
            pre = c;
            break;
          } catch (e) {
            c.socket.destroy();
            throw e;
          }
        } catch (e) {
          if (signal.aborted) return;
          errors.push(`${formatAddress(source)}: ${(e as Error).message}`);
          this.deps.log.warn(`download ${d.info.name} from ${formatAddress(source)}: ${(e as Error).message}`);
        }
      }
    }
    if (d.pieces) {
      try {
        for (let round = 0; ; round++) {
          await this.swarm(d, signal, pre);
          pre = undefined;
          // Pieces found bad after the whole-file check are fetched again, from the sources left.
          if (await this.finish(d, round < MAX_REPAIR_ROUNDS)) return;
        }
      } catch (e) {
        if (signal.aborted || e instanceof DiskError) throw e;
        errors.push((e as Error).message);
      }
    }
    // Seed peers: a whole-file GET without ranges, verified when the hash is known.
    for (const source of [...d.info.sources]) {
      if (signal.aborted) return;
      if (this.deps.protocolOf(source) !== 'v1' && !seedSources.has(formatAddress(source))) continue;
      try {
        await this.fetchV1(d, source, signal);
        await this.finish(d);
        return;
      } catch (e) {
        if (signal.aborted) return;
        errors.push(`${formatAddress(source)}: ${(e as Error).message}`);
        this.deps.log.warn(`download ${d.info.name} from ${formatAddress(source)}: ${(e as Error).message}`);
      }
    }
    if (errors.length === 0) errors.push('no source to download from');
    throw new TransferError(errors.length === 1 ? errors[0]!.replace(/^[^ ]+: /, '') : `all sources failed (${errors.join('; ')})`);
  }

  /** Open a v2 transfer connection; 'v1' if the peer turned out to be a seed peer. */
  private async openSource(source: PeerAddress, signal: AbortSignal): Promise<SourceConn | 'v1'> {
    const socket = await connectTcp(source.host, source.port, this.deps.connectTimeoutMs ?? 5000, signal);
    socket.on('error', () => {});
    const onAbort = () => socket.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => signal.removeEventListener('abort', onAbort));
    try {
      const decoder = new FrameDecoder(TRANSFER_MAX_FRAME);
      sendHello(socket, this.deps.hello());
      const remote = await readHandshake(socket, decoder, this.deps.connectTimeoutMs ?? 5000);
      if (remote === 'v1') {
        this.deps.setProtocol(source, 'v1');
        socket.destroy();
        return 'v1';
      }
      this.deps.setProtocol(source, 'v2');
      return { source, socket, decoder, reader: new SocketReader(socket, decoder.takeRest()) };
    } catch (e) {
      socket.destroy();
      throw e;
    }
  }

  private async request(c: SourceConn, msg: V2Message, d?: Download): Promise<V2Message> {
    c.socket.write(encodeFrame(msg));
    for (;;) {
      const m = await c.reader.frame(c.decoder, 30_000);
      if (!m) throw new TransferError('source closed the connection');
      if (m.t === 'queued' && d) {
        d.info.queuePosition = m.position;
        continue;
      }
      if (m.t === 'error') throw new TransferError(m.message);
      return m;
    }
  }

  /** Learn the size, SHA-256 and piece hashes from a v2 source. */
  private async fetchPieceList(d: Download, c: SourceConn): Promise<void> {
    const head = await this.request(c, {
      t: 'get',
      offset: 0,
      length: 0,
      more: true,
      ...(d.info.sha256 ? { sha256: d.info.sha256 } : { name: d.info.name }),
    });
    if (head.t !== 'get-ok') throw new TransferError(`unexpected ${head.t} from source`);
    if (d.info.sha256 && head.sha256 !== d.info.sha256) throw new TransferError('source offered different content');
    if (!d.info.sha256) {
      d.info.sha256 = head.sha256;
      await this.adoptEarlierPart(d);
      if (d.pieces) return;
    }
    d.info.total = head.size;
    const list = await this.request(c, { t: 'pieces', sha256: head.sha256 });
    if (list.t !== 'pieces-ok') throw new TransferError(`unexpected ${list.t} from source`);
    if (list.sha256 !== head.sha256 || list.size !== head.size || list.hashes.length !== pieceCount(list.size, list.pieceSize))
      throw new TransferError('source sent an inconsistent piece list');
    d.pieces = { pieceSize: list.pieceSize, hashes: list.hashes, have: new Bitfield(list.hashes.length) };
    await this.saveState(d);
  }

  /** A download started by name turned out to be content an earlier run left as `.part`: continue that one. */
  private async adoptEarlierPart(d: Download): Promise<void> {
    for (const { partPath, state } of await listPartStates(this.deps.downloadDir())) {
      if (partPath === d.partPath || state.sha256 !== d.info.sha256) continue;
      if ([...this.downloads.values()].some((o) => o !== d && o.partPath === partPath)) continue;
      await fs.promises.rm(d.partPath!, { force: true });
      await fs.promises.rm(`${d.partPath!}.json`, { force: true });
      this.reservedPaths.delete(d.finalPath!);
      this.attachState(d, partPath, state);
      return;
    }
  }

  private attachState(d: Download, partPath: string, state: PartState): void {
    d.partPath = partPath;
    d.finalPath = state.finalPath;
    if (state.sha256) d.info.sha256 = state.sha256;
    if (state.size !== undefined) d.info.total = state.size;
    if (state.pieceSize && state.pieces && state.size !== undefined && state.pieces.length === pieceCount(state.size, state.pieceSize)) {
      d.pieces = { pieceSize: state.pieceSize, hashes: state.pieces, have: new Bitfield(state.pieces.length, state.done) };
      d.info.bytes = this.doneBytes(d);
    }
    for (const s of state.sources) if (!d.info.sources.some((x) => x.host === s.host && x.port === s.port)) d.info.sources.push(s);
    this.reservedPaths.add(state.finalPath);
  }

  private doneBytes(d: Download): number {
    if (!d.pieces) return 0;
    let n = 0;
    for (let i = 0; i < d.pieces.hashes.length; i++) if (d.pieces.have.has(i)) n += pieceLength(i, d.info.total, d.pieces.pieceSize);
    return n;
  }

  private async preparePart(d: Download): Promise<void> {
    const dir = this.deps.downloadDir();
    // Resume a download of the same content (or, without a hash, the same name from the same source) left by an earlier run.
    for (const { partPath, state } of await listPartStates(dir)) {
      if ([...this.downloads.values()].some((o) => o !== d && o.partPath === partPath)) continue;
      const same = d.info.sha256
        ? state.sha256 === d.info.sha256
        : state.name === d.info.name && state.sources.some((s) => d.info.sources.some((x) => x.host === s.host && x.port === s.port));
      if (same) {
        this.attachState(d, partPath, state);
        return;
      }
    }
    d.finalPath = await uniquePath(dir, d.info.name, this.reservedPaths);
    this.reservedPaths.add(d.finalPath);
    d.partPath = partPathFor(d.finalPath);
    await fs.promises.writeFile(d.partPath, '', { flag: 'wx' });
    await this.saveState(d);
  }

  private async saveState(d: Download): Promise<void> {
    const s: PartState = {
      version: 1,
      name: d.info.name,
      sha256: d.info.sha256,
      size: d.info.total || undefined,
      sources: d.info.sources,
      finalPath: d.finalPath!,
      createdAt: Date.now(),
      ...(d.pieces ? { pieceSize: d.pieces.pieceSize, pieces: d.pieces.hashes, done: d.pieces.have.toBase64() } : {}),
    };
    await writePartState(d.partPath!, s);
  }

  /** Save the state soon, coalescing: at most one write in flight and one every 200 ms. */
  private saveStateSoon(d: Download): void {
    if (d.saveTimer) return;
    const wait = Math.max(0, (d.savedAt ?? 0) + 200 - Date.now());
    d.saveTimer = setTimeout(() => {
      d.saveTimer = undefined;
      const run = async () => {
        await d.saving;
        d.savedAt = Date.now();
        await this.saveState(d).catch((e: Error) => this.deps.log.warn(`cannot save the state of ${d.info.name}: ${e.message}`));
      };
      const p: Promise<void> = run().finally(() => {
        if (d.saving === p) d.saving = undefined;
      });
      d.saving = p;
    }, wait);
  }

  /** Stop coalesced saving, wait for a write in flight, then save the state now. */
  private async saveStateNow(d: Download): Promise<void> {
    clearTimeout(d.saveTimer);
    d.saveTimer = undefined;
    await d.saving;
    await this.saveState(d);
  }

  private async swarm(d: Download, signal: AbortSignal, pre?: SourceConn): Promise<void> {
    const pieces = d.pieces!;
    const usable = () => d.info.sources.filter((s) => this.deps.protocolOf(s) !== 'v1' && !d.dropped.has(formatAddress(s)));
    if (usable().length === 0 && d.dropped.size > 0)
      throw new TransferError(
        `${pieces.hashes.length - pieces.have.done} pieces missing: every source sent bad data (dropped ${[...d.dropped].join(', ')}); the good pieces are kept`,
      );
    const fh = await fs.promises.open(d.partPath!, 'r+');
    await d.whole?.close();
    const content = new ContentVerifier(d.partPath!, d.info.total, pieces.pieceSize, pieces.hashes, pieces.have);
    d.whole = content;
    // Whatever an earlier run left done is read back into the whole-file hash while the rest arrives.
    content.catchUp();
    let ok = false;
    try {
      d.info.bytes = this.doneBytes(d);
      await runSwarm({
        sha256: d.info.sha256!,
        size: d.info.total,
        pieceSize: pieces.pieceSize,
        hashes: pieces.hashes,
        have: pieces.have,
        fh,
        sources: usable,
        open: (s) => this.openSource(s, signal),
        throttle: (n) => takeAll([this.downLimit, d.limit], n),
        onBytes: (n) => {
          this.deps.stats.bytesDown += n;
        },
        content,
        onPiece: (i, source) => {
          d.pieceFrom.set(i, formatAddress(source));
          d.info.bytes += pieceLength(i, d.info.total, pieces.pieceSize);
          this.saveStateSoon(d);
        },
        onBadSource: (source) => d.dropped.add(formatAddress(source)),
        onQueued: (position) => {
          d.info.queuePosition = position;
          d.info.state = position === undefined ? 'running' : 'queued';
        },
        log: this.deps.log,
        name: d.info.name,
        signal,
        preopened: pre,
      });
      await fh.truncate(d.info.total);
      ok = true;
    } finally {
      if (!ok) {
        await content.close();
        d.whole = undefined;
      }
      await fh.close();
      await this.saveStateNow(d).catch(() => {});
    }
  }

  /** A whole-file GET from a seed peer (no ranges: a resume starts over). */
  private async fetchV1(d: Download, source: PeerAddress, signal: AbortSignal): Promise<void> {
    let expected = d.info.total || undefined;
    if (expected === undefined) {
      const listing = await listV1(source.host, source.port).catch(() => []);
      expected = listing.find((f) => f.name === d.info.name)?.size;
    }
    const socket = await connectTcp(source.host, source.port, this.deps.connectTimeoutMs ?? 5000, signal);
    const onAbort = () => socket.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      socket.write(`GET,${d.info.name},${source.host},${source.port}`);
      const parser = new V1GetHeaderParser(expected);
      const rest = await new Promise<Buffer>((resolve, reject) => {
        const onData = (c: Buffer) => {
          const r = parser.push(c);
          if (parser.error) return done(() => reject(new TransferError(parser.error)));
          if (parser.size !== undefined) {
            socket.pause();
            done(() => resolve(r ?? Buffer.alloc(0)));
          }
        };
        const onClose = () => done(() => reject(new TransferError('source closed before sending the size')));
        const done = (fn: () => void) => {
          socket.off('data', onData);
          socket.off('close', onClose);
          fn();
        };
        socket.on('data', onData);
        socket.on('close', onClose);
      });
      d.info.total = parser.size!;
      d.info.bytes = 0;
      await this.saveState(d);
      await this.receiveV1(d, socket, rest, parser.size!);
    } finally {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
    }
  }

  /** Stream a seed peer's whole file into the `.part` from offset 0, with back-pressure and limits. */
  private async receiveV1(d: Download, socket: net.Socket, first: Buffer, length: number): Promise<void> {
    const hash = crypto.createHash('sha256');
    d.whole?.close();
    d.whole = undefined;
    if (d.pieces) d.pieces.have.clear();
    const reader = new SocketReader(socket, first);
    const fh = await fs.promises.open(d.partPath!, 'w');
    try {
      let got = 0;
      let pending: Promise<unknown> | undefined;
      while (got < length) {
        const c = await reader.read(length - got, 30_000);
        if (!c) throw new TransferError(`source went away after ${got} of ${length} bytes`);
        const at = got;
        got += c.length;
        hash.update(c);
        this.deps.stats.bytesDown += c.length;
        await pending;
        pending = fh.write(c, 0, c.length, at).then(
          () => (d.info.bytes = at + c.length),
          (e: NodeJS.ErrnoException) => {
            throw diskError(e);
          },
        );
        pending.catch(() => {});
        const wait = takeAll([this.downLimit, d.limit], c.length);
        if (wait > 0) await sleep(wait);
      }
      await pending;
      const digest = hash.digest('hex');
      d.whole = { digest: () => Promise.resolve(digest), close: () => {} };
    } finally {
      await fh.close();
    }
  }

  /**
   * Check the whole file, then move it into place. When it does not match but
   * a piece list says which pieces are bad, those are marked missing and their
   * senders dropped: with `repair` this returns false so they are fetched again.
   */
  private async finish(d: Download, repair = false): Promise<boolean> {
    const size = await fileSize(d.partPath!);
    if (size !== d.info.total) throw new TransferError(`incomplete: ${size} of ${d.info.total} bytes`);
    // Whole-file check, kept on the way in (only what it has not seen is read back), while the data goes to disk.
    const whole = d.whole;
    d.whole = undefined;
    let digest: string;
    let bad: number[] = [];
    try {
      [digest] = await Promise.all([
        whole ? whole.digest() : hashPrefix(d.partPath!, size).then((h) => h.digest('hex')),
        syncFile(d.partPath!),
      ]);
      if (d.info.sha256 && digest !== d.info.sha256 && d.pieces && whole?.badPieces) bad = await whole.badPieces();
    } finally {
      await whole?.close();
    }
    if (d.info.sha256 && digest !== d.info.sha256 && bad.length > 0) {
      this.dropBadPieces(d, bad);
      await this.saveState(d);
      if (repair) return false;
      throw new TransferError(`${bad.length} pieces failed verification and no source was left to fetch them again`);
    }
    if (d.info.sha256 && digest !== d.info.sha256) {
      // Every piece matched its hash but the whole did not: the piece list itself was wrong. Start over.
      d.pieces = undefined;
      await fs.promises.truncate(d.partPath!, 0);
      d.info.bytes = 0;
      await this.saveState(d);
      throw new TransferError('SHA-256 mismatch: the data was corrupt, partial file discarded');
    }
    d.info.sha256 = digest;
    const finalPath = await commitPart(d.partPath!, d.finalPath!, () =>
      uniquePath(this.deps.downloadDir(), d.info.name, this.reservedPaths),
    );
    this.reservedPaths.delete(d.finalPath!);
    d.info.path = finalPath;
    d.info.state = 'done';
    d.info.verified = true;
    d.info.bytes = size;
    d.info.queuePosition = undefined;
    d.info.speed = 0;
    d.info.eta = 0;
    this.deps.log.info(`downloaded ${d.info.name} (${size} bytes, sha256 ${digest.slice(0, 12)}…) to ${finalPath}`);
    this.emitNow(d.info, 'transfer:done');
    return true;
  }

  /** Bad pieces become missing again; whoever sent them this run is named and dropped from the download. */
  private dropBadPieces(d: Download, bad: number[]): void {
    // By sender; undefined: received by an earlier run, sender unknown.
    const bySource = new Map<string | undefined, number[]>();
    for (const i of bad) {
      d.pieces!.have.set(i, false);
      const from = d.pieceFrom.get(i);
      bySource.set(from, [...(bySource.get(from) ?? []), i]);
    }
    for (const [who, pieces] of bySource) {
      const what = `${pieces.length === 1 ? 'piece' : 'pieces'} ${pieces.join(', ')} failed verification (bad data)`;
      if (who === undefined) this.deps.log.warn(`download ${d.info.name}: ${what}, received by an earlier run; fetching them again`);
      else {
        d.dropped.add(who);
        this.deps.log.warn(`download ${d.info.name}: dropping source ${who}: ${what}`);
      }
    }
    d.info.bytes = this.doneBytes(d);
  }

  // ---- uploads ----

  /**
   * Serve a v2 transfer connection: `get` (a range, after waiting for an upload
   * slot; a zero-length get answers at once with the file's size and hash) and
   * `pieces` (the piece-hash list). With `more`, the connection stays open for
   * the next request and keeps its slot.
   */
  async serveTransfer(socket: net.Socket, decoder: FrameDecoder, first: V2Message, remote: Hello): Promise<void> {
    const reader = new SocketReader(socket, decoder.takeRest(), 64 * 1024);
    const abort = new AbortController();
    socket.once('close', () => abort.abort());
    socket.on('error', () => {});
    const who = `${socket.remoteAddress?.replace(/^::ffff:/, '')}:${remote.port}`;
    let release: (() => void) | undefined;
    let up: Upload | undefined;
    const fail = (code: string, message: string): void => {
      socket.end(encodeFrame({ t: 'error', code, message }));
    };
    try {
      for (
        let req: V2Message | undefined = first;
        req;
        req = await reader.frame(decoder, this.deps.idleTimeoutMs ?? 30_000).catch(() => undefined)
      ) {
        if (req.t === 'pieces') {
          const file = this.deps.library.getByHash(req.sha256);
          if (!file) return fail('not-found', 'could not find the file in the shared folder');
          try {
            const list = await this.pieceCache.get(file);
            socket.write(
              encodeFrame({ t: 'pieces-ok', sha256: list.sha256, size: list.size, pieceSize: list.pieceSize, hashes: list.hashes }),
            );
          } catch (e) {
            return fail('not-found', (e as Error).message);
          }
          continue;
        }
        if (req.t !== 'get') return fail('bad-request', `unexpected ${req.t} on a transfer connection`);
        const file = req.sha256 ? this.deps.library.getByHash(req.sha256) : req.name ? this.deps.library.getByName(req.name) : undefined;
        if (!file) return fail('not-found', 'could not find the file in the shared folder');
        if (req.offset > file.size) return fail('bad-range', `offset ${req.offset} is past the end (${file.size})`);
        const length = Math.min(req.length ?? file.size - req.offset, file.size - req.offset);
        const header = () =>
          socket.write(encodeFrame({ t: 'get-ok', name: file.name, size: file.size, sha256: file.sha256, offset: req.offset, length }));
        if (length === 0 && req.more) {
          header();
          continue;
        }
        if (!release) {
          try {
            release = await this.slots.acquire((position) => socket.write(encodeFrame({ t: 'queued', position })), abort.signal);
          } catch (e) {
            return fail('busy', (e as Error).message);
          }
        }
        if (socket.destroyed) return;
        if (!up || up.info.sha256 !== file.sha256) up = this.startUpload(socket, file, who);
        const ok = await this.streamRange(socket, file, req.offset, length, up, header);
        if (!ok) return;
        if (!req.more) {
          socket.end();
          return;
        }
      }
    } finally {
      release?.();
      if (up) this.endUpload(up);
      if (!socket.destroyed) socket.end();
    }
  }

  /** Serve a seed GET: the size in its own segment, then the raw bytes, then close. */
  async serveV1(socket: net.Socket, name: string): Promise<void> {
    const file = this.deps.library.getByName(name) ?? this.deps.library.findExact(name);
    if (!file) {
      socket.end('ERROR: could not find the file in the server');
      return;
    }
    let release: () => void;
    try {
      release = await this.slots.acquire(() => {});
    } catch {
      socket.end('ERROR: server busy, try again later');
      return;
    }
    const up = this.startUpload(socket, file, `${socket.remoteAddress?.replace(/^::ffff:/, '')} (v1)`);
    try {
      const ok = await this.streamRange(socket, file, 0, file.size, up, async () => {
        socket.setNoDelay(true);
        await new Promise<void>((r) => socket.write(String(file.size), () => r()));
        // The seed's client reads the size with one recv(64): give it time to read it alone.
        await new Promise((r) => setTimeout(r, 60));
      });
      if (ok) socket.end();
    } finally {
      release();
      this.endUpload(up);
    }
  }

  private startUpload(socket: net.Socket, file: IndexedFile, who: string): Upload {
    const up: Upload = {
      info: newTransferInfo('up', file.name, file.sha256, 'running', file.size),
      socket,
      meter: new SpeedMeter(),
      limit: new TokenBucket(),
    };
    this.deps.log.info(`uploading ${file.name} to ${who}`);
    this.uploads.set(up.info.id, up);
    return up;
  }

  private endUpload(up: Upload): void {
    if (up.info.state === 'running')
      up.info.state = up.info.bytes > 0 && !up.socket.destroyed ? 'done' : up.info.bytes >= up.info.total ? 'done' : 'failed';
    this.emitNow(up.info, up.info.state === 'done' ? 'transfer:done' : 'transfer:failed');
    // Keep finished uploads briefly for the UI, bounded.
    setTimeout(() => this.uploads.delete(up.info.id), 60_000).unref();
  }

  /** Send a header, then `length` bytes of the file from `offset`, within the limits. False if the connection was lost. */
  private async streamRange(
    socket: net.Socket,
    file: IndexedFile,
    offset: number,
    length: number,
    up: Upload,
    header: () => unknown,
  ): Promise<boolean> {
    // Re-check at open time: the index may be stale, and a file may have become a symlink.
    const st = await fs.promises.lstat(file.absPath).catch(() => undefined);
    if (!st?.isFile() || !(await isRealPathInside(this.deps.library.root, file.absPath))) {
      socket.end(encodeFrame({ t: 'error', code: 'not-found', message: 'file is no longer shared' }));
      return false;
    }
    await header();
    if (length === 0) return !socket.destroyed;
    // Under a limit, 64 KiB reads keep the rate smooth over short windows.
    const limited = this.upLimit.rate > 0 || up.limit.rate > 0;
    return sendFileRange(socket, file.absPath, offset, length, {
      chunkSize: limited ? 64 * 1024 : undefined,
      onChunk: (n) => {
        up.info.bytes += n;
        this.deps.stats.bytesUp += n;
        return takeAll([this.upLimit, up.limit], n);
      },
    });
  }

  // ---- progress ----

  private publishProgress(): void {
    for (const t of [...this.downloads.values(), ...this.uploads.values()]) {
      if (t.info.state !== 'running' && t.info.state !== 'queued') continue;
      t.info.speed = Math.round(t.meter.sample(t.info.bytes));
      t.info.eta = etaSeconds(t.info.bytes, t.info.total, t.info.speed);
      const key = `${t.info.state}:${t.info.bytes}:${t.info.total}:${t.info.queuePosition ?? ''}`;
      if (this.lastSent.get(t.info.id) === key) continue;
      this.lastSent.set(t.info.id, key);
      this.deps.emit('transfer:progress', { ...t.info });
    }
  }

  private emitNow(info: TransferInfo, event: 'transfer:progress' | 'transfer:done' | 'transfer:failed'): void {
    this.lastSent.delete(info.id);
    this.deps.emit(event, { ...info });
  }
}
