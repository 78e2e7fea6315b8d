import type { ByteRange } from './byte-range.js';
import { abortError, type StreamSource } from './stream-source.js';

/** Waiting readers allowed at once per source; each is one open player request. */
const MAX_WAITERS = 64;

interface PieceStreamSourceInit {
  size: number;
  pieceSize: number;
  mime: string;
  /** Pieces already verified when the source is made (a resumed or running download). */
  verified?: Iterable<number>;
  /** Reads stored bytes; called only for verified pieces. */
  readAt(start: number, end: number): Promise<Buffer>;
}

interface Waiter {
  start: number;
  end: number;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * A file that arrives piece by piece. Bytes become readable only once their
 * piece is marked verified (its hash checked): a piece that was written but
 * failed, or is still being fetched, is never read. Readers that ask for
 * missing bytes wait, and stop waiting when their signal aborts.
 */
export class PieceStreamSource implements StreamSource {
  readonly size: number;
  readonly pieceSize: number;
  readonly mime: string;
  private readonly done: Uint8Array;
  private readonly waiters = new Set<Waiter>();
  private readonly readAt: (start: number, end: number) => Promise<Buffer>;
  private failure: Error | undefined;

  constructor(init: PieceStreamSourceInit) {
    if (!(init.pieceSize > 0) || !(init.size >= 0)) throw new RangeError('bad size or piece size');
    this.size = init.size;
    this.pieceSize = init.pieceSize;
    this.mime = init.mime;
    this.readAt = init.readAt;
    this.done = new Uint8Array(Math.ceil(init.size / init.pieceSize));
    for (const i of init.verified ?? []) this.markVerified(i);
  }

  /** Readers waiting for bytes right now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Piece `i` passed its hash check and its bytes are stored: wake the readers it completes. */
  markVerified(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.done.length || this.done[i]) return;
    this.done[i] = 1;
    for (const w of [...this.waiters]) if (this.covers(w.start, w.end)) w.resolve();
  }

  /** The download ended without these bytes (cancelled, failed): every wait, now and later, rejects. */
  fail(reason: Error): void {
    this.failure ??= reason;
    for (const w of [...this.waiters]) w.reject(reason);
  }

  verifiedRanges(): ByteRange[] {
    const out: ByteRange[] = [];
    for (let i = 0; i < this.done.length; i++) {
      if (!this.done[i]) continue;
      const start = i * this.pieceSize;
      const end = Math.min(this.size, start + this.pieceSize);
      const last = out[out.length - 1];
      if (last && last.end === start) last.end = end;
      else out.push({ start, end });
    }
    return out;
  }

  waitForVerified(start: number, end: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (start < 0 || end > this.size || start > end) return Promise.reject(new RangeError('range outside the file'));
    if (this.covers(start, end)) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiters.size >= MAX_WAITERS) return Promise.reject(new Error('too many readers waiting on this stream'));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => w.reject(abortError(signal));
      const settle = () => {
        this.waiters.delete(w);
        signal.removeEventListener('abort', onAbort);
      };
      const w: Waiter = {
        start,
        end,
        resolve: () => (settle(), resolve()),
        reject: (err) => (settle(), reject(err)),
      };
      this.waiters.add(w);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  read(start: number, end: number): Promise<Buffer> {
    // The server waits before reading; this check makes an unverified read impossible, not merely unlikely.
    if (!this.covers(start, end)) return Promise.reject(new Error('refusing to read bytes that are not verified'));
    return this.readAt(start, end);
  }

  private covers(start: number, end: number): boolean {
    if (end <= start) return true;
    const first = Math.floor(start / this.pieceSize);
    const last = Math.floor((end - 1) / this.pieceSize);
    for (let i = first; i <= last; i++) if (!this.done[i]) return false;
    return true;
  }
}
