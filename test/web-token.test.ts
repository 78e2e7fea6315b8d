/**
 * Audit finding 1 (the token cookie leaked to every server on 127.0.0.1) and
 * 14 (the token reached the log): the web host accepts no credential that
 * another local origin receives, and never logs one.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EventPayloads } from '../shared/contract.js';
import { TypedEmitter } from '../electron/peer/typed-emitter.js';
import type { WebHost } from '../electron/web-host/server.js';
import { httpRequest } from './helpers/http-request.js';
import { cleanupTemp } from './helpers/harness.js';
import { startTestWebHost, tempWebRoot } from './helpers/web-host.js';

const TOKEN = 'cookie-test-token-0123456789';
let dir: string;
let host: WebHost;
let port: number;
const logged: string[] = [];
const uploads: string[] = [];

const request = (p: string, opts?: Parameters<typeof httpRequest>[2]) => httpRequest(port, p, opts);

/** Resolves the HTTP status of a WebSocket handshake (101 when it opened) and the chosen subprotocol. */
function wsStatus(query: string, headers: Record<string, string>, protocols?: string[]): Promise<{ status: number; protocol: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws${query}`, protocols, { headers, handshakeTimeout: 5000 });
    ws.once('open', () => {
      resolve({ status: 101, protocol: ws.protocol });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, protocol: '' }));
    ws.once('error', () => resolve({ status: -1, protocol: '' }));
  });
}

const origin = () => `http://127.0.0.1:${port}`;
const cookie = () => `mactella_token_${port}=${TOKEN}`;

beforeAll(async () => {
  let web: string;
  ({ dir, web } = await tempWebRoot('mactella-webtoken-'));
  const share = path.join(dir, 'share');
  await fs.promises.mkdir(share);
  await fs.promises.writeFile(path.join(share, 'clip.mp3'), '0123456789');
  const peer = {
    events: new TypedEmitter<EventPayloads>(),
    settings: () => ({ sharedDir: share }),
    mediaPath: (name: string) => {
      if (name === 'boom.mp3') throw new Error('index exploded');
      return name === 'clip.mp3' ? path.join(share, 'clip.mp3') : undefined;
    },
    importStream: async (name: string, body: Readable) => {
      for await (const _ of body);
      uploads.push(name);
      return name;
    },
  };
  host = await startTestWebHost(peer, {
    webRoot: web,
    token: TOKEN,
    log: { info: (m) => logged.push(m), warn: (m) => logged.push(m), error: (m) => logged.push(m) },
  });
  port = host.address.port;
});

afterAll(async () => {
  await host?.close();
  cleanupTemp();
});

describe('finding 1: no credential that other local origins receive', () => {
  it('prints the token in the URL fragment, which browsers never send to a server', () => {
    expect(host.url).toBe(`http://127.0.0.1:${port}/#token=${TOKEN}`);
  });

  it('sets no cookie, whatever the page URL carries', async () => {
    for (const p of ['/', `/?token=${TOKEN}`]) {
      const r = await request(p);
      expect(r.status, p).toBe(200);
      expect(r.headers['set-cookie'], p).toBeUndefined();
    }
  });

  it('ignores the old per-port cookie everywhere (another server on 127.0.0.1 receives it too)', async () => {
    expect((await request('/media/clip.mp3', { headers: { Cookie: cookie() } })).status).toBe(401);
    const up = await request('/upload?name=a.jpg', { method: 'POST', headers: { Cookie: cookie(), Origin: origin() }, body: 'abc' });
    expect(up.status).toBe(401);
    expect((await wsStatus('', { Origin: origin(), Cookie: cookie() }, ['mactella'])).status).toBe(401);
    expect(uploads).toEqual([]);
  });

  it('takes the WebSocket token from the subprotocol and answers with the plain one', async () => {
    const ok = await wsStatus('', { Origin: origin() }, ['mactella', `mactella.token.${TOKEN}`]);
    expect(ok).toEqual({ status: 101, protocol: 'mactella' });
    expect((await wsStatus('', { Origin: origin() }, ['mactella', 'mactella.token.wrong'])).status).toBe(401);
    // A token in the WebSocket URL would end up in proxies' and servers' logs: not accepted.
    expect((await wsStatus(`?token=${TOKEN}`, { Origin: origin() })).status).toBe(401);
  });

  it('takes the upload token from the Authorization header only', async () => {
    const up = (headers: Record<string, string>, q = '') =>
      request(`/upload?name=b.jpg${q}`, { method: 'POST', headers: { Origin: origin(), ...headers }, body: 'abc' });
    expect((await up({}, `&token=${TOKEN}`)).status).toBe(401);
    expect((await up({ Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await up({ Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect(uploads).toEqual(['b.jpg']);
  });

  it('takes the media token from the query (an <img> or <video> sends no header)', async () => {
    expect((await request(`/media/clip.mp3?token=${TOKEN}`)).body).toBe('0123456789');
    expect((await request('/media/clip.mp3', { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await request('/media/clip.mp3?token=wrong')).status).toBe(401);
  });
});

describe('finding 14: the token never reaches the log', () => {
  it('logs the path of a failed /media request, not its query', async () => {
    logged.length = 0;
    const r = await request(`/media/boom.mp3?token=${TOKEN}`);
    expect(r.status).toBe(500);
    expect(logged.join('\n')).toContain('/media/boom.mp3');
    expect(logged.join('\n')).not.toContain(TOKEN);
  });

  it('logs refusals without the token either', async () => {
    logged.length = 0;
    await request(`/media/clip.mp3?token=${TOKEN}x`);
    expect(logged.join('\n')).toMatch(/refused GET \/media\/clip\.mp3/);
    expect(logged.join('\n')).not.toContain(TOKEN);
  });
});

describe('ws-bridge rate limit (the one TokenBucket)', () => {
  it('closes a client that floods messages with 1008', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['mactella', `mactella.token.${TOKEN}`], {
      headers: { Origin: origin() },
      handshakeTimeout: 5000,
    });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    for (let i = 0; i < 400; i++) ws.send(JSON.stringify({ kind: 'invoke', id: i, op: 'settings:nothing', args: {} }));
    expect(await code).toBe(1008);
  });
});
