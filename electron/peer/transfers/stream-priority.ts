import { isFree, type PickStrategy, type PieceState } from './piece-picker.js';

/** Pieces at the play position fetched before anything else, each as its own run. */
export const CRITICAL_PIECES = 4;
/**
 * Beyond the critical window, runs stay this short: a seek waits for at most
 * the runs already requested (PIPELINE per source) before its own pieces go out.
 */
export const STREAM_RUN_PIECES = 2;

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
 * 3. the rest of the critical window, the few pieces after the play position;
 *    every piece so far is a run of its own, so several sources share them and
 *    each lands as soon as possible;
 * 4. the rest forward from the window, in short runs, then from the start.
 * `seek` moves the window; the swarm reads the strategy at every claim, so
 * the next run any source requests follows the new position.
 */
export class StreamPriority implements PickStrategy {
  private position = 0;
  private readonly urgent: PieceSpan[] = [];

  constructor(readonly window = CRITICAL_PIECES) {}

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

  start(s: PieceState): number {
    const p = Math.min(this.position, s.count);
    const windowEnd = Math.min(p + this.window, s.count);
    if (p < windowEnd && isFree(s, p)) return p;
    for (const u of this.urgent) for (let i = u.a; i < Math.min(u.b, s.count); i++) if (isFree(s, i)) return i;
    for (let i = p + 1; i < windowEnd; i++) if (isFree(s, i)) return i;
    return windowEnd;
  }

  maxRun(s: PieceState, a: number): number {
    const p = Math.min(this.position, s.count);
    if (a >= p && a < p + this.window) return 1;
    if (this.urgent.some((u) => a >= u.a && a < u.b)) return 1;
    return STREAM_RUN_PIECES;
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
  };
}
