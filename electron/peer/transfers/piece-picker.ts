/**
 * Which pieces a source fetches next: pure decisions over the swarm's piece
 * state, so they can be tested without sockets. The swarm owns the state and
 * asks the picker; the picker never does I/O and reads the clock only through
 * its arguments.
 *
 * A piece is one of:
 * - done (`have`) or verified (a copy was accepted, its write may still land);
 * - claimed by one worker (`owner`, 0 = nobody), possibly also fetched as an
 *   endgame duplicate by another (`dup`);
 * - free: none of the above.
 */

/** A range requested from one source: pieces [a, b). */
export interface Run {
  a: number;
  b: number;
  /** Endgame: a piece another source is also fetching; buffered until verified, first one wins. */
  endgame: boolean;
}

/** The swarm's piece state, shared by the swarm (which updates it) and the picker (which reads and claims). */
export interface PieceState {
  readonly count: number;
  readonly pieceSize: number;
  /** Done and written (the download's bitfield). */
  readonly have: { has(i: number): boolean };
  /** Which worker holds a piece (0 = none). */
  readonly owner: Uint32Array;
  /** A piece someone fetches as an endgame duplicate. */
  readonly dup: Uint8Array;
  /** A verified copy exists: nobody else writes it from now on. */
  readonly verified: Uint8Array;
  /** No free piece before this index (a hint, kept by the picker). */
  firstFree: number;
}

/** Where a source starts looking for its next run. Pluggable: streaming starts at the play position. */
export interface PickStrategy {
  /** The first piece to consider; the search runs forward from it and then wraps to 0. */
  start(state: PieceState): number;
  /** At most this many pieces in a run starting at `a` (streaming keeps runs short so a seek takes effect soon). */
  maxRun?(state: PieceState, a: number): number;
  /**
   * Streaming: a source requests its next run only when the current one has
   * about this many milliseconds left to arrive, instead of keeping PIPELINE
   * runs requested, so what a seek must wait for on the wire stays short.
   * Undefined: PIPELINE runs outstanding (throughput first).
   */
  leadMs?(): number | undefined;
}

/** File order: the lowest free piece first (keeps the whole-file hash folding in order). */
export const inOrder: PickStrategy = { start: (s) => s.firstFree };

/** Sequential from a position (streaming): pieces at and after `piece` first, then the rest in order. */
export function sequentialFrom(piece: number): PickStrategy {
  return { start: (s) => Math.max(s.firstFree, Math.min(Math.max(0, Math.floor(piece)), s.count)) };
}

/** Per worker: the piece it is receiving, and when data last came (ms, same clock as `now`). */
export interface Holder {
  at: number;
  lastData: number;
}

interface ClaimOptions {
  /** This source's measured speed, bytes/s (0 = not known yet). */
  speed: number;
  /** Sources sharing what is left (the running workers). */
  workers: number;
  strategy?: PickStrategy;
}

/** Run sizes: about two seconds of a source's speed, within these bounds. */
const RUN_BYTES = 16 << 20;
export const FIRST_RUN_BYTES = 4 << 20;
/** Requests kept outstanding per source, so the next range follows the current one without a round trip. */
export const PIPELINE = 2;
/** A source that sent nothing for this long has its pieces fetched by others as well (endgame). */
export const STALL_MS = 2000;

/** A new state for `count` pieces. */
export function newPieceState(count: number, pieceSize: number, have: PieceState['have']): PieceState {
  return {
    count,
    pieceSize,
    have,
    owner: new Uint32Array(count),
    dup: new Uint8Array(count),
    verified: new Uint8Array(count),
    firstFree: 0,
  };
}

/** Nobody holds it, and no copy of it is done or verified. */
export function isFree(s: PieceState, i: number): boolean {
  return s.owner[i] === 0 && !s.verified[i] && !s.have.has(i);
}

/** Neither done nor verified: still to be fetched by someone. */
function isMissing(s: PieceState, i: number): boolean {
  return !s.verified[i] && !s.have.has(i);
}

/** How many pieces are free (advances the `firstFree` hint). */
export function freeCount(s: PieceState): number {
  while (s.firstFree < s.count && !isFree(s, s.firstFree)) s.firstFree++;
  let n = 0;
  for (let i = s.firstFree; i < s.count; i++) if (isFree(s, i)) n++;
  return n;
}

