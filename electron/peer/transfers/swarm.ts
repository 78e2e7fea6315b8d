import type fs from 'node:fs';
import type { PeerAddress } from '../../../shared/types.js';
import { formatAddress } from '../address.js';
import type { Logger } from '../logger.js';
import type { ContentVerifier } from './content-verifier.js';
import type { Bitfield } from './pieces.js';
import {
  claimEndgame,
  claimRun,
  newPieceState,
  releaseRun,
  type Holder,
  type PickStrategy,
  type PieceState,
  type Run,
} from './piece-picker.js';
import { SerialWriter } from './serial-writer.js';
import { diskError, SourceError, type SourceConn } from './source-conn.js';
import { SwarmWorker } from './swarm-worker.js';

interface SwarmParams {
  sha256: string;
  size: number;
  pieceSize: number;
  hashes: string[];
  have: Bitfield;
  fh: fs.promises.FileHandle;
  /** The download's sources; it may grow while the swarm runs. */
  sources: () => PeerAddress[];
  open: (source: PeerAddress) => Promise<SourceConn | 'v1'>;
  /** Milliseconds to wait after receiving `n` bytes (bandwidth limits). */
  throttle: (n: number) => number;
  onBytes: (n: number) => void;
  /** The whole-file hash, which in-order pieces are folded into as they arrive. */
  content: Pick<ContentVerifier, 'fold' | 'catchUp'>;
  /** A piece was accepted and written; `source` sent it. */
  onPiece: (index: number, source: PeerAddress) => void;
  /** A source sent a piece that failed its hash: it is out of this download. */
  onBadSource: (source: PeerAddress) => void;
  onQueued: (position: number | undefined) => void;
  log: Logger;
  name: string;
  signal: AbortSignal;
  /** A connection already opened (to fetch the piece list), reused for its source. */
  preopened?: SourceConn;
  readTimeoutMs?: number;
  /** Checked as data arrives: an error here (the disk filling up) stops the download. */
  guard?: () => Error | undefined;
  /** Which pieces go first (file order by default). */
  strategy?: PickStrategy;
}

/** How far queued writes must drain before a source reads again (see SwarmWorker's WRITE_WINDOW). */
const WRITE_LOW = 128 << 10;
/**
 * Flush the `.part` in the background every this many bytes written, so the
 * fsync before the rename has only the tail left (on a 1 GiB GET it fell from
 * ~300 ms to ~3 ms, and the whole download got ~7% faster).
 */
const SYNC_EVERY = 64 << 20;

/**
 * Fetch every missing piece, from all sources at once. Each source gets its
 * own connection (a SwarmWorker) and claims runs of pieces from the piece
 * picker, with the next run requested before the current one ends. Data goes
 * straight from the socket to its place in the `.part` (positional writes, no
 * copy) and is hashed on the way, once: a piece from the only source, next in
 * file order, into the whole-file hash (see ContentVerifier); any other
 * against its own piece hash. A piece counts as done once accepted and
 * written. A source that sends a bad piece is dropped and named in the log,
 * and the piece goes back to the pool (its bytes in the file are simply
 * rewritten). When no piece is left to claim, idle sources also fetch pieces
 * others are still on (endgame); the first verified copy wins.
 */
export class Swarm {
  readonly pieces: PieceState;
  /** Every write into the `.part`, in order: a later copy of a piece always lands after an earlier one. */
  readonly writer: SerialWriter;
  /** Per worker: the piece it is receiving, and when data last came. */
  readonly holders = new Map<number, Holder>();
  readonly conns = new Set<SourceConn>();
  fatal?: Error;
  finished = false;
  strategy?: PickStrategy;
  private readonly workers = new Set<Promise<void>>();
  private readonly started = new Set<string>();
  private readonly errors: string[] = [];
  private waiters: (() => void)[] = [];
  private nextId = 1;
  private unsynced = 0;
  private syncing?: Promise<void>;

  constructor(readonly p: SwarmParams) {
    this.pieces = newPieceState(p.hashes.length, p.pieceSize, p.have);
    this.writer = new SerialWriter(p.fh, WRITE_LOW);
    this.strategy = p.strategy;
  }

