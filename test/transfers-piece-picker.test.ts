import { describe, expect, it } from 'vitest';
import {
  claimEndgame,
  claimRun,
  FIRST_RUN_BYTES,
  freeCount,
  inOrder,
  newPieceState,
  receiveMode,
  releaseRun,
  runRange,
  sequentialFrom,
  STALL_MS,
  type Holder,
} from '../electron/peer/transfers/piece-picker.js';
import { Bitfield } from '../electron/peer/transfers/pieces.js';

const MiB = 1 << 20;
const state = (count: number, done: number[] = [], pieceSize = MiB) => {
  const have = new Bitfield(count);
  for (const i of done) have.set(i);
  return { s: newPieceState(count, pieceSize, have), have };
};

describe('piece picker: free pieces', () => {
  it('claims the lowest free run, skipping done, verified and held pieces', () => {
    const { s } = state(10, [0, 1]);
    s.verified[2] = 1;
    s.owner[3] = 9;
    expect(freeCount(s)).toBe(6);
    // Half of the 6 free pieces: a source keeps two runs in flight.
    expect(claimRun(s, 1, { speed: 0, workers: 1 })).toEqual({ a: 4, b: 7, endgame: false });
    expect(claimRun(s, 1, { speed: 0, workers: 1 })).toEqual({ a: 7, b: 9, endgame: false });
    expect(claimRun(s, 1, { speed: 0, workers: 1 })).toEqual({ a: 9, b: 10, endgame: false });
    for (let i = 4; i < 10; i++) expect(s.owner[i]).toBe(1);
    expect(claimRun(s, 2, { speed: 0, workers: 1 })).toBeUndefined();
  });

  it('sizes a run to about two seconds of the source, and to its share of what is left', () => {
    const { s } = state(100);
    // Unknown speed: the first run is FIRST_RUN_BYTES.
    expect(claimRun(s, 1, { speed: 0, workers: 1 })).toEqual({ a: 0, b: FIRST_RUN_BYTES / MiB, endgame: false });
    // 3 MiB/s: 6 pieces.
    const r2 = claimRun(s, 1, { speed: 3 * MiB, workers: 1 })!;
    expect(r2.b - r2.a).toBe(6);
    // Ten workers with two runs each share the 90 left: at most 5 each.
    const r3 = claimRun(s, 2, { speed: 100 * MiB, workers: 10 })!;
    expect(r3.b - r3.a).toBe(5);
    // Never less than one piece.
    const tiny = state(4, [], 64 * MiB).s;
    expect(claimRun(tiny, 1, { speed: 1, workers: 1 })).toEqual({ a: 0, b: 1, endgame: false });
  });

  it('a run stops at the first piece that is not free', () => {
    const { s } = state(10, [3]);
    expect(claimRun(s, 1, { speed: 0, workers: 1 })).toEqual({ a: 0, b: 3, endgame: false });
    expect(claimRun(s, 2, { speed: 0, workers: 1 })).toEqual({ a: 4, b: 7, endgame: false }); // half of the 6 left (two runs in flight)
  });

  it('release gives held pieces back and moves the free hint back', () => {
    const { s } = state(8);
    const run = claimRun(s, 1, { speed: 0, workers: 1 })!;
    expect(freeCount(s)).toBe(4);
    s.verified[0] = 1; // one of them was accepted meanwhile: stays out of the pool
    releaseRun(s, 1, run);
    expect(freeCount(s)).toBe(7);
    expect(claimRun(s, 2, { speed: 0, workers: 1 })!.a).toBe(1);
  });

  it('release never takes a piece back from another holder', () => {
    const { s } = state(4);
    s.owner[1] = 7;
    releaseRun(s, 1, { a: 0, b: 4, endgame: false });
    expect(s.owner[1]).toBe(7);
  });
});

