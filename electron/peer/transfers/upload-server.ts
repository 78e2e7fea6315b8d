import fs from 'node:fs';
import type net from 'node:net';
import type { TransferInfo } from '../../../shared/types.js';
import { normalizeHost } from '../address.js';
import type { IndexedFile, Library } from '../library.js';
import type { Logger } from '../logger.js';
import { isRealPathInside } from '../safe-path.js';
import type { StatsCounter } from '../stats.js';
import { takeAll, TokenBucket } from '../token-bucket.js';
import type { Hello } from '../v2/connection.js';
import { encodeFrame, type FrameDecoder } from '../v2/frame.js';
import type { V2Message } from '../v2/messages.js';
import { newTransferInfo } from './download.js';
import { sendFileRange } from './file-sender.js';
import { PieceCache } from './pieces.js';
import type { ProgressPublisher } from './progress-publisher.js';
import { SpeedMeter } from './progress.js';
import { DEFAULT_UPLOAD_LIMITS, SlotlessCounter, type UploadLimits } from './connection-limits.js';
import { SlotQueue } from './slots.js';
import { SocketReader } from './socket-reader.js';

/** One upload: a file going out on one connection. */
interface Upload {
  info: TransferInfo;
  socket: net.Socket;
  meter: SpeedMeter;
  limit: TokenBucket;
}

/** What the upload server needs from the peer. */
interface UploadDeps {
  library: Library;
  stats: StatsCounter;
  log: Logger;
  uploadSlots: number;
  maxUploadRate?: number;
  /** How long an idle transfer connection is kept for a further request. */
  idleTimeoutMs?: number;
}

/** The upload server's dependencies, with any limit overridden. */
type UploadServerDeps = UploadDeps & Partial<UploadLimits>;

/** What a request on a transfer connection resolved to. */
type Step = 'next' | 'end';

/**
 * Serves files: v2 transfer connections (ranges and piece lists) and seed
 * GETs, in a limited number of upload slots with a queue, within the global
 * and per-upload rate limits.
 */
export class UploadServer {
  readonly uploads = new Map<string, Upload>();
  readonly slots: SlotQueue;
  readonly upLimit: TokenBucket;
  /** Piece lists for uploads, from the library's cache (computed when it is indexed). */
  private readonly pieceCache: PieceCache<IndexedFile>;
  private readonly limits: UploadLimits;
  private readonly slotless: SlotlessCounter;

