import crypto from 'node:crypto';
import fs from 'node:fs';

/** Smallest piece; larger files get larger pieces so the hash list stays short. */
const MIN_PIECE_SIZE = 1 << 20;
/** At most this many piece hashes (about 137 KB as a frame). */
const MAX_PIECES = 2048;
/**
 * The largest piece a download accepts (files up to 128 GiB at MAX_PIECES).
 * An endgame copy of a piece is held in memory until verified, so this bounds
 * what a source can make a downloader buffer.
 */
export const MAX_PIECE_SIZE = 64 << 20;
/** Frame limit on transfer connections, large enough for a full piece list. */
export const TRANSFER_MAX_FRAME = 256 * 1024;

export function pieceSizeFor(size: number): number {
  let p = MIN_PIECE_SIZE;
  while (Math.ceil(size / p) > MAX_PIECES) p *= 2;
  return p;
}

export function pieceCount(size: number, pieceSize: number): number {
  return Math.ceil(size / pieceSize);
}

export function pieceLength(i: number, size: number, pieceSize: number): number {
  return Math.min(pieceSize, size - i * pieceSize);
}

export interface PieceList {
  size: number;
  pieceSize: number;
  hashes: string[];
  /** SHA-256 of the whole file, computed in the same pass. */
  sha256: string;
}

/** Hash a file in pieces, and whole, in one read. */
export async function computePieces(absPath: string): Promise<PieceList> {
  const fh = await fs.promises.open(absPath, 'r');
  try {
    const { size } = await fh.stat();
    const pieceSize = pieceSizeFor(size);
    const whole = crypto.createHash('sha256');
    const hashes: string[] = [];
    const buf = Buffer.allocUnsafe(pieceSize);
    for (let i = 0; i < pieceCount(size, pieceSize); i++) {
      const len = pieceLength(i, size, pieceSize);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, i * pieceSize + got);
        if (bytesRead === 0) throw new Error('file shrank while hashing');
        got += bytesRead;
      }
      const piece = buf.subarray(0, len);
      whole.update(piece);
      hashes.push(crypto.createHash('sha256').update(piece).digest('hex'));
    }
    return { size, pieceSize, hashes, sha256: whole.digest('hex') };
  } finally {
    await fh.close();
  }
}

type PieceFile = { absPath: string; sha256: string; size: number; mtimeMs: number };

/**
 * Piece lists by file identity (sha256, size, mtime), bounded, with concurrent
 * requests sharing one load. `load` is where lists come from (the library's
 * cache, normally); by default they are computed from the file.
 */
export class PieceCache<F extends PieceFile = PieceFile> {
  private readonly entries = new Map<string, Promise<PieceList>>();
  constructor(
    private readonly load: (file: F) => Promise<PieceList> = (f) => computePieces(f.absPath),
    private readonly max = 64,
  ) {}

  get(file: F): Promise<PieceList> {
    const key = `${file.sha256}:${file.size}:${file.mtimeMs}`;
    let p = this.entries.get(key);
    if (p) {
      this.entries.delete(key);
      this.entries.set(key, p);
      return p;
    }
    p = this.load(file).then((list) => {
      if (list.sha256 !== file.sha256) throw new Error('file changed since it was indexed');
      return list;
    });
    p.catch(() => this.entries.delete(key));
    this.entries.set(key, p);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return p;
  }
}

/** Which pieces are done, as a compact bitmap that serialises to base64 for the state file. */
export class Bitfield {
  readonly bits: Uint8Array;
  constructor(
    readonly count: number,
    base64?: string,
  ) {
    this.bits = new Uint8Array(Math.ceil(count / 8));
    if (base64) {
      const b = Buffer.from(base64, 'base64');
      if (b.length === this.bits.length) this.bits.set(b);
    }
  }
  has(i: number): boolean {
    return (this.bits[i >> 3]! & (1 << (i & 7))) !== 0;
  }
  set(i: number, on = true): void {
    const b = this.bits[i >> 3] ?? 0;
    this.bits[i >> 3] = on ? b | (1 << (i & 7)) : b & ~(1 << (i & 7));
  }
  get done(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.has(i)) n++;
    return n;
  }
  get complete(): boolean {
    return this.done === this.count;
  }
  clear(): void {
    this.bits.fill(0);
  }
  toBase64(): string {
    return Buffer.from(this.bits).toString('base64');
  }
}
