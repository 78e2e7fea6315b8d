import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerAddress } from '../../../shared/types.js';
import { formatAddress } from '../address.js';
import { encodeFrame } from '../v2/frame.js';
import type { PieceFold } from './content-verifier.js';
import { PIPELINE, receiveMode, runRange, type Holder, type Run } from './piece-picker.js';
import { pieceLength } from './pieces.js';
import { BadDataError, DiskError, diskError, SourceError, type SourceConn } from './source-conn.js';
import type { Swarm } from './swarm.js';

/**
 * Bytes waiting to be written before a source stops reading (back-pressure
 * from the disk). Small on purpose: see SerialWriter.
 */
const WRITE_WINDOW = 512 << 10;
/** With a lead time (streaming), the next run is requested no later than this many bytes before the current one ends. */
const MIN_LEAD_BYTES = 64 << 10;
/** ...and no later than twice the source's answer time, or this, before it ends. */
const MIN_LEAD_MS = 20;

/**
 * One source of a swarm: its connection, the runs it has requested (up to
 * PIPELINE outstanding), and how each piece it sends is checked and written.
 */
export class SwarmWorker {
  private readonly me: number;
  private readonly who: string;
  private readonly timeout: number;
  private readonly holder: Holder = { at: 0, lastData: performance.now() };
  private readonly inflight: Run[] = [];
  private c?: SourceConn;
  private speed = 0;
  /** Streaming (see PickStrategy.leadMs): the lead for the run being received, else undefined. */
  private leadMs?: number;
  /** Bytes of the run being received still to come. */
  private runLeft = 0;
  /** When a GET went out with nothing ahead of it, to time how long this source takes to answer. */
  private idleSentAt?: number;
  /** How long this source took to answer a GET with nothing ahead of it (ms), once known. */
  private answerMs?: number;
  /** Pieces this source delivered, marked done once their writes land. */
  private landing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly swarm: Swarm,
    private readonly source: PeerAddress,
    private readonly pre?: SourceConn,
  ) {
    this.me = swarm.newWorkerId();
    this.who = formatAddress(source);
    this.timeout = swarm.p.readTimeoutMs ?? 30_000;
    swarm.holders.set(this.me, this.holder);
  }

  async run(): Promise<void> {
    const s = this.swarm;
    // Let every known source start before the first claim, so the first runs are shared out.
    await null;
    try {
      const opened = this.pre ?? (await s.p.open(this.source));
      if (opened === 'v1') return;
      this.c = opened;
      s.conns.add(opened);
      await this.loop();
    } catch (e) {
      this.failed(e as Error);
    } finally {
      s.holders.delete(this.me);
      if (this.c) {
        s.conns.delete(this.c);
        this.c.socket.destroy();
      }
      // Claims go back to the pool only once this source's accepted pieces have landed.
      await this.landing;
      for (const r of this.inflight) s.release(this.me, r);
      s.changed();
    }
  }

  /**
   * Keep PIPELINE runs requested; receive them in order. Streaming (a lead
   * time): one run requested, the next only near its end (see `topUp`).
   */
  private async loop(): Promise<void> {
    const s = this.swarm;
    for (;;) {
      if (s.stopped) return;
      this.leadMs = s.strategy?.leadMs?.();
      const depth = this.leadMs === undefined ? PIPELINE : 1;
      // Endgame only for a source with nothing else to do, so duplicates stay few.
      while (this.inflight.length < depth && this.request(this.inflight.length === 0));
      if (this.inflight.length === 0) {
        if (s.p.have.complete) return;
        await s.waitChange();
        continue;
      }
      const run = this.inflight[0]!;
      const t0 = performance.now();
      await this.receiveHeader(run);
      if (this.idleSentAt !== undefined) this.answerMs = performance.now() - this.idleSentAt;
      this.idleSentAt = undefined;
      this.runLeft = runRange(run, s.p.pieceSize, s.p.size).length;
      for (let i = run.a; i < run.b; i++) await this.receivePiece(i, run.endgame);
      this.inflight.shift();
      s.release(this.me, run);
      if (!run.endgame) this.speed = runRange(run, s.p.pieceSize, s.p.size).length / Math.max(0.001, (performance.now() - t0) / 1000);
    }
  }

  /** Claim a run and send its GET; false when there is nothing to claim. */
  private request(idle: boolean): boolean {
    const s = this.swarm;
    const run = s.claim(this.me, this.speed, idle);
    if (!run) return false;
    const { offset, length } = runRange(run, s.p.pieceSize, s.p.size);
    this.c!.socket.write(encodeFrame({ t: 'get', sha256: s.p.sha256, offset, length, more: true }));
    if (this.inflight.length === 0) this.idleSentAt = performance.now();
    this.inflight.push(run);
    return true;
  }

  /**
   * Streaming: request the next run once the current one has little left to
   * arrive: twice this source's answer time (a round trip and its own work),
   * at most `leadMs`, of its speed. The wire stays fed while a seek finds at
   * most that much queued ahead of the new position.
   */
  private topUp(n: number): void {
    this.runLeft -= n;
    if (this.leadMs === undefined || this.inflight.length !== 1) return;
    const ms = this.answerMs === undefined ? this.leadMs : Math.min(this.leadMs, Math.max(MIN_LEAD_MS, 2 * this.answerMs));
    if (this.runLeft > Math.max(MIN_LEAD_BYTES, (this.speed * ms) / 1000)) return;
    // Tried once per run: nothing free now stays so until something changes.
    if (!this.request(false)) this.leadMs = undefined;
  }

  private failed(e: Error): void {
    const s = this.swarm;
    if (e instanceof DiskError) return s.fail(e);
    if (s.stopped) return;
    s.recordError(this.who, e.message);
    if (e instanceof BadDataError) {
      s.p.log.warn(`download ${s.p.name}: dropping source ${this.who}: ${e.message}`);
      s.p.onBadSource(this.source);
    } else s.p.log.warn(`download ${s.p.name}: source ${this.who} left: ${e.message}`);
  }

  /** Wait for the `get-ok` of a run; a source that queues us holds no claims meanwhile. */
  private async receiveHeader(run: Run): Promise<void> {
    const s = this.swarm;
    const c = this.c!;
    const { offset, length } = runRange(run, s.p.pieceSize, s.p.size);
    let queued = false;
    for (;;) {
      // Waiting in a source's queue has no time limit: its claims are released meanwhile.
      const m = await c.reader.frame(c.decoder, queued ? 0 : this.timeout).catch((e: Error) => {
        throw new SourceError(e.message);
      });
      if (!m) throw new SourceError('source closed the connection');
      if (m.t === 'queued') {
        queued = true;
        for (const r of this.inflight) s.release(this.me, r);
        s.p.onQueued(m.position);
      } else if (m.t === 'error') throw new SourceError(m.message);
      else if (m.t === 'get-ok') {
        if (m.sha256 !== s.p.sha256 || m.offset !== offset || m.length !== length)
          throw new SourceError('source answered a different range');
        break;
      } else throw new SourceError(`unexpected ${m.t} from source`);
    }
    if (queued) s.p.onQueued(undefined);
  }

  /**
   * Read piece `i` off the connection and handle it per its receive mode. The
   * only source, sending the piece the whole-file hash has reached: one hash
   * pass, checked by the whole-file SHA-256 at the end (and piece by piece only
   * if that fails). Any other piece is checked against its own hash as it
   * arrives, so a lying source is caught at once.
   */
  private async receivePiece(i: number, endgame: boolean): Promise<void> {
    const s = this.swarm;
    this.holder.at = i;
    const mode = receiveMode(s.pieces, this.me, i, endgame);
    const fold = mode === 'direct' && s.conns.size === 1 ? s.p.content.fold(i) : undefined;
    const hash = mode !== 'drop' && !fold ? crypto.createHash('sha256') : undefined;
    let chunks: Buffer[];
    try {
      chunks = await this.readPiece(i, mode, fold ?? hash);
    } catch (e) {
      fold?.abort();
      throw e;
    }
    if (mode === 'drop') return;
    if (s.pieces.verified[i] || s.p.have.has(i)) {
      fold?.abort(); // another copy won already; no need to check or blame this one
      return;
    }
    if (fold) fold.commit();
    else if (hash!.digest('hex') !== s.p.hashes[i]) throw new BadDataError(`piece ${i} failed verification (bad data)`);
    // A buffered copy goes in after whatever the source that held the piece had queued for it.
    if (mode === 'buffer')
      for (let k = 0, pos = i * s.p.pieceSize; k < chunks.length; pos += chunks[k]!.length, k++) s.writer.write(chunks[k]!, pos);
    this.accept(i);
  }

  /** The bytes of piece `i`: written in place (direct), kept (buffer, returned) or dropped; hashed on the way. */
  private async readPiece(i: number, mode: 'direct' | 'buffer' | 'drop', hash?: Pick<PieceFold, 'update'>): Promise<Buffer[]> {
    const s = this.swarm;
    const len = pieceLength(i, s.p.size, s.p.pieceSize);
    const chunks: Buffer[] = [];
    let at = i * s.p.pieceSize;
    for (let got = 0; got < len;) {
      if (s.stopped) throw new SourceError('stopped');
      if (s.writer.error) throw diskError(s.writer.error);
      const stop = s.p.guard?.();
      if (stop) throw new DiskError(stop.message);
      const chunk = await this.c!.reader.read(len - got, this.timeout).catch((e: Error) => {
        throw new SourceError(e.message);
      });
      if (!chunk) throw new SourceError(`source went away in piece ${i}`);
      got += chunk.length;
      this.topUp(chunk.length);
      this.holder.lastData = performance.now();
      s.p.onBytes(chunk.length);
      hash?.update(chunk);
      if (mode === 'direct') {
        // Once another copy won, this one is only read to the end of the piece.
        if (!s.pieces.verified[i]) {
          s.writer.write(chunk, at);
          s.wrote(chunk.length);
        }
        at += chunk.length;
        if (s.writer.pending > WRITE_WINDOW) await s.writer.drained();
      } else if (mode === 'buffer') chunks.push(chunk);
      const wait = s.p.throttle(chunk.length);
      if (wait > 0) await sleep(wait);
    }
    return chunks;
  }

  /** Accepted: nobody else writes it from now on; done once every write queued so far has landed. */
  private accept(i: number): void {
    const s = this.swarm;
    s.pieces.verified[i] = 1;
    this.landing = Promise.all([this.landing, s.writer.barrier()]).then(
      () => {
        if (s.fatal) return;
        s.p.have.set(i);
        s.p.onPiece(i, this.source);
        s.p.content.catchUp();
        s.changed();
      },
      (e: NodeJS.ErrnoException) => s.fail(diskError(e)),
    );
  }
}
