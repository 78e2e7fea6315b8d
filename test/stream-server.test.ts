import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStreamSource, StreamFileError } from '../electron/peer/stream/file-stream-source.js';
import { serveStream } from '../electron/peer/stream/http-stream.js';
import { PieceStreamSource } from '../electron/peer/stream/piece-stream-source.js';
import { readFully, type StreamSource } from '../electron/peer/stream/stream-source.js';
import { httpBytes } from './helpers/http-request.js';
import { waitFor } from './helpers/harness.js';

const PIECE = 64 * 1024;
let dir: string;
let server: http.Server;
let port: number;
let source: StreamSource;
let closers: (() => Promise<void>)[];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-stream-'));
  closers = [];
  server = http.createServer((req, res) => void serveStream(req, res, source));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  for (const close of closers) await close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Three pieces, each filled with its own byte value (1, 2, 3), the last one short. */
async function pieceFile(): Promise<{ file: string; bytes: Buffer }> {
  const bytes = Buffer.concat([Buffer.alloc(PIECE, 1), Buffer.alloc(PIECE, 2), Buffer.alloc(1000, 3)]);
  const file = path.join(dir, 'movie.mp4.part');
  await fs.promises.writeFile(file, bytes);
  return { file, bytes };
}

async function pieceSource(verified: number[]): Promise<{ src: PieceStreamSource; bytes: Buffer }> {
  const { file, bytes } = await pieceFile();
  const fh = await fs.promises.open(file, 'r');
  closers.push(() => fh.close());
  const src = new PieceStreamSource({
    size: bytes.length,
    pieceSize: PIECE,
    mime: 'video/mp4',
    verified,
    readAt: (s, e) => readFully(fh, s, e),
  });
  return { src, bytes };
}

const request = (headers: Record<string, string> = {}, method = 'GET') => httpBytes(`http://127.0.0.1:${port}/`, { headers, method });

/** A request that stays open: what arrived so far, and a way to go away. */
function openRequest(headers: Record<string, string> = {}) {
  const got: Buffer[] = [];
  let status = 0;
  const req = http.request({ host: '127.0.0.1', port, path: '/', headers }, (res) => {
    status = res.statusCode!;
    res.on('data', (c: Buffer) => got.push(c));
    res.on('error', () => {});
  });
  req.on('error', () => {});
  const ended = new Promise<void>((r) => req.on('close', r));
  req.end();
  return { received: () => Buffer.concat(got), status: () => status, abort: () => req.destroy(), ended };
}

