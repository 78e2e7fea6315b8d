import type { FileHandle } from 'node:fs/promises';
import type { ByteRange } from './byte-range.js';

export type { ByteRange } from './byte-range.js';

/**
 * Bytes a player may read: a complete file, or a download whose pieces
 * arrive over time. The stream server reads only ranges the source says are
 * verified (their hash checked), and waits for the others.
 */
export interface StreamSource {
  /** Total size in bytes, known up front (a hit's size). */
  readonly size: number;
  /** The Content-Type to answer with. */
  readonly mime: string;
  /** The verified bytes, as sorted, disjoint half-open ranges. */
  verifiedRanges(): ByteRange[];
  /**
   * Resolves once every byte of `[start, end)` is verified. Rejects when
   * `signal` aborts (the client went away; the wait is dropped, nothing
   * leaks) or when the source can never get there (the download failed).
   */
  waitForVerified(start: number, end: number, signal: AbortSignal): Promise<void>;
  /** The bytes of `[start, end)`, which must be verified; the server asks for at most a few hundred KiB at once. */
  read(start: number, end: number): Promise<Buffer>;
}

/** The end of the verified run that contains `pos`, or `pos` itself if `pos` is not verified. */
export function verifiedEnd(ranges: readonly ByteRange[], pos: number): number {
  for (const r of ranges) if (r.start <= pos && pos < r.end) return r.end;
  return pos;
}

/** The error a wait rejects with when its signal aborts. */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('the reader went away', 'AbortError');
}

/** Read exactly `[start, end)` from an open file; a file that got shorter is an error, never short data. */
export async function readFully(fh: FileHandle, start: number, end: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(end - start);
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
    if (bytesRead === 0) throw new Error('the file is shorter than expected');
    got += bytesRead;
  }
  return buf;
}
