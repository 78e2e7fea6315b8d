import crypto from 'node:crypto';
import type fs from 'node:fs';
import type net from 'node:net';
import type { PeerAddress } from '../../../shared/types.js';
import { formatAddress } from '../address.js';
import type { Logger } from '../logger.js';
import { encodeFrame, type FrameDecoder } from '../v2/frame.js';
import { pieceLength, type Bitfield } from './pieces.js';
import { sleep } from './rate-limiter.js';
import type { ContentVerifier } from './content-verifier.js';
import { SerialWriter } from './serial-writer.js';
import type { SocketReader } from './socket-reader.js';

/** An open, handshaken v2 transfer connection. */
export interface SourceConn {
  source: PeerAddress;
  socket: net.Socket;
  decoder: FrameDecoder;
  reader: SocketReader;
}

/** The source broke the protocol or went away: drop it from this download, keep going with others. */
export class SourceError extends Error {}
/** The source sent data that failed a piece hash. */
export class BadDataError extends SourceError {}
/** Writing the `.part` failed (disk full...): the whole download stops. */
export class DiskError extends Error {}

export interface SwarmParams {
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
}

const RUN_BYTES = 16 << 20;
const FIRST_RUN_BYTES = 4 << 20;
/** Requests kept outstanding per source, so the next range follows the current one without a round trip. */
const PIPELINE = 2;
/**
 * Bytes waiting to be written before a source stops reading (back-pressure
 * from the disk), and how far they must drain before it reads again. Small on
 * purpose: see SerialWriter.
 */
const WRITE_WINDOW = 512 << 10;
const WRITE_LOW = 128 << 10;
/**
 * Flush the `.part` in the background every this many bytes written, so the
 * fsync before the rename has only the tail left (on a 1 GiB GET it fell from
 * ~300 ms to ~3 ms, and the whole download got ~7% faster).
 */
const SYNC_EVERY = 64 << 20;
/** A source that sent nothing for this long has its pieces fetched by others as well (endgame). */
const STALL_MS = 2000;

/** A range requested from one source: pieces [a, b). */
interface Run {
  a: number;
  b: number;
  /** Endgame: a piece another source is also fetching; buffered until verified, first one wins. */
  endgame: boolean;
}

/** The error that stops a download when writing its `.part` failed. */
export function diskError(e: NodeJS.ErrnoException | Error): DiskError {
  return new DiskError(
    (e as NodeJS.ErrnoException).code === 'ENOSPC'
      ? 'disk full: partial data kept, resume when there is space'
      : `cannot write the .part file: ${e.message}`,
  );
}

/**
 * Fetch every missing piece, from all sources at once. Each source gets its
 * own connection and claims runs of contiguous missing pieces, with the next
 * run requested before the current one ends. Data goes straight from the
 * socket to its place in the `.part` (positional writes, no copy) and is
 * hashed on the way, once: a piece from the only source, next in file order,
 * into the whole-file hash (see ContentVerifier); any other against its own
 * piece hash. A piece counts as done once accepted and written. A source
 * that sends a bad piece is dropped and named in the log, and the piece goes
 * back to the pool (its bytes in the file are simply rewritten). When no
 * piece is left to claim, idle sources also fetch pieces others are still on
 * (endgame); the first verified copy wins. Resolves when every piece is done; rejects when no source is left.
 */
