import fs from 'node:fs';
import path from 'node:path';
import type { PeerAddress, TransferInfo } from '../../../shared/types.js';
import { formatAddress } from '../address.js';
import type { Logger } from '../logger.js';
import { uniquePath } from '../safe-path.js';
import type { StatsCounter } from '../stats.js';
import { takeAll, TokenBucket } from '../token-bucket.js';
import { ContentVerifier } from './content-verifier.js';
import { finishDownload, type FinishContext } from './download-finish.js';
import { ensureSpace, SpaceWatch } from './free-space.js';
import {
  addSources,
  doneBytes,
  localName,
  newDownload,
  newTransferInfo,
  sameAddress,
  type Download,
  type DownloadRequest,
} from './download.js';
import { partPathFor } from './part-file.js';
import { inOrder } from './piece-picker.js';
import { Bitfield, pieceLength } from './pieces.js';
import type { ProgressPublisher } from './progress-publisher.js';
import { applyState, type ResumeStore, type StoredPart } from './resume-store.js';
import { DiskError, TransferError, type SourceConn } from './source-conn.js';
import { followStrategy } from './stream-priority.js';
import { runSwarm } from './swarm.js';
import { fetchV1 } from './v1-fetch.js';
import { fetchHead, fetchPieceHashes, openSource, type SourceDialer } from './v2-source.js';

/** What downloads need from the peer. */
interface DownloadDeps extends SourceDialer {
  downloadDir: () => string;
  stats: StatsCounter;
  log: Logger;
  protocolOf: (a: PeerAddress) => 'v1' | 'v2' | 'unknown';
  maxDownloadRate?: number;
}

/** Rounds of refetching pieces found bad after the whole-file check, before a download gives up. */
const MAX_REPAIR_ROUNDS = 3;

/**
 * Download orchestration. Downloads write to a `.part` beside their final
 * name, with resume state kept by the ResumeStore, fetch from v2 sources as a
 * swarm (or whole from a seed peer), verify SHA-256, fsync, and only then take
 * their final name.
 */
export class Downloads {
  readonly downloads = new Map<string, Download>();
  readonly reservedPaths = new Set<string>();
  /** Global download limit, shared by every download. */
  readonly downLimit: TokenBucket;
  private readonly finishing: FinishContext;

  constructor(
    private readonly deps: DownloadDeps,
    private readonly store: ResumeStore,
    private readonly publisher: ProgressPublisher,
  ) {
    this.downLimit = new TokenBucket(deps.maxDownloadRate ?? 0);
    this.finishing = {
      downloadDir: deps.downloadDir,
      reservedPaths: this.reservedPaths,
      log: deps.log,
      saveState: (d) => this.store.save(d),
      forgetState: (d) => this.store.forget(d),
      publish: (d, ev) => this.publisher.now(d.info, ev),
    };
  }

  /** Downloads left as `.part` by an earlier run show up paused, ready to resume. */
  async restore(): Promise<void> {
    for (const stored of await this.store.list()) {
      if (this.holds(stored.partPath)) continue;
      const d = newDownload(newTransferInfo('down', stored.state.name, stored.state.sha256, 'paused', stored.state.size ?? 0));
      this.attach(d, stored);
      this.downloads.set(d.info.id, d);
    }
  }

  download(req: DownloadRequest): TransferInfo {
    const name = path.posix.basename(req.name);
    const same = this.findSame(name, req);
    if (same) {
      // The same file already downloading (or left paused by an earlier run): that transfer, with the new sources.
      addSources(same, req.sources);
      if (same.info.state === 'paused' || same.info.state === 'failed') this.resume(same.info.id);
      return { ...same.info };
    }
    const d = newDownload(newTransferInfo('down', name, req.sha256, 'queued', req.size ?? 0, [...req.sources]));
    d.expectedSize = req.size;
    this.downloads.set(d.info.id, d);
    this.start(d);
    return { ...d.info };
  }

  private findSame(name: string, req: DownloadRequest): Download | undefined {
    for (const d of this.downloads.values()) {
      if (d.info.direction !== 'down' || d.info.state === 'cancelled' || d.info.state === 'done') continue;
      const sameSource = req.sources.some((s) => d.info.sources.some((x) => sameAddress(x, s)));
      if (req.sha256 ? d.info.sha256 === req.sha256 : d.info.name === name && sameSource) return d;
    }
    return undefined;
  }