describe('piece picker: strategies', () => {
  it('in order starts at the lowest free piece', () => {
    const { s } = state(10, [0]);
    expect(inOrder.start(s)).toBe(0);
    expect(claimRun(s, 1, { speed: 0, workers: 1, strategy: inOrder })!.a).toBe(1);
  });

  it('sequential from a position claims from there first, then wraps to the start', () => {
    const { s } = state(20, [], MiB);
    const strategy = sequentialFrom(15);
    expect(claimRun(s, 1, { speed: 2 * MiB, workers: 1, strategy })).toEqual({ a: 15, b: 19, endgame: false });
    expect(claimRun(s, 1, { speed: 2 * MiB, workers: 1, strategy })).toEqual({ a: 19, b: 20, endgame: false });
    expect(claimRun(s, 1, { speed: 2 * MiB, workers: 1, strategy })).toEqual({ a: 0, b: 4, endgame: false });
  });

  it('sequential from a position past the end or before the start is clamped', () => {
    const { s } = state(5);
    expect(claimRun(s, 1, { speed: MiB, workers: 1, strategy: sequentialFrom(99) })!.a).toBe(0);
    expect(claimRun(s, 1, { speed: MiB, workers: 1, strategy: sequentialFrom(-3) })!.a).toBe(2);
  });
});

describe('piece picker: endgame', () => {
  const now = 100_000;
  const live = (at: number): Holder => ({ at, lastData: now - 10 });

  it('takes a held piece from the end of a live holder queue only when the holder has two pieces before it', () => {
    const { s } = state(6);
    for (let i = 0; i < 6; i++) s.owner[i] = 1;
    const holders = new Map([[1, live(0)]]);
    const run = claimEndgame(s, 2, holders, now)!;
    expect(run).toEqual({ a: 5, b: 6, endgame: true });
    expect(s.dup[5]).toBe(1);
    // Not doubled twice; the next one from the end is taken.
    expect(claimEndgame(s, 3, holders, now)).toEqual({ a: 4, b: 5, endgame: true });
  });

  it('leaves a live holder its next piece (the copy it is about to finish)', () => {
    const { s } = state(3);
    s.owner[1] = 1;
    s.owner[2] = 1;
    const holders = new Map([[1, live(1)]]);
    // Piece 2 has only piece 1 ahead of it: the holder will likely win, no duplicate.
    expect(claimEndgame(s, 2, holders, now)).toBeUndefined();
  });

  it('a stalled holder loses its pieces to the endgame at once', () => {
    const { s } = state(3);
    s.owner[2] = 1;
    const holders = new Map<number, Holder>([[1, { at: 2, lastData: now - STALL_MS - 1 }]]);
    expect(claimEndgame(s, 2, holders, now)).toEqual({ a: 2, b: 3, endgame: true });
  });

  it('never duplicates its own, free, done or verified pieces', () => {
    const { s, have } = state(4);
    s.owner[0] = 2; // mine
    have.set(1);
    s.owner[1] = 1; // done
    s.owner[2] = 1;
    s.verified[2] = 1; // verified
    // 3 is free
    expect(claimEndgame(s, 2, new Map(), now)).toBeUndefined();
  });

  it('releasing an endgame run clears the duplicate mark', () => {
    const { s } = state(2);
    s.owner[1] = 1;
    const run = claimEndgame(s, 2, new Map(), now)!;
    releaseRun(s, 2, run);
    expect(s.dup[1]).toBe(0);
    expect(s.owner[1]).toBe(1);
  });
});

describe('piece picker: receiving', () => {
  it('direct for a held or free piece, buffer for someone else s, drop for a done one', () => {
    const { s, have } = state(4);
    s.owner[0] = 1;
    expect(receiveMode(s, 1, 0, false)).toBe('direct');
    expect(receiveMode(s, 1, 1, false)).toBe('direct');
    expect(s.owner[1]).toBe(1);
    expect(receiveMode(s, 2, 0, true)).toBe('buffer');
    // An endgame copy of a free piece does not take it over.
    expect(receiveMode(s, 2, 2, true)).toBe('buffer');
    expect(s.owner[2]).toBe(0);
    have.set(3);
    expect(receiveMode(s, 1, 3, false)).toBe('drop');
    s.verified[1] = 1;
    expect(receiveMode(s, 1, 1, false)).toBe('drop');
  });

  it('a run covers whole pieces, the last one cut at the end of the file', () => {
    expect(runRange({ a: 1, b: 3, endgame: false }, MiB, 2.5 * MiB)).toEqual({ offset: MiB, length: 1.5 * MiB });
  });
});
