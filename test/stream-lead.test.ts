import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../electron/peer/logger.js';
import { encodeFrame, FrameDecoder } from '../electron/peer/v2/frame.js';
import { inOrder, type PickStrategy } from '../electron/peer/transfers/piece-picker.js';
import { Bitfield } from '../electron/peer/transfers/pieces.js';
import { SocketReader } from '../electron/peer/transfers/socket-reader.js';
import type { SourceConn } from '../electron/peer/transfers/source-conn.js';
import { StreamPriority } from '../electron/peer/transfers/stream-priority.js';
import { Swarm } from '../electron/peer/transfers/swarm.js';
import { waitFor } from './helpers/harness.js';

/**
 * How a swarm worker pipelines its requests, seen from a source played by
 * hand on a real loopback socket: file order keeps a second run requested at
 * all times; streaming asks for the next run only near the end of the current
 * one, so a seek finds little of the old position queued ahead of the new one.
 */

const PIECE = 128 * 1024;
const COUNT = 8;
/**
 * The hand-played source sends this many bytes per 10 ms tick (under 400 KB/s):
 * slow enough that the streaming lead (200 ms of speed) is well under a piece.
 */
const TICK_BYTES = 4 * 1024;

interface Get {
  offset: number;
  length: number;
  /** Bytes the source still owed on earlier GETs when this one arrived (0 when idle). */
  ahead: number;
}

let dir: string;
let closers: (() => void)[];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-lead-'));
  closers = [];
});
afterEach(() => {
  for (const c of closers) c();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A source that answers GETs in order, paced, and records when each GET
 * arrived; `onSent(offset, sent)` after each tick of the GET at `offset`.
 */
async function handSource(
  data: Buffer,
  sha256: string,
  onSent?: (offset: number, sent: number) => void,
): Promise<{ port: number; gets: Get[] }> {
  const gets: Get[] = [];
  const socks = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    const decoder = new FrameDecoder();
    const queue: Get[] = [];
    let left = 0;
    let busy = false;
    const pump = async () => {
      if (busy) return;
      busy = true;
      while (queue.length && !sock.destroyed) {
        const g = queue.shift()!;
        sock.write(encodeFrame({ t: 'get-ok', name: 'movie.mp4', size: data.length, sha256, offset: g.offset, length: g.length }));
        left = g.length;
        for (let at = g.offset; left > 0 && !sock.destroyed;) {
          const n = Math.min(TICK_BYTES, left);
          sock.write(data.subarray(at, at + n));
          at += n;
          left -= n;
          onSent?.(g.offset, g.length - left);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      busy = false;
    };
    sock.on('data', (c: Buffer) => {
      for (const m of decoder.push(c))
        if (m.t === 'get') {
          const g = { offset: m.offset, length: m.length ?? 0, ahead: left + queue.reduce((n, q) => n + q.length, 0) };
          gets.push(g);
          queue.push(g);
        }
      void pump();
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => {
    server.close();
    for (const c of socks) c.destroy();
  });
  return { port: (server.address() as net.AddressInfo).port, gets };
}

async function swarmOver(strategy: PickStrategy, onSent?: (offset: number, sent: number) => void) {
  const data = crypto.randomBytes(PIECE * COUNT);
  const sha256 = crypto.createHash('sha256').update(data).digest('hex');
  const hashes = Array.from({ length: COUNT }, (_, i) =>
    crypto
      .createHash('sha256')
      .update(data.subarray(i * PIECE, (i + 1) * PIECE))
      .digest('hex'),
  );
  const { port, gets } = await handSource(data, sha256, onSent);
  const partPath = path.join(dir, 'movie.mp4.part');
  const fh = await fs.promises.open(partPath, 'w+');
  const ac = new AbortController();
  closers.push(() => ac.abort());
  const have = new Bitfield(COUNT);
  const pieces: number[] = [];
  const source = { host: '127.0.0.1', port };
  const swarm = new Swarm({
    sha256,
    size: data.length,
    pieceSize: PIECE,
    hashes,
    have,
    fh,
    sources: () => [source],
    open: async () => {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
      return { source, socket, decoder: new FrameDecoder(), reader: new SocketReader(socket) } satisfies SourceConn;
    },
    throttle: () => 0,
    onBytes: () => {},
    content: { fold: () => undefined, catchUp: () => {} },
    onPiece: (i) => pieces.push(i),
    onBadSource: () => {},
    onQueued: () => {},
    log: silentLogger,
    name: 'movie.mp4',
    signal: ac.signal,
    strategy,
  });
  const done = swarm.run().finally(() => fh.close());
  return { swarm, gets, done, data, partPath, pieces };
}

describe('request pipelining, file order against streaming', () => {
  it('file order keeps the next run requested while the current one has barely started', async () => {
    const { gets, done } = await swarmOver(inOrder);
    await done;
    expect(gets.length).toBeGreaterThanOrEqual(2);
    // The second GET goes out with the first, before the source has sent any of it.
    expect(gets[1]!.ahead).toBe(gets[0]!.length);
  }, 30_000);

  it('streaming asks for the next piece only near the end of the current one, and the file still completes intact', async () => {
    const { gets, done, data, partPath } = await swarmOver(new StreamPriority());
    await done;
    expect(fs.readFileSync(partPath).equals(data)).toBe(true);
    expect(gets.map((g) => g.length)).toEqual(Array.from({ length: COUNT }, () => PIECE));
    // Each GET after the first arrived while the source owed at most a lead's worth of the one
    // before (64 KiB at first, then ~200 ms of its speed: under 80 KB here), never a whole piece.
    for (const g of gets.slice(1)) expect(g.ahead).toBeLessThanOrEqual(PIECE * 0.75);
  }, 30_000);

  it('after a seek, the piece at the new position follows the one in progress: no older run is queued ahead of it', async () => {
    const priority = new StreamPriority();
    const ref: { swarm?: Swarm } = {};
    // A quarter into piece 1 (piece 0 long received), the player seeks to piece 6.
    const run = await swarmOver(priority, (offset, sent) => {
      if (offset !== PIECE || sent !== PIECE / 4) return;
      priority.seek(6);
      ref.swarm?.changed();
    });
    ref.swarm = run.swarm;
    await run.done;
    await waitFor('all pieces', () => run.pieces.length === COUNT);
    expect(run.pieces.slice(0, 3)).toEqual([0, 1, 6]);
  }, 30_000);
});
