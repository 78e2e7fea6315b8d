import type net from 'node:net';
import path from 'node:path';
import type { PeerAddress, TransferInfo } from '../../../shared/types.js';
import type { Library } from '../library.js';
import type { Logger } from '../logger.js';
import type { StatsCounter } from '../stats.js';
import type { TokenBucket } from '../token-bucket.js';
import type { PeerIdentity } from '../identity/identity.js';
import type { Hello } from '../v2/connection.js';
import type { FrameDecoder } from '../v2/frame.js';
import type { V2Message } from '../v2/messages.js';
import type { DownloadRequest } from './download.js';
import { Downloads } from './downloads.js';
import { ProgressPublisher, type TransferEvent } from './progress-publisher.js';
import { ResumeStore } from './resume-store.js';
import type { SlotQueue } from './slots.js';
import type { UploadLimits } from './connection-limits.js';
import { UploadServer } from './upload-server.js';
import type { SourceDialer } from './v2-source.js';

export type { DownloadRequest } from './download.js';

export interface TransferDeps extends Partial<UploadLimits> {
  library: Library;
  downloadDir: () => string;
  stats: StatsCounter;
  log: Logger;
  /** Our hello for a transfer connection. */
  hello: () => Hello;
  /** Our key and certificate: transfer links are TLS 1.3, authenticated both ways. */
  identity: () => PeerIdentity;
  /** The ID pinned for a source's address, if any. */
  pinnedId?: (a: PeerAddress) => string | undefined;
  /** A source proved this ID (pins it on first contact). */
  proved?: (a: PeerAddress, id: string) => void;
  protocolOf: (a: PeerAddress) => 'v1' | 'v2' | 'unknown';
  setProtocol: (a: PeerAddress, v: 'v1' | 'v2') => void;
  emit: (event: TransferEvent, t: TransferInfo) => void;
  uploadSlots: number;
  connectTimeoutMs?: number;
  /** Global limits in bytes per second; 0 = none. */
  maxUploadRate?: number;
  maxDownloadRate?: number;
  /** How long an idle transfer connection is kept for a further request. */
  idleTimeoutMs?: number;
  /** Where resume state is kept (the data folder); by default a hidden folder in the downloads folder. */
  stateDir?: () => string;
  /** Ask a source that cannot be dialled to dial us (PUSH, reach/push.ts). */
  push?: SourceDialer['push'];
}

/**
 * Downloads and uploads, as the peer sees them: a facade over download
 * orchestration (Downloads), resume state (ResumeStore), the upload server
 * (UploadServer) and progress events (ProgressPublisher).
 */
export class TransferManager {
  readonly publisher: ProgressPublisher;
  readonly downloads: Downloads;
  readonly uploads: UploadServer;
  readonly slots: SlotQueue;
  /** Global bandwidth limits, shared by every transfer in that direction. */
  readonly upLimit: TokenBucket;
  readonly downLimit: TokenBucket;

  /** The parts read `deps` when they need it, so the peer may swap `deps.library` (a new shared folder). */
  constructor(private readonly deps: TransferDeps) {
    this.publisher = new ProgressPublisher(
      () => [...this.downloads.downloads.values(), ...this.uploads.uploads.values()],
      (ev, t) => this.deps.emit(ev, t),
    );
    this.uploads = new UploadServer(deps, this.publisher);
    this.downloads = new Downloads(
      deps,
      new ResumeStore(deps.stateDir ?? (() => path.join(deps.downloadDir(), '.mactella-resume')), deps.downloadDir, deps.log),
      this.publisher,
    );
    this.slots = this.uploads.slots;
    this.upLimit = this.uploads.upLimit;
    this.downLimit = this.downloads.downLimit;
  }

  /** Serve and index against another library (the shared folder changed); the parts read it from `deps` on use. */
  setLibrary(library: Library): void {
    this.deps.library = library;
  }

  list(): TransferInfo[] {
    return [...this.downloads.downloads.values(), ...this.uploads.uploads.values()].map((t) => ({ ...t.info }));
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
  restore(): Promise<void> {
    return this.downloads.restore();
  }

  /** Change the global limits (bytes/s, 0 = none); running transfers follow at once. */
  setLimits(limits: { up?: number; down?: number }): void {
    if (limits.up !== undefined) this.upLimit.setRate(limits.up);
    if (limits.down !== undefined) this.downLimit.setRate(limits.down);
  }

  /** A limit for one transfer (either direction), on top of the global one. */
  setTransferLimit(id: string, bytesPerSecond: number): TransferInfo {
    const t = this.downloads.downloads.get(id) ?? this.uploads.uploads.get(id);
    if (!t) throw new Error(`no transfer with id ${id}`);
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0)
      throw new Error(`bad limit ${bytesPerSecond}: expected bytes per second, 0 = none`);
    t.limit.setRate(bytesPerSecond);
    return { ...t.info };
  }

  download(req: DownloadRequest): TransferInfo {
    return this.downloads.download(req);
  }

  pause(id: string): TransferInfo {
    return this.downloads.pause(id);
  }

  resume(id: string): TransferInfo {
    return this.downloads.resume(id);
  }

  cancel(id: string): TransferInfo {
    const d = this.downloads.downloads.get(id);
    if (d) return this.downloads.cancel(d);
    const u = this.uploads.uploads.get(id);
    if (!u) throw new Error(`no transfer with id ${id}`);
    u.info.state = 'cancelled';
    u.socket.destroy();
    return { ...u.info };
  }

  /** Resolves once a download's current run (or its cancellation's cleanup) has ended. */
  async settled(id: string): Promise<void> {
    await this.downloads.mustGet(id).run?.catch(() => {});
  }

  /** FORCEQUIT / shutdown: stop everything now; downloads keep their `.part` to resume. */
  async abortAll(): Promise<void> {
    this.uploads.abortAll();
    await this.downloads.abortAll();
  }

  close(): void {
    this.publisher.close();
  }

  serveTransfer(socket: net.Socket, decoder: FrameDecoder, first: V2Message, remote: Hello): Promise<void> {
    return this.uploads.serveTransfer(socket, decoder, first, remote);
  }

  serveV1(socket: net.Socket, name: string): Promise<void> {
    return this.uploads.serveV1(socket, name);
  }
}
