import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMp4Family, moovAfterMdat, moovPlacement } from '../electron/peer/stream/mp4-layout.js';
import { claimRun, inOrder, newPieceState, releaseRun } from '../electron/peer/transfers/piece-picker.js';
import { Bitfield } from '../electron/peer/transfers/pieces.js';
import {
  CRITICAL_PIECES,
  followStrategy,
  STREAM_LEAD_MS,
  STREAM_RUN_PIECES,
  StreamPriority,
} from '../electron/peer/transfers/stream-priority.js';
import { FFMPEG_MISSING, makeMp4, moovPosition } from './helpers/media-gen.js';

const MiB = 1 << 20;
const state = (count: number, done: number[] = []) => {
  const have = new Bitfield(count);
  for (const i of done) have.set(i);
  return newPieceState(count, MiB, have);
};
/** Claim runs for worker `me` until `n` were claimed; their [a, b) pairs. */
const claims = (s: ReturnType<typeof state>, strategy: StreamPriority, n: number, me = 1, workers = 1) =>
  Array.from({ length: n }, () => {
    const r = claimRun(s, me, { speed: 8 * MiB, workers, strategy });
    return r ? [r.a, r.b] : undefined;
  });

describe('streaming priority: sequential from the play position', () => {
  it('claims the critical window piece by piece, then the rest forward one piece per run, then wraps to the start', () => {
    const s = state(20);
    const p = new StreamPriority();
    p.seek(10);
    expect(claims(s, p, CRITICAL_PIECES)).toEqual([
      [10, 11],
      [11, 12],
      [12, 13],
      [13, 14],
    ]);
    expect(STREAM_RUN_PIECES).toBe(1);
    expect(claims(s, p, 7)).toEqual([
      [14, 15],
      [15, 16],
      [16, 17],
      [17, 18],
      [18, 19],
      [19, 20],
      [0, 1],
    ]);
  });

  it('skips pieces in the window that are done or held by another source', () => {
    const s = state(20, [10]);
    s.owner[11] = 7;
    const p = new StreamPriority();
    p.seek(10);
    expect(claims(s, p, 2)).toEqual([
      [12, 13],
      [13, 14],
    ]);
  });

  it('shares the window between sources: each gets the next critical piece', () => {
    const s = state(20);
    const p = new StreamPriority();
    p.seek(4);
    expect(claimRun(s, 1, { speed: 8 * MiB, workers: 2, strategy: p })).toEqual({ a: 4, b: 5, endgame: false });
    expect(claimRun(s, 2, { speed: 8 * MiB, workers: 2, strategy: p })).toEqual({ a: 5, b: 6, endgame: false });
    expect(s.owner[4]).toBe(1);
    expect(s.owner[5]).toBe(2);
  });

  it('a seek moves the window: the next claim follows the new position', () => {
    const s = state(40);
    const p = new StreamPriority();
    expect(claims(s, p, 2)).toEqual([
      [0, 1],
      [1, 2],
    ]);
    p.seek(30);
    expect(claims(s, p, 1)).toEqual([[30, 31]]);
    // Seeking back to where pieces are held or done: the first free piece there.
    p.seek(0);
    expect(claims(s, p, 1)).toEqual([[2, 3]]);
  });

  it('a released critical piece is claimed again first', () => {
    const s = state(20);
    const p = new StreamPriority();
    p.seek(3);
    const r = claimRun(s, 1, { speed: MiB, workers: 1, strategy: p })!;
    claims(s, p, 3);
    releaseRun(s, 1, r); // its source went away
    expect(claimRun(s, 2, { speed: MiB, workers: 1, strategy: p })).toEqual({ a: 3, b: 4, endgame: false });
  });

  it('fetches urgent spans (an MP4 tail with moov) right after the piece at the play position, then the window', () => {
    const s = state(20);
    const p = new StreamPriority();
    p.addUrgent(18, 20);
    expect(claims(s, p, CRITICAL_PIECES + 3)).toEqual([
      [0, 1],
      [18, 19],
      [19, 20],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ]);
  });

  it('an MP4-family file has its last piece fetched right after the first, before its index is known', () => {
    const s = state(20);
    const p = new StreamPriority({ tailFirst: true });
    expect(claims(s, p, 3)).toEqual([
      [0, 1],
      [19, 20],
      [1, 2],
    ]);
  });

  it('after a seek, the piece at the new position still goes before the guessed tail', () => {
    const s = state(20);
    const p = new StreamPriority({ tailFirst: true });
    p.seek(8);
    expect(claims(s, p, 2)).toEqual([
      [8, 9],
      [19, 20],
    ]);
  });

  it('drops the guessed tail once the first piece shows moov at the start (faststart)', () => {
    const s = state(20);
    const p = new StreamPriority({ tailFirst: true });
    expect(claims(s, p, 1)).toEqual([[0, 1]]);
    p.indexAtStart();
    expect(claims(s, p, 2)).toEqual([
      [1, 2],
      [2, 3],
    ]);
  });

  it('a moov found later than the guess adds its span: all of it goes before the window', () => {
    const s = state(20);
    const p = new StreamPriority({ tailFirst: true });
    expect(claims(s, p, 2)).toEqual([
      [0, 1],
      [19, 20],
    ]);
    p.addUrgent(17, 20); // piece 0 showed moov starting in piece 17
    expect(claims(s, p, 3)).toEqual([
      [17, 18],
      [18, 19],
      [1, 2],
    ]);
  });

  it('asks sources to request their next run only near the end of the current one; file order keeps its pipeline', () => {
    let current: StreamPriority | undefined = new StreamPriority();
    const follow = followStrategy(() => current, inOrder);
    expect(follow.leadMs?.()).toBe(STREAM_LEAD_MS);
    current = undefined; // the player closed
    expect(follow.leadMs?.()).toBeUndefined();
    expect(inOrder.leadMs).toBeUndefined();
  });

  it('clamps a position past the end and handles a file smaller than the window', () => {
    const s = state(3);
    const p = new StreamPriority();
    p.seek(99);
    expect(claims(s, p, 4)).toEqual([[0, 1], [1, 2], [2, 3], undefined]);
    p.seek(-5);
    expect(p.playPiece).toBe(0);
  });
});