  constructor(
    private readonly deps: UploadServerDeps,
    private readonly publisher: ProgressPublisher,
  ) {
    this.limits = { ...DEFAULT_UPLOAD_LIMITS, ...definedOnly(deps) };
    this.slotless = new SlotlessCounter(this.limits);
    this.upLimit = new TokenBucket(deps.maxUploadRate ?? 0);
    this.slots = new SlotQueue(deps.uploadSlots, 1000, () => this.limits.slotsPerIp ?? Math.max(1, Math.ceil(this.slots.capacity / 2)));
    this.pieceCache = new PieceCache<IndexedFile>((f) => this.deps.library.pieces(f));
  }

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
    const ip = normalizeHost(socket.remoteAddress ?? '');
    const conn: TransferConn = { socket, ip, who: `${ip}:${remote.port}`, signal: abort.signal, meta: 0, slotless: true, expired: false };
    if (!this.slotless.tryAdd(ip)) {
      socket.end(encodeFrame({ t: 'error', code: 'busy', message: 'too many transfer connections, try again later' }));
      return;
    }
    // Without a slot, a connection lives this long at most, however often it asks.
    const lifetime = setTimeout(() => {
      conn.expired = true;
      if (!conn.release) socket.end(encodeFrame({ t: 'error', code: 'busy', message: 'connection lifetime over' }));
    }, this.limits.connectionLifetimeMs);
    lifetime.unref();
    try {
      for (
        let req: V2Message | undefined = first;
        req;
        req = await reader.frame(decoder, this.deps.idleTimeoutMs ?? 30_000).catch(() => undefined)
      ) {
        if ((await this.serveRequest(conn, req)) === 'end') return;
      }
    } finally {
      clearTimeout(lifetime);
      if (conn.slotless) this.slotless.remove(ip);
      conn.release?.();
      if (conn.up) this.endUpload(conn.up);
      if (!socket.destroyed) socket.end();
    }
  }

  /** One request on a transfer connection. */
  private async serveRequest(conn: TransferConn, req: V2Message): Promise<Step> {
    const { socket } = conn;
    const fail = (code: string, message: string): Step => {
      socket.end(encodeFrame({ t: 'error', code, message }));
      return 'end';
    };
    if (conn.expired && !conn.release) return fail('busy', 'connection lifetime over');
    const meta = req.t === 'pieces' || (req.t === 'get' && req.length === 0);
    if (meta && ++conn.meta > this.limits.metaRequestBudget) return fail('busy', 'too many requests on one connection');
    if (req.t === 'pieces') {
      const file = this.deps.library.getByHash(req.sha256);
      if (!file) return fail('not-found', 'could not find the file in the shared folder');
      try {
        const list = await this.pieceCache.get(file);
        socket.write(encodeFrame({ t: 'pieces-ok', sha256: list.sha256, size: list.size, pieceSize: list.pieceSize, hashes: list.hashes }));
      } catch (e) {
        return fail('not-found', (e as Error).message);
      }
      return 'next';
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
      return 'next';
    }
    if (!conn.release) {
      try {
        conn.release = await this.slots.acquire((position) => socket.write(encodeFrame({ t: 'queued', position })), conn.signal, conn.ip);
      } catch (e) {
        return fail('busy', (e as Error).message);
      }
      conn.slotless = false;
      this.slotless.remove(conn.ip);
    }
    if (socket.destroyed) return 'end';
    if (!conn.up || conn.up.info.sha256 !== file.sha256) conn.up = this.startUpload(socket, file, conn.who);
    const ok = await this.streamRange(socket, file, req.offset, length, conn.up, header, () =>
      socket.end(encodeFrame({ t: 'error', code: 'not-found', message: 'file is no longer shared' })),
    );
    if (!ok) return 'end';
    if (!req.more) {
      socket.end();
      return 'end';
    }
    return 'next';
  }

  /** Serve a seed GET: the size in its own segment, then the raw bytes, then close. */
  async serveV1(socket: net.Socket, name: string): Promise<void> {
    const file = this.deps.library.getByName(name) ?? this.deps.library.findExact(name);
    if (!file) {
      socket.end('ERROR: could not find the file in the server');
      return;
    }
    const ip = normalizeHost(socket.remoteAddress ?? '');
    // A seed client sends nothing after its GET: read on, so a close while queued is seen and leaves the queue.
    const abort = new AbortController();
    socket.once('close', () => abort.abort());
    socket.on('error', () => {});
    socket.resume();
    let release: () => void;
    try {
      release = await this.slots.acquire(() => {}, abort.signal, ip);
    } catch {
      if (!socket.destroyed) socket.end('ERROR: server busy, try again later');
      return;
    }
    const up = this.startUpload(socket, file, `${ip} (v1)`);
    try {
      const header = async () => {
        socket.setNoDelay(true);
        await new Promise<void>((r) => socket.write(String(file.size), () => r()));
        // The seed's client reads the size with one recv(64): give it time to read it alone.
        await new Promise((r) => setTimeout(r, 60));
      };
      const ok = await this.streamRange(socket, file, 0, file.size, up, header, () =>
        socket.end('ERROR: could not find the file in the server'),
      );
      if (ok) socket.end();
    } finally {
      release();
      this.endUpload(up);
    }
  }

  /** Stop every upload now. */
  abortAll(): void {
    for (const u of this.uploads.values()) u.socket.destroy();
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
    this.publisher.now(up.info, up.info.state === 'done' ? 'transfer:done' : 'transfer:failed');
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
    gone: () => void,
  ): Promise<boolean> {
    // Re-check at open time: the index may be stale, and a file may have become a symlink.
    const st = await fs.promises.lstat(file.absPath).catch(() => undefined);
    if (!st?.isFile() || !(await isRealPathInside(this.deps.library.root, file.absPath))) {
      gone();
      return false;
    }
    await header();
    if (length === 0) return !socket.destroyed;
    // Under a limit, 64 KiB reads keep the rate smooth over short windows.
    const limited = this.upLimit.rate > 0 || up.limit.rate > 0;
    return sendFileRange(socket, file.absPath, offset, length, {
      chunkSize: limited ? 64 * 1024 : undefined,
      stallMs: this.limits.uploadStallMs,
      onChunk: (n) => {
        up.info.bytes += n;
        this.deps.stats.bytesUp += n;
        return takeAll([this.upLimit, up.limit], n);
      },
    });
  }
}

/** A transfer connection being served: its slot, once granted, and its current upload. */
interface TransferConn {
  socket: net.Socket;
  ip: string;
  who: string;
  signal: AbortSignal;
  /** Requests that moved no data so far. */
  meta: number;
  /** Counted among the connections holding no slot. */
  slotless: boolean;
  /** Past its lifetime: closed unless it holds a slot. */
  expired: boolean;
  release?: () => void;
  up?: Upload;
}

/** The fields of `o` that are set (so defaults are not overwritten by undefined). */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
