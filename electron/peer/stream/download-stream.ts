import crypto from 'node:crypto';
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { StreamPriority } from '../transfers/stream-priority.js';
import type { ByteRange } from './byte-range.js';
import { moovPlacement } from './mp4-layout.js';
import { PieceStreamSource } from './piece-stream-source.js';
import { readFully, type StreamSource } from './stream-source.js';

interface DownloadStreamInit {
  /** The download's `.part`; opened here, so reading goes on from the same file after its rename. */
  partPath: string;
  size: number;
  pieceSize: number;
  /** SHA-256 of each piece, from the source's piece list. */
  hashes: readonly string[];
  mime: string;
  /** Pieces stored so far (the download's bitfield); each is checked against its hash before it is served. */
  stored: { has(i: number): boolean };
  /** The download's picking strategy, moved to where the player reads. */
  priority?: StreamPriority;
  /** The play position moved: wake the download so idle sources claim again. */
  onPriorityChange?: () => void;
  /** A stored piece did not match its hash (the download's final check will fetch it again). */
  onBadPiece?: (index: number) => void;
}

/**
 * A running download as a stream. A piece becomes readable only after this
 * stream has read it back from the `.part` and matched its SHA-256 against
 * the piece list, whatever the download did with it (a piece folded into the
 * whole-file hash is not checked on its own until the end). Pieces are checked
 * as they arrive, nearest the play position first. Where the player reads
 * moves the download's critical window there.
 */
export class DownloadStream implements StreamSource {
  readonly size: number;
  readonly mime: string;
  /** More bytes are verified (set by whoever publishes progress). */
  onVerified?: () => void;
  private readonly pieces: PieceStreamSource;
  /** Stored pieces not checked yet. */
  private readonly pending = new Set<number>();
  private readonly checked: Uint8Array;
  private checking = false;
  private closed = false;

  private constructor(
    private readonly init: DownloadStreamInit,
    private readonly fh: FileHandle,
  ) {
    this.size = init.size;
    this.mime = init.mime;
    this.checked = new Uint8Array(init.hashes.length);
    this.pieces = new PieceStreamSource({
      size: init.size,
      pieceSize: init.pieceSize,
      mime: init.mime,
      readAt: (s, e) => readFully(fh, s, e),
    });
    for (let i = 0; i < init.hashes.length; i++) if (init.stored.has(i)) this.pending.add(i);
    this.pump();
  }

  /** Open the `.part` (never through a symlink) and start checking what is stored already. */
  static async open(init: DownloadStreamInit): Promise<DownloadStream> {
    const fh = await fs.promises.open(init.partPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    return new DownloadStream(init, fh);
  }

  /** Readers waiting for bytes now. */
  get waiting(): number {
    return this.pieces.waiting;
  }

  /** Piece `i` was written: check it and, if it matches, serve it. */
  stored(i: number): void {
    if (this.closed || this.checked[i] || i < 0 || i >= this.checked.length) return;
    this.pending.add(i);
    this.pump();
  }

  /** The download ended without all its bytes (cancelled, failed): readers waiting for the rest are let go. */
  fail(reason: Error): void {
    this.pieces.fail(reason);
  }

  verifiedRanges(): ByteRange[] {
    return this.pieces.verifiedRanges();
  }

  waitForVerified(start: number, end: number, signal: AbortSignal): Promise<void> {
    this.playAt(start);
    return this.pieces.waitForVerified(start, end, signal);
  }

  read(start: number, end: number): Promise<Buffer> {
    return this.pieces.read(start, end);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    this.pieces.fail(new Error('the stream was closed'));
    while (this.checking) await new Promise((r) => setImmediate(r));
    await this.fh.close();
  }

  private playAt(byte: number): void {
    const p = this.init.priority;
    if (!p) return;
    const piece = Math.floor(byte / this.init.pieceSize);
    if (piece === p.playPiece) return;
    p.seek(piece);
    this.init.onPriorityChange?.();
  }

  /** The next stored piece to check: the first at or after the play position, else the first. */
  private nextPending(): number | undefined {
    const from = this.init.priority?.playPiece ?? 0;
    let first: number | undefined;
    let ahead: number | undefined;
    for (const i of this.pending) {
      if (first === undefined || i < first) first = i;
      if (i >= from && (ahead === undefined || i < ahead)) ahead = i;
    }
    return ahead ?? first;
  }

  /** Check pending pieces one at a time (each is one read and one hash of at most a piece). */
  private pump(): void {
    if (this.checking || this.closed) return;
    const i = this.nextPending();
    if (i === undefined) return;
    this.pending.delete(i);
    this.checking = true;
    void this.check(i).finally(() => {
      this.checking = false;
      this.pump();
    });
  }

  /**
   * An MP4 with its `moov` after the media data: fetch all of that tail right
   * after the piece at the play position. One with `moov` first: the tail
   * fetched early on a guess is not needed early after all.
   */
  private fetchIndexEarly(head: Buffer): void {
    const moov = moovPlacement(head, this.size);
    const priority = this.init.priority;
    if (moov === undefined || !priority) return;
    if (moov === 'start') priority.indexAtStart();
    else priority.addUrgent(Math.floor(moov.at / this.init.pieceSize), this.init.hashes.length);
    this.init.onPriorityChange?.();
  }

  private async check(i: number): Promise<void> {
    const start = i * this.init.pieceSize;
    const end = Math.min(this.size, start + this.init.pieceSize);
    try {
      const data = await readFully(this.fh, start, end);
      if (crypto.createHash('sha256').update(data).digest('hex') === this.init.hashes[i]) {
        this.checked[i] = 1;
        if (i === 0) this.fetchIndexEarly(data);
        this.pieces.markVerified(i);
        this.onVerified?.();
      } else this.init.onBadPiece?.(i);
    } catch {
      // Unreadable now (closed, shortened): left unverified; a later `stored` may try again.
    }
  }
}
