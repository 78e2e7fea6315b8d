import crypto from 'node:crypto';
import fs from 'node:fs';
import { pieceLength, type Bitfield } from './pieces.js';

/** A piece being folded straight into the whole-file hash as it arrives. */
export interface PieceFold {
  update(chunk: Buffer): void;
  /** The piece is complete and its copy is the one kept: the hash moves past it. */
  commit(): void;
  /** The piece was cut short or another copy won: the hash goes back to where it was. */
  abort(): void;
}

/**
 * The whole-file SHA-256 of a download, kept in piece order while pieces
 * land, so the data is hashed once on its way in.
 *
 * - A piece that arrives next in file order can be folded into the hash as it
 *   streams (`fold`): one SHA-256 pass, with the data still in the CPU cache.
 *   Such a piece is not checked on its own; the whole-file hash vouches for it.
 * - A piece that arrives ahead of that point is checked against its piece
 *   hash by the swarm, and read back from the `.part` once the hash reaches it
 *   (`catchUp`), as is everything an earlier run left done.
 * - If the whole-file hash then does not match, `badPieces` checks every piece
 *   on its own, so only the bad ones are fetched again.
 *
 * Hashing runs on the calling thread in slices of at most one piece (about a
 * millisecond each), so the event loop is never held for long.
 */
export class ContentVerifier {
  private whole = crypto.createHash('sha256');
  /** Pieces [0, next) are in `whole`. */
  private next = 0;
  private folding = false;
  private catching?: Promise<void>;
  /** Reading the `.part` back failed. */
  private failure?: Error;
  private readonly count: number;
  private fh?: Promise<fs.promises.FileHandle>;
  private buf?: Buffer;

  constructor(
    private readonly partPath: string,
    private readonly size: number,
    private readonly pieceSize: number,
    private readonly hashes: readonly string[],
    private readonly have: Bitfield,
  ) {
    this.count = hashes.length;
  }

  /** Start folding piece `i` as it arrives, if it is next in order and nothing is being read back; otherwise undefined. */
  fold(i: number): PieceFold | undefined {
    if (this.folding || this.catching || i !== this.next) return undefined;
    this.folding = true;
    const before = this.whole.copy();
    let open = true;
    return {
      update: (c) => {
        if (open) this.whole.update(c);
      },
      commit: () => {
        if (!open) return;
        open = false;
        this.folding = false;
        this.next = i + 1;
      },
      abort: () => {
        if (!open) return;
        open = false;
        this.folding = false;
        this.whole = before;
      },
    };
  }

  /** Fold in, reading them back from the `.part`, the done pieces the hash has reached. Errors surface in `digest`. */
  catchUp(): void {
    if (this.catching || this.folding || this.next >= this.count || !this.have.has(this.next)) return;
    const run = async () => {
      while (this.next < this.count && this.have.has(this.next)) this.foldIn(await this.read(this.next));
    };
    const p: Promise<void> = run()
      .catch((e: Error) => void (this.failure ??= e))
      .finally(() => {
        if (this.catching === p) this.catching = undefined;
      });
    this.catching = p;
  }

  private foldIn(data: Buffer): void {
    this.whole.update(data);
    this.next++;
  }

  /** The whole-file SHA-256, reading back whatever was not folded in yet. Every piece must be written. */
  async digest(): Promise<string> {
    await this.catching;
    if (this.failure) throw this.failure;
    if (this.folding) throw new Error('a piece is still arriving');
    while (this.next < this.count) this.foldIn(await this.read(this.next));
    const hex = this.whole.digest('hex');
    // The hash object is spent: start again from nothing if asked twice.
    this.whole = crypto.createHash('sha256');
    this.next = 0;
    return hex;
  }

  /** Check every piece of the `.part` against its own hash; the indexes of those that do not match. */
  async badPieces(): Promise<number[]> {
    const bad: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const data = await this.read(i);
      if (crypto.createHash('sha256').update(data).digest('hex') !== this.hashes[i]) bad.push(i);
    }
    return bad;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await this.catching?.catch(() => {});
    await (await fh?.catch(() => undefined))?.close();
  }

  /** Piece `i` from the `.part` (in a buffer reused by the next read). */
  private async read(i: number): Promise<Buffer> {
    this.fh ??= fs.promises.open(this.partPath, 'r');
    const fh = await this.fh;
    const len = pieceLength(i, this.size, this.pieceSize);
    this.buf ??= Buffer.allocUnsafe(Math.min(this.pieceSize, Math.max(1, this.size)));
    let got = 0;
    while (got < len) {
      const { bytesRead } = await fh.read(this.buf, got, len - got, i * this.pieceSize + got);
      if (bytesRead === 0) throw new Error('the .part file is shorter than expected');
      got += bytesRead;
    }
    return this.buf.subarray(0, len);
  }
}
