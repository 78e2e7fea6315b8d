import { isFree, type PickStrategy, type PieceState } from './piece-picker.js';

/** Pieces at the play position fetched before anything else, each as its own run. */
export const CRITICAL_PIECES = 4;
/**
 * Beyond the critical window, runs stay this short: a seek waits for at most
 * the run being received (and one requested in its last STREAM_LEAD_MS)
 * before its own pieces go out.
 */
export const STREAM_RUN_PIECES = 1;
/**
 * A source asks for its next run when the current one has about this long
 * left to arrive, instead of keeping PIPELINE runs queued: the wire stays
 * fed, and after a seek the play position's piece is next on it.
 */
export const STREAM_LEAD_MS = 200;

interface StreamPriorityOptions {
  /** Pieces at the play position fetched before anything else (CRITICAL_PIECES). */
  window?: number;
  /**
   * An MP4-family file: its `moov` may sit at the end, and the first piece
   * only tells once it is here, so the last piece goes out with the first
   * (see `indexAtStart` for when the first piece says otherwise).
   */
  tailFirst?: boolean;
}

/** A half-open piece interval `[a, b)`. */
interface PieceSpan {
  a: number;
  b: number;
}

/**
 * Sequential-from-position picking, for a download someone is watching:
 * 1. the piece at the play position;
 * 2. urgent spans: an MP4 whose `moov` index sits at the end cannot show a
 *    frame before that tail is here, so it goes before the rest of the window;
 *    an MP4-family file (`tailFirst`) has its last piece here from the start,
 *    so a trailing `moov` is on the wire with the first piece, not a round
 *    trip and two pieces after it;
 * 3. the rest of the critical window, the few pieces after the play position;
 *    every piece so far is a run of its own, so several sources share them and
 *    each lands as soon as possible;
 * 4. the rest forward from the window, in short runs, then from the start.
 * `seek` moves the window; the swarm reads the strategy at every claim, and
 * a source requests its next run only near the end of its current one
 * (`leadMs`), so the next run any source requests follows the new position
 * with little of the old one still queued ahead of it.
 */
export class StreamPriority implements PickStrategy {
  private position = 0;
  private readonly urgent: PieceSpan[] = [];
  private tailFirst: boolean;
  readonly window: number;

  constructor(o: StreamPriorityOptions = {}) {
    this.window = o.window ?? CRITICAL_PIECES;
    this.tailFirst = o.tailFirst ?? false;
  }

  /** The piece the player reads now. */
  get playPiece(): number {
    return this.position;
  }

  /** The player reads at piece `piece` (a start, a seek, or reading on). */
  seek(piece: number): void {
    this.position = Math.max(0, Math.floor(piece) || 0);
  }

  /** Fetch pieces `[a, b)` right after the piece at the play position (kept until they are all done). */
  addUrgent(a: number, b: number): void {
    if (b > a) this.urgent.push({ a: Math.max(0, Math.floor(a)), b: Math.ceil(b) });
  }

  /** The first piece showed `moov` at the start (faststart): the tail is not needed early after all. */
  indexAtStart(): void {
    this.tailFirst = false;
  }

  start(s: PieceState): number {
    const p = Math.min(this.position, s.count);
    const windowEnd = Math.min(p + this.window, s.count);
    if (p < windowEnd && isFree(s, p)) return p;
    for (const u of this.urgent) for (let i = u.a; i < Math.min(u.b, s.count); i++) if (isFree(s, i)) return i;
    if (this.tailFirst && s.count > 0 && isFree(s, s.count - 1)) return s.count - 1;
    for (let i = p + 1; i < windowEnd; i++) if (isFree(s, i)) return i;
    return windowEnd;
  }

  maxRun(): number {
    // The window, urgent spans and the rest alike: one piece per run (see STREAM_RUN_PIECES).
    return STREAM_RUN_PIECES;
  }

  leadMs(): number {
    return STREAM_LEAD_MS;
  }
}

/**
 * A strategy that follows whatever `current()` returns at each claim (file
 * order when nothing streams), so Play can raise a download that is already
 * running, and closing the player puts it back.
 */
export function followStrategy(current: () => PickStrategy | undefined, fallback: PickStrategy): PickStrategy {
  return {
    start: (s) => (current() ?? fallback).start(s),
    maxRun: (s, a) => (current() ?? fallback).maxRun?.(s, a) ?? Infinity,
    leadMs: () => (current() ?? fallback).leadMs?.(),
  };
}