  pause(id: string): TransferInfo {
    const d = this.mustGet(id);
    if (d.info.state === 'running' || d.info.state === 'queued') {
      d.info.state = 'paused';
      d.abort?.abort();
      this.publisher.now(d.info, 'transfer:progress');
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

  cancel(d: Download): TransferInfo {
    if (d.info.state === 'done') return { ...d.info };
    d.info.state = 'cancelled';
    d.abort?.abort();
    const cleanup = async () => {
      await d.run?.catch(() => {});
      if (d.partPath) await this.store.remove(d);
      if (d.finalPath) this.reservedPaths.delete(d.finalPath);
    };
    d.run = cleanup();
    this.publisher.now(d.info, 'transfer:failed');
    return { ...d.info };
  }

  /** Stop every download now; each keeps its `.part` to resume. */
  async abortAll(): Promise<void> {
    for (const d of this.downloads.values()) {
      if (d.info.state === 'running' || d.info.state === 'queued') {
        d.info.state = 'paused';
        d.abort?.abort();
      }
    }
    await Promise.all([...this.downloads.values()].map((d) => d.run?.catch(() => {})));
  }

  mustGet(id: string): Download {
    const d = this.downloads.get(id);
    if (!d) throw new Error(`no download with id ${id}`);
    return d;
  }

  private holds(partPath: string, except?: Download): boolean {
    return [...this.downloads.values()].some((o) => o !== except && o.partPath === partPath);
  }

  private start(d: Download): void {
    const abort = new AbortController();
    d.abort = abort;
    d.run = this.run(d, abort.signal).catch((e: Error) => {
      if (abort.signal.aborted) return; // paused, cancelled or shutting down
      d.info.state = 'failed';
      d.info.error = e.message;
      this.deps.log.warn(`download ${d.info.name} failed: ${e.message}`);
      this.publisher.now(d.info, 'transfer:failed');
    });
  }

  private async run(d: Download, signal: AbortSignal): Promise<void> {
    await fs.promises.mkdir(this.deps.downloadDir(), { recursive: true });
    if (!d.partPath) await this.preparePart(d);
    d.info.state = 'running';
    d.meter.reset(d.info.bytes);
    d.space = new SpaceWatch(this.deps.downloadDir(), () => d.info.total - d.info.bytes);
    const errors: string[] = [];
    // Sources that turned out to be seed peers; the host cache only remembers known peers.
    const seedSources = new Set<string>();
    const pre = d.pieces ? undefined : await this.learnPieces(d, signal, errors, seedSources);
    if (signal.aborted) return;
    if (d.pieces && (await this.runPieces(d, signal, errors, pre))) return;
    if (signal.aborted) return;
    // Seed peers: a whole-file GET without ranges, verified when the hash is known.
    for (const source of [...d.info.sources]) {
      if (signal.aborted) return;
      if (this.deps.protocolOf(source) !== 'v1' && !seedSources.has(formatAddress(source))) continue;
      try {
        await fetchV1(this.v1Context(), d, source, signal);
        await finishDownload(this.finishing, d);
        return;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof DiskError) throw e;
        this.sourceFailed(d, source, e as Error, errors);
      }
    }
    if (errors.length === 0) errors.push('no source to download from');
    throw new TransferError(errors.length === 1 ? errors[0]!.replace(/^[^ ]+: /, '') : `all sources failed (${errors.join('; ')})`);
  }

  private sourceFailed(d: Download, source: PeerAddress, e: Error, errors: string[]): void {
    errors.push(`${formatAddress(source)}: ${e.message}`);
    this.deps.log.warn(`download ${d.info.name} from ${formatAddress(source)}: ${e.message}`);
  }

  /** Ask v2 sources in turn for the piece list; the connection that gave it is kept for the swarm. */
  private async learnPieces(d: Download, signal: AbortSignal, errors: string[], seeds: Set<string>): Promise<SourceConn | undefined> {
    for (const source of [...d.info.sources]) {
      if (signal.aborted) return undefined;
      if (this.deps.protocolOf(source) === 'v1') continue;
      try {
        const c = await this.open(d, source, signal);
        if (c === 'v1') {
          seeds.add(formatAddress(source));
          continue;
        }
        try {
          await this.fetchPieceList(d, c);
          return c;
        } catch (e) {
          c.socket.destroy();
          throw e;
        }
      } catch (e) {
        if (signal.aborted) return undefined;
        this.sourceFailed(d, source, e as Error, errors);
      }
    }
    return undefined;
  }

  /** Swarm, verify, and repair bad pieces; true once done. DiskError and aborts end the download. */
  private async runPieces(d: Download, signal: AbortSignal, errors: string[], pre?: SourceConn): Promise<boolean> {
    try {
      for (let round = 0; ; round++) {
        await ensureSpace(this.deps.downloadDir(), d.info.total - doneBytes(d));
        await this.swarm(d, signal, pre);
        pre = undefined;
        // Pieces found bad after the whole-file check are fetched again, from the sources left.
        if (await finishDownload(this.finishing, d, round < MAX_REPAIR_ROUNDS)) return true;
      }
    } catch (e) {
      if (signal.aborted || e instanceof DiskError) throw e;
      errors.push((e as Error).message);
      return false;
    }
  }

  /** Open a v2 source; a push or a relay it came by shows on the transfer (it wins over direct). */
  private async open(d: Download, source: PeerAddress, signal: AbortSignal): Promise<SourceConn | 'v1'> {
    const c = await openSource(this.deps, source, signal);
    if (c !== 'v1' && c.route && (!d.info.route || c.route.kind !== 'direct')) d.info.route = c.route;
    return c;
  }

  /** Learn the size, SHA-256 and piece hashes from a v2 source. */
  private async fetchPieceList(d: Download, c: SourceConn): Promise<void> {
    const onQueued = (p: number) => (d.info.queuePosition = p);
    const head = await fetchHead(c, { sha256: d.info.sha256, name: d.info.name }, onQueued);
    if (!d.info.sha256) {
      d.info.sha256 = head.sha256;
      await this.adoptEarlierPart(d);
      if (d.pieces) return;
    }
    if (d.expectedSize !== undefined && head.size !== d.expectedSize)
      throw new TransferError(`source claims ${head.size} bytes, the search hit said ${d.expectedSize}`);
    d.info.total = head.size;
    const list = await fetchPieceHashes(c, head, onQueued);
    d.pieces = { pieceSize: list.pieceSize, hashes: list.hashes, have: new Bitfield(list.hashes.length) };
    await this.store.save(d);
  }

  /** A download started by name turned out to be content an earlier run left as `.part`: continue that one. */
  private async adoptEarlierPart(d: Download): Promise<void> {
    for (const stored of await this.store.list()) {
      if (stored.partPath === d.partPath || stored.state.sha256 !== d.info.sha256 || this.holds(stored.partPath, d)) continue;
      await this.store.remove(d);
      this.reservedPaths.delete(d.finalPath!);
      this.attach(d, stored);
      return;
    }
  }

  private attach(d: Download, stored: StoredPart): void {
    applyState(d, stored);
    this.reservedPaths.add(stored.state.finalPath);
  }

  private async preparePart(d: Download): Promise<void> {
    const dir = this.deps.downloadDir();
    // Resume a download of the same content (or, without a hash, the same name from the same source) left by an earlier run.
    for (const stored of await this.store.list()) {
      if (this.holds(stored.partPath, d)) continue;
      const { state } = stored;
      const same = d.info.sha256
        ? state.sha256 === d.info.sha256
        : state.name === d.info.name && state.sources.some((s) => d.info.sources.some((x) => sameAddress(x, s)));
      if (same) return this.attach(d, stored);
    }
    d.finalPath = await uniquePath(dir, localName(d.info.name), this.reservedPaths);
    this.reservedPaths.add(d.finalPath);
    d.partPath = partPathFor(d.finalPath);
    await fs.promises.writeFile(d.partPath, '', { flag: 'wx' });
    await this.store.save(d);
  }

  private v1Context() {
    return {
      connectTimeoutMs: this.deps.connectTimeoutMs,
      throttle: (d: Download, n: number) => takeAll([this.downLimit, d.limit], n),
      onBytes: (n: number) => (this.deps.stats.bytesDown += n),
      saveState: (d: Download) => this.store.save(d),
      ensureSpace: (need: number) => ensureSpace(this.deps.downloadDir(), need),
      guard: (d: Download) => d.space?.check(),
    };
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
      d.info.bytes = doneBytes(d);
      await runSwarm({
        sha256: d.info.sha256!,
        size: d.info.total,
        pieceSize: pieces.pieceSize,
        hashes: pieces.hashes,
        have: pieces.have,
        fh,
        sources: usable,
        open: (s) => this.open(d, s, signal),
        throttle: (n) => takeAll([this.downLimit, d.limit], n),
        onBytes: (n) => (this.deps.stats.bytesDown += n),
        content,
        strategy: followStrategy(() => d.stream?.strategy, inOrder),
        onPiece: (i, source) => {
          d.stream?.stored(i);
          d.pieceFrom.set(i, formatAddress(source));
          d.info.bytes += pieceLength(i, d.info.total, pieces.pieceSize);
          this.store.saveSoon(d);
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
        guard: () => d.space?.check(),
      });
      await fh.truncate(d.info.total);
      ok = true;
    } finally {
      if (!ok) {
        await content.close();
        d.whole = undefined;
      }
      await fh.close();
      await this.store.saveNow(d).catch(() => {});
    }
  }
}
