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
import type { V2Of } from '../v2/messages.js';
import { commitPart, fileSize, hashPrefix, listPartStates, partPathFor, writePartState, type PartState } from './part-file.js';
import { etaSeconds, SpeedMeter } from './progress.js';
import { SlotQueue } from './slots.js';

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
}

interface Download {
  info: TransferInfo;
  abort?: AbortController;
  partPath?: string;
  finalPath?: string;
  run?: Promise<void>;
  meter: SpeedMeter;
}

interface Upload {
  info: TransferInfo;
  socket: net.Socket;
  meter: SpeedMeter;
}

const PROGRESS_INTERVAL_MS = 250;

/** Why a download attempt ended without the file. */
class TransferError extends Error {}

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

  constructor(private readonly deps: TransferDeps) {
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
  async waitIdle(pollMs = 100): Promise<void> {
    while (this.active().length > 0) await new Promise((r) => setTimeout(r, pollMs));
  }

  /** Downloads left as `.part` by an earlier run show up paused, ready to resume. */
  async restore(): Promise<void> {
    for (const { partPath, state } of await listPartStates(this.deps.downloadDir())) {
      if ([...this.downloads.values()].some((d) => d.partPath === partPath)) continue;
      const id = crypto.randomUUID();
      const bytes = await fileSize(partPath);
      this.downloads.set(id, {
        info: { id, direction: 'down', name: state.name, sha256: state.sha256, state: 'paused', bytes, total: state.size ?? 0, speed: 0, eta: null, sources: state.sources },
        partPath,
        finalPath: state.finalPath,
        meter: new SpeedMeter(),
      });
      this.reservedPaths.add(state.finalPath);
    }
  }

  download(req: DownloadRequest): TransferInfo {
    // The same file already downloading: return that transfer, adding the new sources.
    if (req.sha256) {
      for (const d of this.downloads.values()) {
        if (d.info.sha256 === req.sha256 && d.info.state !== 'cancelled' && d.info.state !== 'failed' && d.info.state !== 'done') {
          for (const s of req.sources) if (!d.info.sources.some((x) => x.host === s.host && x.port === s.port)) d.info.sources.push(s);
          if (d.info.state === 'paused') this.resume(d.info.id);
          return { ...d.info };
        }
      }
    }
    const id = crypto.randomUUID();
    const d: Download = {
      info: { id, direction: 'down', name: path.posix.basename(req.name), sha256: req.sha256, state: 'queued', bytes: 0, total: req.size ?? 0, speed: 0, eta: null, sources: [...req.sources] },
      meter: new SpeedMeter(),
    };
    this.downloads.set(id, d);
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
    const errors: string[] = [];
    for (const source of [...d.info.sources]) {
      if (signal.aborted) return;
      d.info.state = 'running';
      d.meter.reset(d.info.bytes);
      try {
        const proto = this.deps.protocolOf(source);
        if (proto === 'v1') await this.fetchV1(d, source, signal);
        else {
          const used = await this.fetchV2(d, source, signal);
          if (used === 'v1') {
            this.deps.setProtocol(source, 'v1');
            await this.fetchV1(d, source, signal);
          }
        }
        await this.finish(d);
        return;
      } catch (e) {
        if (signal.aborted) return;
        errors.push(`${formatAddress(source)}: ${(e as Error).message}`);
        this.deps.log.warn(`download ${d.info.name} from ${formatAddress(source)}: ${(e as Error).message}`);
      }
    }
    throw new TransferError(errors.length === 1 ? errors[0]!.replace(/^[^ ]+: /, '') : `all sources failed (${errors.join('; ')})`);
  }

  private async preparePart(d: Download): Promise<void> {
    const dir = this.deps.downloadDir();
    // Resume a download of the same content left by an earlier run.
    if (d.info.sha256) {
      for (const { partPath, state } of await listPartStates(dir)) {
        if (state.sha256 === d.info.sha256 && ![...this.downloads.values()].some((o) => o !== d && o.partPath === partPath)) {
          d.partPath = partPath;
          d.finalPath = state.finalPath;
          d.info.bytes = await fileSize(partPath);
          this.reservedPaths.add(state.finalPath);
          return;
        }
      }
    }
    d.finalPath = await uniquePath(dir, d.info.name, this.reservedPaths);
    this.reservedPaths.add(d.finalPath);
    d.partPath = partPathFor(d.finalPath);
    await fs.promises.writeFile(d.partPath, '');
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
    };
    await writePartState(d.partPath!, s);
  }

  /** One v2 fetch of the rest of the file from one source. Returns 'v1' if the source turned out to be a seed peer. */
  private async fetchV2(d: Download, source: PeerAddress, signal: AbortSignal): Promise<'v1' | 'ok'> {
    const socket = await connectTcp(source.host, source.port, this.deps.connectTimeoutMs ?? 5000, signal);
    const onAbort = () => socket.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const decoder = new FrameDecoder();
      sendHello(socket, this.deps.hello());
      const remote = await readHandshake(socket, decoder, 5000);
      if (remote === 'v1') return 'v1';
      this.deps.setProtocol(source, 'v2');
      const offset = await fileSize(d.partPath!);
      const req: V2Of<'get'> = { t: 'get', offset, ...(d.info.sha256 ? { sha256: d.info.sha256 } : { name: d.info.name }) };
      socket.write(encodeFrame(req));
      const header = await this.awaitGetOk(socket, decoder, d);
      if (d.info.sha256 && header.sha256 !== d.info.sha256) throw new TransferError('source offered different content');
      if (!d.info.sha256 || d.info.total !== header.size) {
        d.info.sha256 = header.sha256;
        d.info.total = header.size;
        await this.saveState(d);
      }
      if (header.offset !== offset) throw new TransferError('source ignored the requested offset');
      d.info.queuePosition = undefined;
      await this.receiveRaw(d, socket, decoder.takeRest(), offset, header.length);
      return 'ok';
    } finally {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
    }
  }

  private awaitGetOk(socket: net.Socket, decoder: FrameDecoder, d: Download): Promise<V2Of<'get-ok'>> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        socket.off('data', onData);
        socket.off('close', onClose);
        fn();
      };
      const onData = (chunk: Buffer) => {
        try {
          decoder.append(chunk);
          for (let m = decoder.next(); m; m = decoder.next()) {
            if (m.t === 'queued') {
              d.info.state = 'queued';
              d.info.queuePosition = m.position;
              this.emitNow(d.info, 'transfer:progress');
            } else if (m.t === 'error') return done(() => reject(new TransferError(m.message)));
            else if (m.t === 'get-ok') {
              socket.pause();
              d.info.state = 'running';
              return done(() => resolve(m));
            } else return done(() => reject(new TransferError(`unexpected ${m.t} from source`)));
          }
        } catch (e) {
          done(() => reject(e));
        }
      };
      const onClose = () => done(() => reject(new TransferError('source closed the connection')));
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.resume();
    });
  }

  /** Stream `length` raw bytes from the socket into the part file at `offset`, hashing as they pass. */
  private async receiveRaw(d: Download, socket: net.Socket, first: Buffer, offset: number, length: number): Promise<void> {
    const out = fs.createWriteStream(d.partPath!, { flags: offset > 0 ? 'r+' : 'w', start: offset });
    let got = 0;
    const write = (chunk: Buffer): boolean => {
      const take = chunk.length > length - got ? chunk.subarray(0, length - got) : chunk;
      got += take.length;
      d.info.bytes = offset + got;
      this.deps.stats.bytesDown += take.length;
      return take.length === 0 ? true : out.write(take);
    };
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        socket.off('data', onData);
        socket.off('close', onClose);
        out.end(() => (err ? reject(err) : resolve()));
      };
      out.on('error', (e: NodeJS.ErrnoException) =>
        finish(new TransferError(e.code === 'ENOSPC' ? 'disk full: partial data kept, resume when there is space' : `cannot write: ${e.message}`)),
      );
      out.on('drain', () => socket.resume());
      const onData = (chunk: Buffer) => {
        if (!write(chunk)) socket.pause();
        if (got >= length) finish();
      };
      const onClose = () => finish(got >= length ? undefined : new TransferError(`source went away after ${offset + got} of ${offset + length} bytes`));
      socket.on('data', onData);
      socket.on('close', onClose);
      if (first.length) onData(first);
      if (got < length) socket.resume();
      else finish();
    });
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
      await this.receiveRaw(d, socket, rest, 0, parser.size!);
    } finally {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
    }
  }

  private async finish(d: Download): Promise<void> {
    const size = await fileSize(d.partPath!);
    if (size !== d.info.total) throw new TransferError(`incomplete: ${size} of ${d.info.total} bytes`);
    const digest = (await hashPrefix(d.partPath!, size)).digest('hex');
    if (d.info.sha256 && digest !== d.info.sha256) {
      // Corrupt data: start over rather than keep bad bytes.
      await fs.promises.truncate(d.partPath!, 0);
      d.info.bytes = 0;
      throw new TransferError('SHA-256 mismatch: the data was corrupt, partial file discarded');
    }
    d.info.sha256 = digest;
    const finalPath = await commitPart(d.partPath!, d.finalPath!, () => uniquePath(this.deps.downloadDir(), d.info.name, this.reservedPaths));
    this.reservedPaths.delete(d.finalPath!);
    d.info.path = finalPath;
    d.info.state = 'done';
    d.info.verified = true;
    d.info.speed = 0;
    d.info.eta = 0;
    this.deps.log.info(`downloaded ${d.info.name} (${size} bytes, sha256 ${digest.slice(0, 12)}…) to ${finalPath}`);
    this.emitNow(d.info, 'transfer:done');
  }

  // ---- uploads ----

  /** Serve a v2 GET on a transfer connection: queue for a slot, then header + raw bytes. */
  async serveV2(socket: net.Socket, req: V2Of<'get'>, remote: Hello): Promise<void> {
    const file = req.sha256 ? this.deps.library.getByHash(req.sha256) : req.name ? this.deps.library.getByName(req.name) : undefined;
    const fail = (code: string, message: string) => {
      socket.end(encodeFrame({ t: 'error', code, message }));
    };
    if (!file) return fail('not-found', 'could not find the file in the shared folder');
    if (req.offset > file.size) return fail('bad-range', `offset ${req.offset} is past the end (${file.size})`);
    const length = Math.min(req.length ?? file.size - req.offset, file.size - req.offset);
    const abort = new AbortController();
    socket.once('close', () => abort.abort());
    let release: () => void;
    try {
      release = await this.slots.acquire((position) => socket.write(encodeFrame({ t: 'queued', position })), abort.signal);
    } catch (e) {
      return fail('busy', (e as Error).message);
    }
    try {
      if (socket.destroyed) return;
      await this.streamFile(socket, file, req.offset, length, `${socket.remoteAddress?.replace(/^::ffff:/, '')}:${remote.port}`, () =>
        socket.write(encodeFrame({ t: 'get-ok', name: file.name, size: file.size, sha256: file.sha256, offset: req.offset, length })),
      );
    } finally {
      release();
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
    try {
      await this.streamFile(socket, file, 0, file.size, `${socket.remoteAddress?.replace(/^::ffff:/, '')} (v1)`, async () => {
        socket.setNoDelay(true);
        await new Promise<void>((r) => socket.write(String(file.size), () => r()));
        // The seed's client reads the size with one recv(64): give it time to read it alone.
        await new Promise((r) => setTimeout(r, 60));
      });
    } finally {
      release();
    }
  }

  private async streamFile(socket: net.Socket, file: IndexedFile, offset: number, length: number, who: string, header: () => unknown): Promise<void> {
    // Re-check at open time: the index may be stale, and a file may have become a symlink.
    const st = await fs.promises.lstat(file.absPath).catch(() => undefined);
    if (!st?.isFile() || !(await isRealPathInside(this.deps.library.root, file.absPath))) {
      socket.end(encodeFrame({ t: 'error', code: 'not-found', message: 'file is no longer shared' }));
      return;
    }
    const id = crypto.randomUUID();
    const up: Upload = {
      info: { id, direction: 'up', name: file.name, sha256: file.sha256, state: 'running', bytes: 0, total: length, speed: 0, eta: null, sources: [] },
      socket,
      meter: new SpeedMeter(),
    };
    this.deps.log.info(`uploading ${file.name} to ${who}`);
    this.uploads.set(id, up);
    try {
      await header();
      if (length === 0) {
        socket.end();
        up.info.state = 'done';
        return;
      }
      const stream = fs.createReadStream(file.absPath, { start: offset, end: offset + length - 1, highWaterMark: 256 * 1024 });
      stream.on('data', (c) => {
        up.info.bytes += c.length;
        this.deps.stats.bytesUp += c.length;
      });
      await new Promise<void>((resolve) => {
        stream.pipe(socket);
        stream.on('error', () => {
          socket.destroy();
          resolve();
        });
        socket.on('close', () => {
          stream.destroy();
          resolve();
        });
        stream.on('end', () => socket.end());
      });
      up.info.state = up.info.bytes >= length ? 'done' : up.info.state === 'cancelled' ? 'cancelled' : 'failed';
    } finally {
      if (up.info.state === 'running') up.info.state = 'failed';
      this.emitNow(up.info, up.info.state === 'done' ? 'transfer:done' : 'transfer:failed');
      // Keep finished uploads briefly for the UI, bounded.
      setTimeout(() => this.uploads.delete(id), 60_000).unref();
    }
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
