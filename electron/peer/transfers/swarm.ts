import crypto from 'node:crypto';
import type fs from 'node:fs';
import type net from 'node:net';
import type { PeerAddress } from '../../../shared/types.js';
import { formatAddress } from '../address.js';
import type { Logger } from '../logger.js';
import { encodeFrame, type FrameDecoder } from '../v2/frame.js';
import { pieceLength, type Bitfield } from './pieces.js';
import { sleep } from './rate-limiter.js';
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
  /** A piece was verified and written; `data` is only valid during the call. */
  onPiece: (index: number, data: Buffer) => void;
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
const WRITES_IN_FLIGHT = 2;

/**
 * Fetch every missing piece, from all sources at once. Each source gets its
 * own connection and claims runs of contiguous missing pieces; each piece is
 * checked against its hash before it is written at its place in the `.part`.
 * A source that sends a bad piece is dropped and named in the log, and the
 * piece goes back to the pool for another source. Resolves when every piece
 * is done; rejects when no source is left.
 */
export async function runSwarm(p: SwarmParams): Promise<void> {
  const count = p.hashes.length;
  const claimed = new Uint8Array(count);
  const started = new Set<string>();
  const workers = new Set<Promise<void>>();
  const errors: string[] = [];
  let fatal: Error | undefined;
  let waiters: (() => void)[] = [];
  const changed = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const waitChange = () => new Promise<void>((r) => waiters.push(r));
  const conns = new Set<SourceConn>();
  const onAbort = () => {
    for (const c of conns) c.socket.destroy();
    changed();
  };
  p.signal.addEventListener('abort', onAbort, { once: true });

  const freeCount = () => {
    let n = 0;
    for (let i = 0; i < count; i++) if (!claimed[i] && !p.have.has(i)) n++;
    return n;
  };
  /** Claim a run of contiguous missing pieces sized to about two seconds of this source's speed, leaving a share for the others. */
  const claim = (speed: number): [number, number] | undefined => {
    let a = 0;
    while (a < count && (claimed[a] || p.have.has(a))) a++;
    if (a >= count) return undefined;
    const want = speed > 0 ? Math.min(RUN_BYTES, speed * 2) : FIRST_RUN_BYTES;
    const maxRun = Math.max(1, Math.min(Math.floor(want / p.pieceSize), Math.ceil(freeCount() / Math.max(1, workers.size))));
    let b = a;
    while (b < count && b - a < maxRun && !claimed[b] && !p.have.has(b)) claimed[b++] = 1;
    return [a, b];
  };

  const fetchRun = async (c: SourceConn, a: number, b: number, pool: Buffer[]) => {
    const offset = a * p.pieceSize;
    const length = Math.min(b * p.pieceSize, p.size) - offset;
    c.socket.write(encodeFrame({ t: 'get', sha256: p.sha256, offset, length, more: true }));
    for (;;) {
      const m = await c.reader.frame(c.decoder).catch((e: Error) => {
        throw new SourceError(e.message);
      });
      if (!m) throw new SourceError('source closed the connection');
      if (m.t === 'queued') p.onQueued(m.position);
      else if (m.t === 'error') throw new SourceError(m.message);
      else if (m.t === 'get-ok') {
        if (m.sha256 !== p.sha256 || m.offset !== offset || m.length !== length) throw new SourceError('source answered a different range');
        break;
      } else throw new SourceError(`unexpected ${m.t} from source`);
    }
    p.onQueued(undefined);
    const writes: Promise<void>[] = [];
    try {
      for (let i = a; i < b; i++) {
        const len = pieceLength(i, p.size, p.pieceSize);
        while (pool.length === 0) await writes.shift();
        const buf = pool.pop()!;
        let got = 0;
        while (got < len) {
          if (p.signal.aborted || fatal) throw new SourceError('stopped');
          const chunk = await c.reader.read(len - got, p.readTimeoutMs ?? 30_000).catch((e: Error) => {
            throw new SourceError(e.message);
          });
          if (!chunk) throw new SourceError(`source went away in piece ${i}`);
          chunk.copy(buf, got);
          got += chunk.length;
          p.onBytes(chunk.length);
          const wait = p.throttle(chunk.length);
          if (wait > 0) await sleep(wait);
        }
        const data = buf.subarray(0, len);
        if (crypto.createHash('sha256').update(data).digest('hex') !== p.hashes[i]) {
          pool.push(buf);
          throw new BadDataError(`piece ${i} failed verification (bad data)`);
        }
        const w = p.fh.write(data, 0, len, i * p.pieceSize).then(
          () => {
            p.have.set(i);
            claimed[i] = 0;
            p.onPiece(i, data);
            pool.push(buf);
            changed();
          },
          (e: NodeJS.ErrnoException) => {
            throw new DiskError(
              e.code === 'ENOSPC'
                ? 'disk full: partial data kept, resume when there is space'
                : `cannot write the .part file: ${e.message}`,
            );
          },
        );
        // Handled where it is awaited; this only keeps an early failure from counting as unhandled.
        w.catch(() => {});
        writes.push(w);
        if (writes.length > WRITES_IN_FLIGHT) await writes.shift();
      }
    } finally {
      const results = await Promise.allSettled(writes);
      for (const r of results) if (r.status === 'rejected' && r.reason instanceof DiskError) fatal ??= r.reason;
      for (let i = a; i < b; i++) claimed[i] = 0;
      changed();
    }
    if (fatal) throw fatal;
  };

  const worker = async (source: PeerAddress, pre?: SourceConn) => {
    const who = formatAddress(source);
    let c: SourceConn | undefined;
    let speed = 0;
    // Let every known source start before the first claim, so the first runs are shared out.
    await null;
    try {
      const opened = pre ?? (await p.open(source));
      if (opened === 'v1') return;
      c = opened;
      conns.add(c);
      if (p.signal.aborted) return;
      const pool = Array.from({ length: WRITES_IN_FLIGHT + 1 }, () => Buffer.allocUnsafe(p.pieceSize));
      for (;;) {
        if (p.signal.aborted || fatal) return;
        const run = claim(speed);
        if (!run) {
          if (p.have.complete) return;
          await waitChange();
          continue;
        }
        const t0 = performance.now();
        await fetchRun(c, run[0], run[1], pool);
        const bytes = Math.min(run[1] * p.pieceSize, p.size) - run[0] * p.pieceSize;
        speed = bytes / Math.max(0.001, (performance.now() - t0) / 1000);
      }
    } catch (e) {
      if (e instanceof DiskError) {
        fatal ??= e;
        onAbort();
        return;
      }
      if (p.signal.aborted) return;
      const msg = (e as Error).message;
      errors.push(`${who}: ${msg}`);
      if (e instanceof BadDataError) p.log.warn(`download ${p.name}: dropping source ${who}: ${msg}`);
      else p.log.warn(`download ${p.name}: source ${who} left: ${msg}`);
    } finally {
      if (c) {
        conns.delete(c);
        c.socket.destroy();
      }
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
    changed();
    await Promise.allSettled([...workers]);
    if (fatal) throw fatal;
  } finally {
    clearInterval(poll);
    p.signal.removeEventListener('abort', onAbort);
    for (const c of conns) c.socket.destroy();
    changed();
  }
}
