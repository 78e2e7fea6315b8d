import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DownloadStream } from '../electron/peer/stream/download-stream.js';
import { serveStream } from '../electron/peer/stream/http-stream.js';
import { claimRun, newPieceState } from '../electron/peer/transfers/piece-picker.js';
import { Bitfield } from '../electron/peer/transfers/pieces.js';
import { CRITICAL_PIECES, StreamPriority } from '../electron/peer/transfers/stream-priority.js';
import { FFMPEG_MISSING, makeMp4, moovPosition } from './helpers/media-gen.js';
import { waitFor } from './helpers/harness.js';

const PIECE = 64 * 1024;
let dir: string;
let streams: DownloadStream[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-dstream-'));
  streams = [];
});
afterEach(async () => {
  for (const s of streams) await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const hashesOf = (b: Buffer) => Array.from({ length: Math.ceil(b.length / PIECE) }, (_, i) => sha(b.subarray(i * PIECE, (i + 1) * PIECE)));

/** A `.part` holding `truth` with the pieces in `lies` overwritten by junk, and a stream over it. */
async function partStream(
  truth: Buffer,
  storedPieces: number[],
  lies: number[] = [],
  extra: Partial<Parameters<typeof DownloadStream.open>[0]> = {},
) {
  const partPath = path.join(dir, 'movie.mp4.part');
  const part = Buffer.alloc(truth.length);
  for (const i of storedPieces) truth.copy(part, i * PIECE, i * PIECE, Math.min(truth.length, (i + 1) * PIECE));
  for (const i of lies) part.fill(0xee, i * PIECE, Math.min(truth.length, (i + 1) * PIECE));
  fs.writeFileSync(partPath, part);
  const have = new Bitfield(Math.ceil(truth.length / PIECE));
  for (const i of storedPieces) have.set(i);
  const bad: number[] = [];
  const stream = await DownloadStream.open({
    partPath,
    size: truth.length,
    pieceSize: PIECE,
    hashes: hashesOf(truth),
    mime: 'video/mp4',
    stored: have,
    onBadPiece: (i) => bad.push(i),
    ...extra,
  });
  streams.push(stream);
  return { stream, partPath, have, bad };
}

describe('a running download as a stream', () => {
  it('serves a stored piece only after matching its hash; a lying piece never reaches the player, its refetched copy does', async () => {
    const truth = crypto.randomBytes(4 * PIECE + 123);
    const { stream, partPath, bad } = await partStream(truth, [0, 1, 2], [1]);
    await waitFor('the stored pieces to be checked', () => bad.length === 1 && stream.verifiedRanges().length === 2);
    expect(bad).toEqual([1]);
    expect(stream.verifiedRanges()).toEqual([
      { start: 0, end: PIECE },
      { start: 2 * PIECE, end: 3 * PIECE },
    ]);

    const server = http.createServer((req, res) => void serveStream(req, res, stream));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const got: Buffer[] = [];
      const done = new Promise<void>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: (server.address() as { port: number }).port, path: '/' }, (res) => {
            res.on('data', (c: Buffer) => got.push(c));
            res.on('end', resolve);
          })
          .on('error', reject);
      });
      await waitFor('the player to wait at the lying piece', () => stream.waiting === 1 && Buffer.concat(got).length === PIECE);
      expect(Buffer.concat(got).equals(truth.subarray(0, PIECE))).toBe(true);
      // The piece is fetched again (from another source) and the rest arrives.
      const fh = await fs.promises.open(partPath, 'r+');
      await fh.write(truth, PIECE, truth.length - PIECE, PIECE);
      await fh.close();
      for (const i of [1, 3, 4]) stream.stored(i);
      await done;
      expect(Buffer.concat(got).equals(truth)).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('moves the critical window to where the player reads, and says so', async () => {
    const truth = crypto.randomBytes(20 * PIECE);
    const priority = new StreamPriority();
    let moved = 0;
    const { stream } = await partStream(truth, [], [], { priority, onPriorityChange: () => moved++ });
    const ac = new AbortController();
    const wait = stream.waitForVerified(12 * PIECE + 5, 12 * PIECE + 100, ac.signal).catch((e: Error) => e);
    expect(priority.playPiece).toBe(12);
    expect(moved).toBe(1);
    const s = newPieceState(20, PIECE, new Bitfield(20));
    expect(claimRun(s, 1, { speed: PIECE, workers: 1, strategy: priority })).toEqual({ a: 12, b: 13, endgame: false });
    ac.abort();
    expect(await wait).toBeInstanceOf(Error);
    expect(stream.waiting).toBe(0);
  });

  it('lets waiting readers go when the download fails or the stream closes', async () => {
    const truth = crypto.randomBytes(3 * PIECE);
    const { stream } = await partStream(truth, []);
    const w = stream.waitForVerified(0, 10, new AbortController().signal).catch((e: Error) => e.message);
    stream.fail(new Error('download cancelled'));
    expect(await w).toBe('download cancelled');
  });
});

describe.skipIf(FFMPEG_MISSING)('an MP4 with moov at the end, while downloading', () => {
  it('has its tail fetched before the rest of the critical window once the first piece is checked', async () => {
    const media = await makeMp4(path.join(dir, 'src', 'tail.mp4'), { moov: 'end', seconds: 6 });
    const truth = fs.readFileSync(media.path);
    const count = Math.ceil(truth.length / PIECE);
    const moovPiece = Math.floor(moovPosition(truth).moov / PIECE);
    expect(moovPiece).toBeGreaterThan(CRITICAL_PIECES);
    const priority = new StreamPriority();
    const { stream } = await partStream(truth, [0], [], { priority });
    await waitFor('piece 0 to be checked', () => stream.verifiedRanges().length === 1);
    const have = new Bitfield(count);
    have.set(0);
    const s = newPieceState(count, PIECE, have);
    const order: number[] = [];
    for (let k = 0; k < CRITICAL_PIECES - 1 + (count - moovPiece); k++)
      order.push(claimRun(s, 1, { speed: PIECE, workers: 1, strategy: priority })!.a);
    const tailPieces = count - moovPiece;
    expect(order.slice(0, tailPieces)).toEqual(Array.from({ length: tailPieces }, (_, k) => moovPiece + k));
    expect(order.slice(tailPieces)).toEqual([1, 2, 3]);
  });

  it('a faststart MP4 has the tail it was guessed to need dropped from the front once the first piece is checked', async () => {
    const media = await makeMp4(path.join(dir, 'src', 'fast.mp4'), { seconds: 6 });
    const truth = fs.readFileSync(media.path);
    const count = Math.ceil(truth.length / PIECE);
    const priority = new StreamPriority({ tailFirst: true });
    const s = newPieceState(count, PIECE, new Bitfield(count));
    s.owner[0] = 9; // piece 0 is on its way
    expect(claimRun(s, 1, { speed: PIECE, workers: 1, strategy: priority })!.a).toBe(count - 1);
    s.owner[count - 1] = 0;
    const { stream } = await partStream(truth, [0], [], { priority });
    await waitFor('piece 0 to be checked', () => stream.verifiedRanges().length === 1);
    expect(claimRun(s, 1, { speed: PIECE, workers: 1, strategy: priority })!.a).toBe(1);
  });
});