export async function runSwarm(p: SwarmParams): Promise<void> {
  const count = p.hashes.length;
  /** Which worker writes a piece straight into the file (0 = none). Only one ever does at a time. */
  const owner = new Uint32Array(count);
  /** A piece someone fetches as an endgame duplicate. */
  const dup = new Uint8Array(count);
  /** A verified copy of the piece exists: nobody else writes it from now on. */
  const verified = new Uint8Array(count);
  /** Every write into the `.part`, in order: a later copy of a piece always lands after an earlier one. */
  const writer = new SerialWriter(p.fh, WRITE_LOW);
  let unsynced = 0;
  let syncing: Promise<void> | undefined;
  const wrote = (n: number) => {
    unsynced += n;
    if (syncing || unsynced < SYNC_EVERY) return;
    unsynced = 0;
    syncing = p.fh.datasync().then(
      () => (syncing = undefined),
      () => (syncing = undefined), // only an early flush: the fsync before the rename reports errors
    );
  };
  const started = new Set<string>();
  /** Per worker: the piece it is receiving, and when data last came. */
  const progress = new Map<number, { at: number; lastData: number }>();
  const workers = new Set<Promise<void>>();
  const errors: string[] = [];
  let fatal: Error | undefined;
  let finished = false;
  let nextId = 1;
  let waiters: (() => void)[] = [];
  const changed = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const waitChange = () => new Promise<void>((r) => waiters.push(r));
  const conns = new Set<SourceConn>();
  const stopAll = () => {
    for (const c of conns) c.socket.destroy();
    changed();
  };
  p.signal.addEventListener('abort', stopAll, { once: true });
  const fail = (e: Error) => {
    fatal ??= e;
    stopAll();
  };
  const free = (i: number) => owner[i] === 0 && !verified[i] && !p.have.has(i);
  let firstFree = 0;
  const freeCount = () => {
    while (firstFree < count && !free(firstFree)) firstFree++;
    let n = 0;
    for (let i = firstFree; i < count; i++) if (free(i)) n++;
    return n;
  };

  /** Claim a run of contiguous free pieces sized to about two seconds of this source's speed, leaving a share for the others. */
  const claim = (me: number, speed: number): Run | undefined => {
    const left = freeCount();
    if (left === 0) return undefined;
    let a = firstFree;
    while (a < count && !free(a)) a++;
    const want = speed > 0 ? Math.min(RUN_BYTES, speed * 2) : FIRST_RUN_BYTES;
    // Each source keeps PIPELINE runs outstanding: share what is left across all of them.
    const share = Math.ceil(left / Math.max(1, workers.size * PIPELINE));
    const maxRun = Math.max(1, Math.min(Math.floor(want / p.pieceSize), share));
    let b = a;
    while (b < count && b - a < maxRun && free(b)) owner[b++] = me;
    return { a, b, endgame: false };
  };

  /**
   * Endgame: a piece another source holds, taken from the end of its queue,
   * when that source still has at least two pieces to go before it (so this
   * copy likely wins) or has sent nothing for STALL_MS. Not yet doubled up.
   */
  const claimEndgame = (me: number): Run | undefined => {
    const now = performance.now();
    for (let i = count - 1; i >= 0; i--) {
      const o = owner[i]!;
      if (p.have.has(i) || verified[i] || dup[i] || o === me || o === 0) continue;
      const holder = progress.get(o);
      let ahead = 0;
      if (holder && now - holder.lastData < STALL_MS)
        for (let j = holder.at; j < i && ahead < 2; j++) if (owner[j] === o && !verified[j] && !p.have.has(j)) ahead++;
      if (holder && ahead < 2 && now - holder.lastData < STALL_MS) continue;
      dup[i] = 1;
      return { a: i, b: i + 1, endgame: true };
    }
    return undefined;
  };

  const release = (me: number, run: Run) => {
    for (let i = run.a; i < run.b; i++) {
      if (owner[i] === me) owner[i] = 0;
      if (run.endgame) dup[i] = 0;
    }
    if (run.a < firstFree) firstFree = run.a;
    changed();
  };

  const sendRequest = (c: SourceConn, run: Run) => {
    const offset = run.a * p.pieceSize;
    const length = Math.min(run.b * p.pieceSize, p.size) - offset;
    c.socket.write(encodeFrame({ t: 'get', sha256: p.sha256, offset, length, more: true }));
  };

  const worker = async (source: PeerAddress, pre?: SourceConn) => {
    const me = nextId++;
    const who = formatAddress(source);
    const timeout = p.readTimeoutMs ?? 30_000;
    let c: SourceConn | undefined;
    let speed = 0;
    const prog = { at: 0, lastData: performance.now() };
    progress.set(me, prog);
    const inflight: Run[] = [];
    /** Pieces this source delivered, marked done once their writes land. */
    let landing: Promise<unknown> = Promise.resolve();
    const done = (i: number) => {
      p.have.set(i);
      p.onPiece(i, source);
      p.content.catchUp();
      changed();
    };
    /** Accepted: nobody else writes it from now on; done once every write queued so far has landed. */
    const accept = (i: number) => {
      verified[i] = 1;
      landing = Promise.all([landing, writer.barrier()]).then(
        () => {
          if (!fatal) done(i);
        },
        (e: NodeJS.ErrnoException) => fail(diskError(e)),
      );
    };

    const receive = async (run: Run) => {
      const offset = run.a * p.pieceSize;
      const length = Math.min(run.b * p.pieceSize, p.size) - offset;
      let queued = false;
      for (;;) {
        // Waiting in a source's queue has no time limit: its claims are released meanwhile.
        const m = await c!.reader.frame(c!.decoder, queued ? 0 : timeout).catch((e: Error) => {
          throw new SourceError(e.message);
        });
        if (!m) throw new SourceError('source closed the connection');
        if (m.t === 'queued') {
          queued = true;
          for (const r of inflight) release(me, r);
          p.onQueued(m.position);
        } else if (m.t === 'error') throw new SourceError(m.message);
        else if (m.t === 'get-ok') {
          if (m.sha256 !== p.sha256 || m.offset !== offset || m.length !== length)
            throw new SourceError('source answered a different range');
          break;
        } else throw new SourceError(`unexpected ${m.t} from source`);
      }
      if (queued) p.onQueued(undefined);
      for (let i = run.a; i < run.b; i++) {
        const len = pieceLength(i, p.size, p.pieceSize);
        prog.at = i;
        // Straight into the file if this source holds the piece (or it is free); buffered if another
        // source may be writing it (endgame); read and dropped if it is already done.
        let mode: 'direct' | 'buffer' | 'drop' = 'drop';
        if (!p.have.has(i) && !verified[i]) {
          if (owner[i] === 0 && !run.endgame) owner[i] = me;
          mode = owner[i] === me ? 'direct' : 'buffer';
        }
        // The only source, sending the piece the whole-file hash has reached: one hash pass, checked by
        // the whole-file SHA-256 at the end (and piece by piece only if that fails). Any other piece is
        // checked against its own hash as it arrives, so a lying source is caught at once.
        const fold = mode === 'direct' && conns.size === 1 ? p.content.fold(i) : undefined;
        const hash = mode !== 'drop' && !fold ? crypto.createHash('sha256') : undefined;
        const chunks: Buffer[] = [];
        let at = i * p.pieceSize;
        let got = 0;
        try {
          while (got < len) {
            if (p.signal.aborted || fatal || finished) throw new SourceError('stopped');
            if (writer.error) throw diskError(writer.error);
            const chunk = await c!.reader.read(len - got, timeout).catch((e: Error) => {
              throw new SourceError(e.message);
            });
            if (!chunk) throw new SourceError(`source went away in piece ${i}`);
            got += chunk.length;
            prog.lastData = performance.now();
            p.onBytes(chunk.length);
            if (fold) fold.update(chunk);
            else hash?.update(chunk);
            if (mode === 'direct') {
              // Once another copy won, this one is only read to the end of the piece.
              if (!verified[i]) {
                writer.write(chunk, at);
                wrote(chunk.length);
              }
              at += chunk.length;
              if (writer.pending > WRITE_WINDOW) await writer.drained();
            } else if (mode === 'buffer') chunks.push(chunk);
            const wait = p.throttle(chunk.length);
            if (wait > 0) await sleep(wait);
          }
        } catch (e) {
          fold?.abort();
          throw e;
        }
        if (mode === 'drop') continue;
        if (verified[i] || p.have.has(i)) {
          fold?.abort(); // another copy won already; no need to check or blame this one
          continue;
        }
        if (fold) fold.commit();
        else if (hash!.digest('hex') !== p.hashes[i]) throw new BadDataError(`piece ${i} failed verification (bad data)`);
        // A buffered copy goes in after whatever the source that held the piece had queued for it.
        if (mode === 'buffer')
          for (let k = 0, pos = i * p.pieceSize; k < chunks.length; pos += chunks[k]!.length, k++) writer.write(chunks[k]!, pos);
        accept(i);
      }
    };

    // Let every known source start before the first claim, so the first runs are shared out.
    await null;
    try {
      const opened = pre ?? (await p.open(source));
      if (opened === 'v1') return;
      c = opened;
      conns.add(c);
      if (p.signal.aborted) return;
      for (;;) {
        if (p.signal.aborted || fatal || finished) return;
        while (inflight.length < PIPELINE) {
          // Endgame only for a source with nothing else to do, so duplicates stay few.
          const run = claim(me, speed) ?? (inflight.length === 0 ? claimEndgame(me) : undefined);
          if (!run) break;
          sendRequest(c, run);
          inflight.push(run);
        }
        if (inflight.length === 0) {
          if (p.have.complete) return;
          await waitChange();
          continue;
        }
        const run = inflight[0]!;
        const t0 = performance.now();
        await receive(run);
        inflight.shift();
        release(me, run);
        const bytes = Math.min(run.b * p.pieceSize, p.size) - run.a * p.pieceSize;
        if (!run.endgame) speed = bytes / Math.max(0.001, (performance.now() - t0) / 1000);
      }
    } catch (e) {
      if (e instanceof DiskError) return fail(e);
      if (p.signal.aborted || finished || fatal) return;
      const msg = (e as Error).message;
      errors.push(`${who}: ${msg}`);
      if (e instanceof BadDataError) {
        p.log.warn(`download ${p.name}: dropping source ${who}: ${msg}`);
        p.onBadSource(source);
      } else p.log.warn(`download ${p.name}: source ${who} left: ${msg}`);
    } finally {
      progress.delete(me);
      if (c) {
        conns.delete(c);
        c.socket.destroy();
      }
      // Claims go back to the pool only once this source's accepted pieces have landed.
      await landing;
      for (const r of inflight) release(me, r);
      changed();
    }
  };

  const spawn = () => {
    for (const s of p.sources()) {
      const key = formatAddress(s);
      if (started.has(key)) continue;
      started.add(key);
      const pre = p.preopened && formatAddress(p.preopened.source) === key ? p.preopened : undefined;
      const w: Promise<void> = worker(s, pre).finally(() => workers.delete(w));
      workers.add(w);
    }
  };

  const poll = setInterval(() => {
    spawn();
    changed();
  }, 500);
  try {
    spawn();
    while (!p.have.complete) {
      if (fatal) throw fatal;
      if (p.signal.aborted) throw new Error('aborted');
      if (workers.size === 0) {
        const left = count - p.have.done;
        throw new SourceError(
          errors.length ? `${left} pieces missing and no source left (${errors.join('; ')})` : `${left} pieces missing and no v2 source`,
        );
      }
      await Promise.race([...workers, waitChange()]);
    }
    // Every piece is in: sources still busy (endgame losers, pipelined requests) are cut off.
    finished = true;
    stopAll();
    await Promise.allSettled([...workers]);
    await writer.barrier().catch((e: NodeJS.ErrnoException) => fail(diskError(e)));
    if (fatal) throw fatal;
  } finally {
    finished = true;
    clearInterval(poll);
    p.signal.removeEventListener('abort', stopAll);
    for (const c of conns) c.socket.destroy();
    await Promise.allSettled([...workers]);
    // Nothing may still be writing into the `.part` once this returns.
    await writer.barrier().catch(() => {});
    await syncing;
    changed();
  }
}