describe('Range answers from a complete file', () => {
  beforeEach(async () => {
    const { file } = await pieceFile();
    const f = await FileStreamSource.open(file, { root: dir, mime: 'video/mp4' });
    closers.push(() => f.close());
    source = f;
  });

  it('answers 200 with the whole file and advertises ranges', async () => {
    const r = await request();
    expect(r.status).toBe(200);
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers['content-length']).toBe(String(source.size));
    expect(r.headers['content-type']).toBe('video/mp4');
    expect(r.headers['content-range']).toBeUndefined();
    expect(r.body.equals(await fs.promises.readFile(path.join(dir, 'movie.mp4.part')))).toBe(true);
  });

  it('answers 206 with Content-Range for a range, an open range and a suffix range', async () => {
    const all = await fs.promises.readFile(path.join(dir, 'movie.mp4.part'));
    const cases: [string, number, number][] = [
      ['bytes=10-19', 10, 20],
      [`bytes=${PIECE - 5}-${PIECE + 4}`, PIECE - 5, PIECE + 5],
      [`bytes=${2 * PIECE}-`, 2 * PIECE, all.length],
      ['bytes=-1500', all.length - 1500, all.length],
    ];
    for (const [range, start, end] of cases) {
      const r = await request({ Range: range });
      expect(r.status, range).toBe(206);
      expect(r.headers['content-range']).toBe(`bytes ${start}-${end - 1}/${all.length}`);
      expect(r.headers['content-length']).toBe(String(end - start));
      expect(r.body.equals(all.subarray(start, end)), range).toBe(true);
    }
  });

  it('answers 416 with the size for a range past the end', async () => {
    const r = await request({ Range: `bytes=${source.size}-` });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe(`bytes */${source.size}`);
    expect(r.body.length).toBe(0);
  });

  it('answers HEAD with the same headers and no body', async () => {
    const whole = await request({}, 'HEAD');
    expect(whole.status).toBe(200);
    expect(whole.headers['content-length']).toBe(String(source.size));
    expect(whole.body.length).toBe(0);
    const part = await request({ Range: 'bytes=-10' }, 'HEAD');
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes ${source.size - 10}-${source.size - 1}/${source.size}`);
    expect(part.body.length).toBe(0);
  });

  it('refuses other methods with 405', async () => {
    const r = await request({}, 'POST');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
  });
});

describe('FileStreamSource opens only a regular file inside its folder', () => {
  it('refuses a symlink, even one pointing inside the folder', async () => {
    const { file } = await pieceFile();
    fs.symlinkSync(file, path.join(dir, 'link.mp4'));
    await expect(FileStreamSource.open(path.join(dir, 'link.mp4'), { root: dir })).rejects.toThrow(/symbolic link/);
  });

  it('refuses a file reached through a symlinked folder that leads outside', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-outside-'));
    closers.push(async () => fs.rmSync(outside, { recursive: true, force: true }));
    fs.writeFileSync(path.join(outside, 'secret.mp4'), 'secret');
    fs.symlinkSync(outside, path.join(dir, 'sub'));
    await expect(FileStreamSource.open(path.join(dir, 'sub', 'secret.mp4'), { root: dir })).rejects.toBeInstanceOf(StreamFileError);
  });

  it('refuses a folder', async () => {
    fs.mkdirSync(path.join(dir, 'a.mp4'));
    await expect(FileStreamSource.open(path.join(dir, 'a.mp4'), { root: dir })).rejects.toThrow(/not a regular file/);
  });
});

describe('Streaming a download: only verified pieces, waiting for the rest', () => {
  it('waits for a missing range, then sends it once its piece is verified', async () => {
    const { src, bytes } = await pieceSource([0]);
    source = src;
    const pending = request({ Range: `bytes=${PIECE + 100}-${PIECE + 199}` });
    await waitFor('the request to wait', () => src.waiting === 1);
    src.markVerified(1);
    const r = await pending;
    expect(r.status).toBe(206);
    expect(r.body.equals(bytes.subarray(PIECE + 100, PIECE + 200))).toBe(true);
    expect(src.waiting).toBe(0);
  });

  it('sends the verified prefix at once and the rest as pieces are verified, in order', async () => {
    const { src, bytes } = await pieceSource([0]);
    source = src;
    const open = openRequest();
    await waitFor('piece 0 to arrive', () => open.received().length === PIECE);
    expect(open.status()).toBe(200);
    await waitFor('the request to wait for piece 1', () => src.waiting === 1);
    src.markVerified(2); // out of order: nothing more may be sent before piece 1
    await waitFor('piece 2 to be noted', () => src.verifiedRanges().length === 2);
    expect(open.received().length).toBe(PIECE);
    src.markVerified(1);
    await open.ended;
    expect(open.received().equals(bytes)).toBe(true);
  });

  it('stops waiting when the client goes away mid-wait (nothing left behind)', async () => {
    const { src } = await pieceSource([]);
    source = src;
    let closed = 0;
    server.on('request', (_req, res) => res.on('close', () => closed++));
    const open = openRequest({ Range: 'bytes=0-' });
    await waitFor('the request to wait', () => src.waiting === 1);
    open.abort();
    await waitFor('the wait to be dropped', () => src.waiting === 0);
    await waitFor('the server side to close', () => closed === 1);
    expect(open.received().length).toBe(0);
  });

  it('never serves a piece that was not verified, even though its bytes are on disk', async () => {
    const { src, bytes } = await pieceSource([0, 2]);
    source = src;
    const open = openRequest();
    await waitFor('the request to wait at piece 1', () => src.waiting === 1 && open.received().length === PIECE);
    open.abort();
    await open.ended;
    const got = open.received();
    expect(got.equals(bytes.subarray(0, PIECE))).toBe(true);
    expect(got.includes(2)).toBe(false);
    await expect(src.read(PIECE, PIECE + 1)).rejects.toThrow(/not verified/);
    // Piece 2 alone is verified, so a range inside it is served.
    const tail = await request({ Range: `bytes=${2 * PIECE}-` });
    expect(tail.body.equals(bytes.subarray(2 * PIECE))).toBe(true);
  });

  it('cuts the connection when the download fails while a reader waits', async () => {
    const { src } = await pieceSource([0]);
    source = src;
    const open = openRequest({ Range: `bytes=${PIECE}-` });
    await waitFor('the request to wait', () => src.waiting === 1);
    src.fail(new Error('download cancelled'));
    await open.ended;
    expect(open.status()).toBe(206);
    expect(open.received().length).toBe(0);
    expect(src.waiting).toBe(0);
    await expect(src.waitForVerified(PIECE, PIECE + 1, new AbortController().signal)).rejects.toThrow(/cancelled/);
  });
});
