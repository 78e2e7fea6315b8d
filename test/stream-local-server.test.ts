import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileStreamSource } from '../electron/peer/stream/file-stream-source.js';
import { LocalStreamServer } from '../electron/peer/stream/local-stream-server.js';
import { PieceStreamSource } from '../electron/peer/stream/piece-stream-source.js';
import { streamWebResponse } from '../electron/peer/stream/web-stream.js';
import { FFMPEG_MISSING, makeMp3, makeMp4, moovPosition, type MadeMedia } from './helpers/media-gen.js';
import { httpBytes } from './helpers/http-request.js';
import { waitFor } from './helpers/harness.js';

let dir: string;
let media: { fast: MadeMedia; tail: MadeMedia; mp3: MadeMedia };
let server: LocalStreamServer;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-local-stream-'));
  if (FFMPEG_MISSING) return;
  media = {
    fast: await makeMp4(path.join(dir, 'fast.mp4')),
    tail: await makeMp4(path.join(dir, 'tail.mp4'), { moov: 'end' }),
    mp3: await makeMp3(path.join(dir, 'tone.mp3')),
  };
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(async () => server?.close());

const get = (url: string, headers: Record<string, string> = {}, method = 'GET') => httpBytes(url, { headers, method });

describe.skipIf(FFMPEG_MISSING)('the local stream server for external players', () => {
  it('serves real MP4 and MP3 files with ranges, as mpv or VLC would ask', async () => {
    server = await LocalStreamServer.start();
    for (const m of [media.fast, media.tail, media.mp3]) {
      const src = await FileStreamSource.open(m.path, { root: dir });
      const { url } = server.publish(src, path.basename(m.path), () => void src.close());
      expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/[A-Za-z0-9_-]{32}/`));
      const all = await get(url);
      expect(all.status).toBe(200);
      expect(all.body.equals(fs.readFileSync(m.path))).toBe(true);
      const part = await get(url, { Range: 'bytes=100-199' });
      expect(part.status).toBe(206);
      expect(part.body.equals(fs.readFileSync(m.path).subarray(100, 200))).toBe(true);
    }
  });

  it('gives the moov index of a moov-at-the-end MP4 through a suffix range', async () => {
    server = await LocalStreamServer.start();
    const bytes = fs.readFileSync(media.tail.path);
    const { moov, mdat } = moovPosition(bytes);
    expect(moov).toBeGreaterThan(mdat);
    const src = await FileStreamSource.open(media.tail.path, { root: dir });
    const { url } = server.publish(src, 'tail.mp4', () => void src.close());
    const r = await get(url, { Range: `bytes=-${bytes.length - moov}` });
    expect(r.status).toBe(206);
    expect(r.headers['content-type']).toBe('video/mp4');
    expect(r.body.subarray(4, 8).toString('latin1')).toBe('moov');
  });

  it('refuses a wrong token, a foreign Host and web pages', async () => {
    server = await LocalStreamServer.start();
    const src = await FileStreamSource.open(media.mp3.path, { root: dir });
    const { url } = server.publish(src, 'tone.mp3', () => void src.close());
    const u = new URL(url);
    expect((await get(`http://127.0.0.1:${server.port}/${'A'.repeat(32)}/tone.mp3`)).status).toBe(404);
    expect((await get(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    expect((await get(url, { Host: `evil.example:${server.port}` })).status).toBe(403);
    expect((await get(url, { Host: `localhost:${server.port}` })).status).toBe(403);
    expect((await get(url, { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await get(url, { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    // A user pasting the URL into a browser's address bar is fine.
    expect((await get(url, { 'Sec-Fetch-Site': 'none' })).status).toBe(200);
    expect(u.hostname).toBe('127.0.0.1');
  });

  it('cuts requests in flight when a stream is withdrawn, then answers 404', async () => {
    server = await LocalStreamServer.start();
    const src = new PieceStreamSource({ size: 1000, pieceSize: 500, mime: 'audio/mpeg', readAt: async (s, e) => Buffer.alloc(e - s) });
    let removed = false;
    const pub = server.publish(src, 'x.mp3', () => (removed = true));
    const pending = get(pub.url).catch((err: Error) => err);
    await waitFor('the reader to wait', () => src.waiting === 1);
    pub.remove();
    expect(await pending).toBeInstanceOf(Error);
    await waitFor('the wait to be dropped', () => src.waiting === 0);
    expect(removed).toBe(true);
    expect((await get(pub.url)).status).toBe(404);
    expect(server.size).toBe(0);
  });
});

describe('the WHATWG answer (for the Electron protocol handler)', () => {
  const source = () =>
    new PieceStreamSource({ size: 300, pieceSize: 100, mime: 'video/mp4', verified: [0], readAt: async (s, e) => Buffer.alloc(e - s, 7) });

  it('answers ranges, HEAD and 416 as the HTTP server does', async () => {
    const src = source();
    const r = streamWebResponse(src, new Request('mactella-media://x/a', { headers: { Range: 'bytes=10-19' } }));
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe('bytes 10-19/300');
    expect(Buffer.from(await r.arrayBuffer()).equals(Buffer.alloc(10, 7))).toBe(true);
    const head = streamWebResponse(src, new Request('mactella-media://x/a', { method: 'HEAD' }));
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('300');
    expect(head.body).toBeNull();
    const past = streamWebResponse(src, new Request('mactella-media://x/a', { headers: { Range: 'bytes=300-' } }));
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */300');
  });

  it('drops the wait when the player cancels the body or the request aborts', async () => {
    const src = source();
    const a = streamWebResponse(src, new Request('mactella-media://x/a', { headers: { Range: 'bytes=150-' } }));
    const reader = a.body!.getReader();
    const read = reader.read().catch((e: Error) => e);
    await waitFor('the reader to wait', () => src.waiting === 1);
    await reader.cancel();
    await read;
    expect(src.waiting).toBe(0);

    const ac = new AbortController();
    const b = streamWebResponse(src, new Request('mactella-media://x/a', { headers: { Range: 'bytes=150-' }, signal: ac.signal }));
    const pending = b.arrayBuffer().catch((e: Error) => e);
    await waitFor('the reader to wait', () => src.waiting === 1);
    ac.abort();
    await waitFor('the wait to be dropped', () => src.waiting === 0);
    expect(await pending).toBeInstanceOf(Error);
  });
});
