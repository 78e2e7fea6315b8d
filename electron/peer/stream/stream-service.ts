import fs from 'node:fs';
import path from 'node:path';
import type { EventPayloads } from '../../../shared/contract.js';
import type { StreamInfo, TransferInfo } from '../../../shared/types.js';
import type { Logger } from '../logger.js';
import { mediaTypeOf, mimeTypeOf } from '../media-types.js';
import type { Download, DownloadRequest } from '../transfers/download.js';
import { StreamPriority } from '../transfers/stream-priority.js';
import type { TypedEmitter } from '../typed-emitter.js';
import { DownloadStream } from './download-stream.js';
import { FileStreamSource } from './file-stream-source.js';
import { isMp4Family } from './mp4-layout.js';
import { MAX_STREAMS, StreamRegistry } from './stream-registry.js';
import type { StreamSource } from './stream-source.js';

/** What `stream:open` asks for: a download by id, or a search hit to download. */
type StreamOpenArgs = { transferId: string } | DownloadRequest;

/** What streaming needs from the transfers. */
interface StreamTransfers {
  download(req: DownloadRequest): TransferInfo;
  resume(id: string): TransferInfo;
  downloads: { downloads: Map<string, Download> };
}

interface StreamServiceDeps {
  transfers: () => StreamTransfers;
  /** The peer's events: `stream:progress` goes out, the end of a download comes in. */
  events: TypedEmitter<EventPayloads>;
  log: () => Logger;
}

/** How long `open` waits for a new download to learn its piece list. */
const PIECES_WAIT_MS = 30_000;

/**
 * Play while it downloads. `open` starts the download of a search hit (or
 * joins the running one) with streaming priority and returns a stream that
 * serves its verified pieces; a finished download plays from its file. The
 * streams themselves live in a StreamRegistry; adapters read them by id.
 */
export class StreamService {
  readonly registry: StreamRegistry;
  /** Per download: its streaming priority and the streams reading it. */
  private readonly watched = new Map<string, { priority: StreamPriority; streams: Map<string, DownloadStream> }>();

  constructor(private readonly deps: StreamServiceDeps) {
    this.registry = new StreamRegistry(
      (info) => deps.events.emit('stream:progress', info),
      MAX_STREAMS,
      (id) => void this.close(id),
    );
    deps.events.on('transfer:done', (t) => this.transferEnded(t));
    deps.events.on('transfer:failed', (t) => this.transferEnded(t));
  }

  /** The source behind a stream id, for the HTTP and protocol adapters. */
  source(id: string): StreamSource | undefined {
    return this.registry.source(id);
  }

  async open(args: StreamOpenArgs): Promise<StreamInfo> {
    const type = mediaTypeOf('transferId' in args ? (this.download(args.transferId).info.name ?? '') : args.name);
    if (!type) throw new Error('only video, music and pictures can be played');
    const d =
      'transferId' in args
        ? this.download(args.transferId)
        : (this.finished(args.sha256) ?? this.download(this.deps.transfers().download(args).id));
    if (d.info.state === 'paused' || d.info.state === 'failed') this.deps.transfers().resume(d.info.id);
    if (d.info.state === 'done') return this.openFile(d, type);
    const priority = this.watch(d).priority;
    await this.untilPieces(d);
    if ((d.info.state as TransferInfo['state']) === 'done') return this.openFile(d, type);
    const stream = await this.openPart(d, priority).catch((e: Error) => {
      // It finished (and took its final name) meanwhile: play the file.
      if ((d.info.state as TransferInfo['state']) === 'done') return undefined;
      throw e;
    });
    if (!stream) return this.openFile(d, type);
    const info = this.registry.add({ name: d.info.name, type, source: stream, transferId: d.info.id });
    stream.onVerified = () => this.registry.changed(info.id);
    this.watched.get(d.info.id)?.streams.set(info.id, stream);
    return info;
  }

  /** A finished download of this content whose file is still there, to play instead of downloading again. */
  private finished(sha256: string | undefined): Download | undefined {
    if (!sha256) return undefined;
    for (const d of this.deps.transfers().downloads.downloads.values())
      if (d.info.direction === 'down' && d.info.state === 'done' && d.info.sha256 === sha256 && d.info.path && fs.existsSync(d.info.path))
        return d;
    return undefined;
  }

  private openPart(d: Download, priority: StreamPriority): Promise<DownloadStream> {
    return DownloadStream.open({
      partPath: d.partPath!,
      size: d.info.total,
      pieceSize: d.pieces!.pieceSize,
      hashes: d.pieces!.hashes,
      mime: mimeTypeOf(d.info.name),
      stored: d.pieces!.have,
      priority,
      onBadPiece: (i) => this.deps.log().warn(`stream ${d.info.name}: piece ${i} does not match its hash; it is not played`),
    });
  }

  async close(id: string): Promise<boolean> {
    for (const [transferId, w] of this.watched) {
      if (!w.streams.delete(id)) continue;
      // Nobody watches any more: back to file order.
      if (w.streams.size === 0) this.unwatch(transferId);
    }
    return this.registry.close(id);
  }

  /** A download ended: streams of a failed one let their readers go; a finished one keeps playing from its file. */
  transferEnded(t: TransferInfo): void {
    const w = this.watched.get(t.id);
    if (!w) return;
    if (t.state === 'done') {
      for (const id of w.streams.keys()) this.registry.changed(id);
      this.unwatch(t.id);
      return;
    }
    if (t.state !== 'failed' && t.state !== 'cancelled') return;
    for (const s of w.streams.values()) s.fail(new Error(t.error ?? `download ${t.state}`));
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.watched.keys()]) this.unwatch(id);
    await this.registry.closeAll();
  }

  private download(id: string): Download {
    const d = this.deps.transfers().downloads.downloads.get(id);
    if (!d || d.info.direction !== 'down') throw new Error(`no download with id ${id}`);
    return d;
  }

  /** Raise a download to streaming priority (one priority per download, shared by its streams). */
  private watch(d: Download): { priority: StreamPriority; streams: Map<string, DownloadStream> } {
    let w = this.watched.get(d.info.id);
    if (!w) {
      w = { priority: new StreamPriority({ tailFirst: isMp4Family(d.info.name) }), streams: new Map() };
      this.watched.set(d.info.id, w);
      const streams = w.streams;
      d.stream = { strategy: w.priority, stored: (i) => streams.forEach((s) => s.stored(i)) };
    }
    return w;
  }

  private unwatch(transferId: string): void {
    this.watched.delete(transferId);
    const d = this.deps.transfers().downloads.downloads.get(transferId);
    if (d) d.stream = undefined;
  }

  /** Wait until the download knows its pieces (a v2 source answered), or is done, or ends. */
  private async untilPieces(d: Download): Promise<void> {
    const until = Date.now() + PIECES_WAIT_MS;
    while (!(d.pieces && d.partPath) && d.info.state !== 'done') {
      if (d.info.state === 'failed' || d.info.state === 'cancelled') throw new Error(d.info.error ?? `the download ${d.info.state}`);
      if (Date.now() > until) throw new Error('no source sent a piece list: this file plays once it is downloaded');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private async openFile(d: Download, type: StreamInfo['type']): Promise<StreamInfo> {
    const file = d.info.path ?? d.finalPath;
    if (!file) throw new Error('the finished download has no file');
    const source = await FileStreamSource.open(file, { root: path.dirname(file) });
    return this.registry.add({ name: d.info.name, type, source });
  }
}