/** The first free piece at or after the strategy's start, wrapping to the beginning; -1 if none. */
function firstFreeFrom(s: PieceState, start: number): number {
  for (let i = start; i < s.count; i++) if (isFree(s, i)) return i;
  for (let i = s.firstFree; i < Math.min(start, s.count); i++) if (isFree(s, i)) return i;
  return -1;
}

/** How many pieces a run may span: about two seconds of this source, leaving a share for the others. */
function runLength(s: PieceState, left: number, o: ClaimOptions): number {
  const want = o.speed > 0 ? Math.min(RUN_BYTES, o.speed * 2) : FIRST_RUN_BYTES;
  // Each source keeps PIPELINE runs outstanding: share what is left across all of them.
  const share = Math.ceil(left / Math.max(1, o.workers * PIPELINE));
  return Math.max(1, Math.min(Math.floor(want / s.pieceSize), share));
}

/** Claim a run of contiguous free pieces for worker `me`; undefined when nothing is free. */
export function claimRun(s: PieceState, me: number, o: ClaimOptions): Run | undefined {
  const left = freeCount(s);
  if (left === 0) return undefined;
  const strategy = o.strategy ?? inOrder;
  const a = firstFreeFrom(s, strategy.start(s));
  if (a < 0) return undefined;
  const max = Math.max(1, Math.min(runLength(s, left, o), strategy.maxRun?.(s, a) ?? Infinity));
  let b = a;
  while (b < s.count && b - a < max && isFree(s, b)) s.owner[b++] = me;
  return { a, b, endgame: false };
}

/**
 * Endgame: a piece another worker holds, taken from the end of its queue,
 * when that worker still has at least two pieces to go before it (so this
 * copy likely wins) or has sent nothing for STALL_MS. Never one already
 * doubled up. `holders` maps worker ids to their progress.
 */
export function claimEndgame(s: PieceState, me: number, holders: ReadonlyMap<number, Holder>, now: number): Run | undefined {
  for (let i = s.count - 1; i >= 0; i--) {
    const o = s.owner[i]!;
    if (!isMissing(s, i) || s.dup[i] || o === me || o === 0) continue;
    const holder = holders.get(o);
    const live = holder !== undefined && now - holder.lastData < STALL_MS;
    if (live && piecesAhead(s, o, holder.at, i) < 2) continue;
    s.dup[i] = 1;
    return { a: i, b: i + 1, endgame: true };
  }
  return undefined;
}

/** Missing pieces worker `o` holds in [from, to), counted up to 2. */
function piecesAhead(s: PieceState, o: number, from: number, to: number): number {
  let ahead = 0;
  for (let j = from; j < to && ahead < 2; j++) if (s.owner[j] === o && isMissing(s, j)) ahead++;
  return ahead;
}

/** Worker `me` is done with a run (received, or gave up): its claims go back to the pool. */
export function releaseRun(s: PieceState, me: number, run: Run): void {
  for (let i = run.a; i < run.b; i++) {
    if (s.owner[i] === me) s.owner[i] = 0;
    if (run.endgame) s.dup[i] = 0;
  }
  if (run.a < s.firstFree) s.firstFree = run.a;
}

/**
 * How a piece that arrives is handled: straight into the file if this worker
 * holds it (or it is free, outside the endgame), buffered if another worker
 * may be writing it (endgame), read and dropped if it is already done.
 * Claims the piece when it is free.
 */
export function receiveMode(s: PieceState, me: number, i: number, endgame: boolean): 'direct' | 'buffer' | 'drop' {
  if (!isMissing(s, i)) return 'drop';
  if (s.owner[i] === 0 && !endgame) s.owner[i] = me;
  return s.owner[i] === me ? 'direct' : 'buffer';
}

/** Bytes [offset, offset + length) of a run in a file of `size` bytes. */
export function runRange(run: Run, pieceSize: number, size: number): { offset: number; length: number } {
  const offset = run.a * pieceSize;
  return { offset, length: Math.min(run.b * pieceSize, size) - offset };
}
