import type fs from 'node:fs';

interface Pending {
  chunks: Buffer[];
  at: number;
  bytes: number;
}

/**
 * Positional writes into one file, one system call at a time, in the order
 * they were asked for. Chunks that queue up while a write is in flight go out
 * together in the next `writev` (contiguous ones share one call).
 *
 * Why not many writes in flight: a buffered write copies its data into the
 * page cache, and that copy is cheap only while the data is still in the CPU
 * cache. Keeping a few hundred KiB in flight instead of megabytes made the
 * kernel's copy about three times cheaper per byte on a 1 GiB download here.
 * In-order completion also means a later write to a range always lands after
 * an earlier one (a refetched piece overwrites the bad copy, never the reverse).
 *
 * The first error sticks: later writes are dropped and every barrier rejects with it.
 */
export class SerialWriter {
  private queue: Pending[] = [];
  private inFlight = false;
  private failure?: Error;
  private barriers: { upTo: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private drains: (() => void)[] = [];
  /** Bytes ever queued, and ever written (or dropped after a failure): a barrier waits for `written` to reach its mark. */
  private queued = 0;
  private written = 0;

  /** Bytes queued or being written. */
  get pending(): number {
    return this.queued - this.written;
  }

  constructor(
    private readonly fh: fs.promises.FileHandle,
    private readonly lowWater = 0,
  ) {}

  get error(): Error | undefined {
    return this.failure;
  }

  write(chunk: Buffer, at: number): void {
    if (this.failure || chunk.length === 0) return;
    this.queued += chunk.length;
    const last = this.queue[this.queue.length - 1];
    if (last && last.at + last.bytes === at) {
      last.chunks.push(chunk);
      last.bytes += chunk.length;
    } else this.queue.push({ chunks: [chunk], at, bytes: chunk.length });
    this.pump();
  }

  /** Resolves once every write asked for so far has landed; rejects if one failed. */
  barrier(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.written >= this.queued) return Promise.resolve();
    return new Promise((resolve, reject) => this.barriers.push({ upTo: this.queued, resolve, reject }));
  }

  /** Resolves once no more than the low-water mark is left to write (or writing failed). */
  drained(): Promise<void> {
    if (this.pending <= this.lowWater || this.failure) return Promise.resolve();
    return new Promise((r) => this.drains.push(r));
  }

  private pump(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const next = this.queue.shift()!;
    this.inFlight = true;
    this.fh.writev(next.chunks, next.at).then(
      ({ bytesWritten }) => {
        if (bytesWritten <= 0) return fail(Object.assign(new Error('no space left on device (nothing written)'), { code: 'ENOSPC' }));
        // A short write (rare on a regular file): the rest goes out first in the next call.
        if (bytesWritten < next.bytes) this.queue.unshift(rest(next, bytesWritten));
        this.settle(Math.min(bytesWritten, next.bytes));
      },
      (e: Error) => fail(e),
    );
    const fail = (e: Error) => {
      this.failure ??= e;
      const dropped = this.queue.reduce((n, q) => n + q.bytes, 0);
      this.queue = [];
      this.settle(next.bytes + dropped);
    };
  }

  private settle(bytes: number): void {
    this.inFlight = false;
    this.written += bytes;
    const keep: typeof this.barriers = [];
    for (const b of this.barriers) {
      if (this.failure) b.reject(this.failure);
      else if (this.written >= b.upTo) b.resolve();
      else keep.push(b);
    }
    this.barriers = keep;
    if (this.pending <= this.lowWater || this.failure) {
      const d = this.drains;
      this.drains = [];
      for (const f of d) f();
    }
    this.pump();
  }
}

/** What is left of a write after its first `n` bytes landed. */
function rest(w: Pending, n: number): Pending {
  const chunks: Buffer[] = [];
  let skip = n;
  for (const c of w.chunks) {
    if (skip >= c.length) skip -= c.length;
    else {
      chunks.push(skip ? c.subarray(skip) : c);
      skip = 0;
    }
  }
  return { chunks, at: w.at + n, bytes: w.bytes - n };
}
