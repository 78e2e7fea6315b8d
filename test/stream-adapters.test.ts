import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventPayloads } from '../shared/contract.js';
import { mediaProtocolHandler } from '../electron/app-protocol.js';
import { PieceStreamSource } from '../electron/peer/stream/piece-stream-source.js';
import { TypedEmitter } from '../electron/peer/typed-emitter.js';
import type { WebHost } from '../electron/web-host/server.js';
import { startTestWebHost, tempWebRoot } from './helpers/web-host.js';
import { httpBytes } from './helpers/http-request.js';
import { cleanupTemp, waitFor } from './helpers/harness.js';

const TOKEN = 'stream-token-0123456789';
const PIECE = 1000;
const bytes = Buffer.from(Array.from({ length: 3 * PIECE }, (_, i) => i % 251));
let dir: string;
let host: WebHost;
let port: number;
let source: PieceStreamSource;

const request = (p: string, headers: Record<string, string> = {}, method = 'GET') =>
  httpBytes(`http://127.0.0.1:${port}${p}`, { headers, method });

beforeAll(async () => {
  let web: string;
  ({ dir, web } = await tempWebRoot('mactella-stream-adapters-'));
  source = new PieceStreamSource({
    size: bytes.length,
    pieceSize: PIECE,
    mime: 'video/mp4',
    verified: [0],
    readAt: async (s, e) => bytes.subarray(s, e),
  });
  const peer = {
    events: new TypedEmitter<EventPayloads>(),
    settings: () => ({ sharedDir: dir }),
    mediaPath: () => undefined,
    importStream: async () => '',
  };
  host = await startTestWebHost(peer, { webRoot: web, token: TOKEN, streams: { source: (id) => (id === 'abc' ? source : undefined) } });
  port = host.address.port;
});

afterAll(async () => {
  await host?.close();
  cleanupTemp();
});

describe('serve: /stream/ID', () => {
  it('needs the token, our Host and no foreign Origin, as /media does', async () => {
    expect((await request('/stream/abc')).status).toBe(401);
    expect((await request('/stream/abc?token=wrong')).status).toBe(401);
    expect((await request(`/stream/abc?token=${TOKEN}`, { Host: `evil.example:${port}` })).status).toBe(403);
    expect((await request(`/stream/abc?token=${TOKEN}`, { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await request(`/stream/nope?token=${TOKEN}`)).status).toBe(404);
  });

  it('answers 206, HEAD and 416 with the security headers', async () => {
    const r = await request(`/stream/abc?token=${TOKEN}`, { Range: 'bytes=10-19' });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 10-19/${bytes.length}`);
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(r.body.equals(bytes.subarray(10, 20))).toBe(true);
    const head = await request(`/stream/abc?token=${TOKEN}`, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(bytes.length));
    expect((await request(`/stream/abc?token=${TOKEN}`, { Range: `bytes=${bytes.length}-` })).status).toBe(416);
  });

  it('waits for a piece that is not verified yet, then sends it', async () => {
    const pending = request(`/stream/abc?token=${TOKEN}`, { Range: `bytes=${PIECE}-${2 * PIECE - 1}` });
    await waitFor('the request to wait', () => source.waiting === 1);
    source.markVerified(1);
    const r = await pending;
    expect(r.status).toBe(206);
    expect(r.body.equals(bytes.subarray(PIECE, 2 * PIECE))).toBe(true);
  });
});

describe('desktop: mactella-media://stream/ID answers Range itself', () => {
  const handler = mediaProtocolHandler(
    () => undefined,
    () => dir,
    (id) => (id === 'abc' ? source : undefined),
  );

  it('answers a range, HEAD, 416 and an unknown stream', async () => {
    source.markVerified(2);
    const r = await handler(new Request('mactella-media://stream/abc', { headers: { Range: 'bytes=-5' } }));
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes ${bytes.length - 5}-${bytes.length - 1}/${bytes.length}`);
    expect(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(-5))).toBe(true);
    expect((await handler(new Request('mactella-media://stream/abc', { method: 'HEAD' }))).status).toBe(200);
    expect((await handler(new Request('mactella-media://stream/abc', { headers: { Range: 'bytes=999999-' } }))).status).toBe(416);
    expect((await handler(new Request('mactella-media://stream/zzz'))).status).toBe(404);
  });
});