describe.skipIf(FFMPEG_MISSING)('where the moov index is, from the first piece', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-mp4-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds moov after mdat in a file without faststart, and nothing to do with faststart', async () => {
    const tail = await makeMp4(path.join(dir, 'tail.mp4'), { moov: 'end' });
    const fast = await makeMp4(path.join(dir, 'fast.mp4'));
    const t = fs.readFileSync(tail.path);
    expect(moovAfterMdat(t.subarray(0, 64 * 1024), t.length)).toBe(moovPosition(t).moov);
    const f = fs.readFileSync(fast.path);
    expect(moovAfterMdat(f.subarray(0, 64 * 1024), f.length)).toBeUndefined();
    expect(moovPlacement(f.subarray(0, 64 * 1024), f.length)).toBe('start');
    expect(moovPlacement(t.subarray(0, 64 * 1024), t.length)).toEqual({ at: moovPosition(t).moov });
  });

  it('knows the MP4 family by name', () => {
    for (const n of ['a.mp4', 'b.M4V', 'c.mov', 'd.m4a', 'e.3gp']) expect(isMp4Family(n)).toBe(true);
    for (const n of ['a.mkv', 'b.mp3', 'c.webm', 'mp4']) expect(isMp4Family(n)).toBe(false);
  });

  it('says nothing for a non-MP4 head or a head too short to tell', () => {
    expect(moovAfterMdat(Buffer.from('ID3\u0004\u0000\u0000\u0000\u0000\u0000\u0000'), 1000)).toBeUndefined();
    expect(moovAfterMdat(Buffer.alloc(4), 1000)).toBeUndefined();
    const head = Buffer.alloc(40);
    head.writeUInt32BE(24, 0);
    head.write('ftyp', 4, 'latin1');
    head.writeUInt32BE(1, 24); // a 64-bit size that does not fit in the head
    head.write('mdat', 28, 'latin1');
    expect(moovAfterMdat(head.subarray(0, 36), 1000)).toBeUndefined();
    expect(moovPlacement(head.subarray(0, 36), 1000)).toBeUndefined();
  });
});