  /** Stop now: the swarm, or one of its workers, hit an error that ends the download. */
  get stopped(): boolean {
    return this.p.signal.aborted || this.fatal !== undefined || this.finished;
  }

  /** Wake everyone waiting for the piece state to change. */
  changed(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  waitChange(): Promise<void> {
    return new Promise<void>((r) => this.waiters.push(r));
  }

  fail(e: Error): void {
    this.fatal ??= e;
    this.stopAll();
  }

  /** The next run for worker `me`: free pieces, or (only when it has nothing in flight) an endgame duplicate. */
  claim(me: number, speed: number, idle: boolean): Run | undefined {
    return (
      claimRun(this.pieces, me, { speed, workers: this.workers.size, strategy: this.strategy }) ??
      (idle ? claimEndgame(this.pieces, me, this.holders, performance.now()) : undefined)
    );
  }

  release(me: number, run: Run): void {
    releaseRun(this.pieces, me, run);
    this.changed();
  }

  /** Bytes were queued for the `.part`: flush in the background now and then. */
  wrote(n: number): void {
    this.unsynced += n;
    if (this.syncing || this.unsynced < SYNC_EVERY) return;
    this.unsynced = 0;
    this.syncing = this.p.fh.datasync().then(
      () => (this.syncing = undefined),
      () => (this.syncing = undefined), // only an early flush: the fsync before the rename reports errors
    );
  }

  recordError(who: string, msg: string): void {
    this.errors.push(`${who}: ${msg}`);
  }

  newWorkerId(): number {
    return this.nextId++;
  }

  /** Resolves when every piece is done; rejects when no source is left or writing failed. */
  async run(): Promise<void> {
    const stopAll = () => this.stopAll();
    this.p.signal.addEventListener('abort', stopAll, { once: true });
    const poll = setInterval(() => {
      this.spawn();
      this.changed();
    }, 500);
    try {
      this.spawn();
      await this.untilComplete();
      // Every piece is in: sources still busy (endgame losers, pipelined requests) are cut off.
      this.finished = true;
      this.stopAll();
      await Promise.allSettled([...this.workers]);
      await this.writer.barrier().catch((e: NodeJS.ErrnoException) => this.fail(diskError(e)));
      if (this.fatal) throw this.fatal;
    } finally {
      this.finished = true;
      clearInterval(poll);
      this.p.signal.removeEventListener('abort', stopAll);
      for (const c of this.conns) c.socket.destroy();
      await Promise.allSettled([...this.workers]);
      // Nothing may still be writing into the `.part` once this returns.
      await this.writer.barrier().catch(() => {});
      await this.syncing;
      this.changed();
    }
  }

  private async untilComplete(): Promise<void> {
    while (!this.p.have.complete) {
      if (this.fatal) throw this.fatal;
      if (this.p.signal.aborted) throw new Error('aborted');
      if (this.workers.size === 0) {
        const left = this.pieces.count - this.p.have.done;
        throw new SourceError(
          this.errors.length
            ? `${left} pieces missing and no source left (${this.errors.join('; ')})`
            : `${left} pieces missing and no v2 source`,
        );
      }
      await Promise.race([...this.workers, this.waitChange()]);
    }
  }

  private stopAll(): void {
    for (const c of this.conns) c.socket.destroy();
    this.changed();
  }

  /** A worker for every source not started yet (sources may be added while the swarm runs). */
  private spawn(): void {
    for (const s of this.p.sources()) {
      const key = formatAddress(s);
      if (this.started.has(key)) continue;
      this.started.add(key);
      const pre = this.p.preopened && formatAddress(this.p.preopened.source) === key ? this.p.preopened : undefined;
      const w: Promise<void> = new SwarmWorker(this, s, pre).run().finally(() => this.workers.delete(w));
      this.workers.add(w);
    }
  }
}

/** Fetch every missing piece from all sources at once (see Swarm). */
export function runSwarm(p: SwarmParams): Promise<void> {
  return new Swarm(p).run();
}
