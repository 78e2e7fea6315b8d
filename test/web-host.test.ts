import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EventPayloads, WsServerMessage } from '../shared/contract.js';
import { TypedEmitter } from '../electron/peer/typed-emitter.js';
import { isAllowedHost, tokenMatches } from '../electron/web-host/guard.js';
import type { WebHost } from '../electron/web-host/server.js';
import { cleanupTemp, waitFor } from './helpers/harness.js';
import { httpRequest } from './helpers/http-request.js';
import { startTestWebHost, tempWebRoot } from './helpers/web-host.js';

const TOKEN = 'test-token-0123456789';
let dir: string;
let host: WebHost;
let port: number;
const events = new TypedEmitter<EventPayloads>();
const uploads: { name: string; data: string }[] = [];

const request = (p: string, opts?: Parameters<typeof httpRequest>[2]) => httpRequest(port, p, opts);

function openWs(headers: Record<string, string>, protocols = ['mactella', `mactella.token.${TOKEN}`]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, protocols, { headers, handshakeTimeout: 5000 });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

const origin = () => `http://127.0.0.1:${port}`;

beforeAll(async () => {
  let web: string;
  ({ dir, web } = await tempWebRoot('mactella-webhost-'));
  await fs.promises.mkdir(path.join(web, 'assets'));
  await fs.promises.writeFile(path.join(web, 'assets', 'app.js'), 'console.log(1)');
  await fs.promises.writeFile(path.join(dir, 'secret.txt'), 'secret');
  const media = path.join(dir, 'clip.mp3');
  await fs.promises.writeFile(media, Buffer.from('0123456789'));
  const peer = {
    events,
    settings: () => ({ sharedDir: dir }),
    mediaPath: (name: string) => (name === 'music/clip.mp3' ? media : undefined),
    importStream: async (name: string, body: Readable) => {
      let data = '';
      for await (const c of body) data += String(c);
      uploads.push({ name, data });
      return name;
    },
    search: (query: string, ttl: number) => ({ searchId: `${query}/${ttl}` }),
  };
  host = await startTestWebHost(peer, { webRoot: web, token: TOKEN, maxUploadBytes: 1000 });
  port = host.address.port;
});

afterAll(async () => {
  await host?.close();
  cleanupTemp();
});

describe('web host: HTTP', () => {
  it('refuses previews and uploads without the token, or with a wrong one', async () => {
    expect((await request('/media/music%2Fclip.mp3')).status).toBe(401);
    expect((await request('/media/music%2Fclip.mp3?token=wrong')).status).toBe(401);
    expect((await request('/upload?name=a.jpg', { method: 'POST', headers: { Origin: origin() }, body: 'a' })).status).toBe(401);
  });

  it('serves the public UI files with a strict CSP (the page then uses its token for everything else)', async () => {
    const r = await request('/');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<title>MacTella</title>');
    expect(r.headers['content-security-policy']).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(r.headers['set-cookie']).toBeUndefined();
    const js = await request('/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin even with the token', async () => {
    expect((await request(`/?token=${TOKEN}`, { headers: { Host: `evil.example:${port}` } })).status).toBe(403);
    expect((await request(`/?token=${TOKEN}`, { headers: { Host: `127.0.0.1:${port + 1}` } })).status).toBe(403);
    expect((await request(`/?token=${TOKEN}`, { headers: { Origin: 'http://evil.example' } })).status).toBe(403);
    expect((await request(`/?token=${TOKEN}`, { headers: { 'Sec-Fetch-Site': 'cross-site' } })).status).toBe(403);
    expect((await request(`/?token=${TOKEN}`, { headers: { Host: `localhost:${port}`, Origin: `http://localhost:${port}` } })).status).toBe(
      200,
    );
  });

  it('never serves files outside the built UI', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/../../secret.txt', '/..%2fsecret.txt', '//etc/passwd']) {
      const r = await request(`${p}${p.includes('?') ? '&' : '?'}token=${TOKEN}`);
      expect(r.status, p).toBe(404);
      expect(r.body).not.toContain('secret');
    }
  });

  it('serves previews of indexed files only, with ranges', async () => {
    const full = await request(`/media/${encodeURIComponent('music/clip.mp3')}?token=${TOKEN}`);
    expect(full.status).toBe(200);
    expect(full.body).toBe('0123456789');
    expect(full.headers['content-type']).toBe('audio/mpeg');
    const part = await request(`/media/${encodeURIComponent('music/clip.mp3')}?token=${TOKEN}`, { headers: { Range: 'bytes=2-4' } });
    expect(part.status).toBe(206);
    expect(part.body).toBe('234');
    expect(part.headers['content-range']).toBe('bytes 2-4/10');
    expect(
      (await request(`/media/${encodeURIComponent('music/clip.mp3')}?token=${TOKEN}`, { headers: { Range: 'bytes=50-' } })).status,
    ).toBe(416);
    expect((await request(`/media/${encodeURIComponent('../secret.txt')}?token=${TOKEN}`)).status).toBe(404);
    expect((await request(`/media/%E0%A4%A?token=${TOKEN}`)).status).toBe(400);
  });

  it('accepts uploads from our own origin, within the size cap', async () => {
    const up = (headers: Record<string, string>, body: string) =>
      request('/upload?name=new.jpg', { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, ...headers }, body });
    expect((await up({}, 'abc')).status).toBe(403);
    expect((await up({ Origin: 'http://evil.example' }, 'abc')).status).toBe(403);
    expect((await up({ Origin: origin(), 'Content-Length': '5000' }, 'x'.repeat(5000))).status).toBe(413);
    const ok = await up({ Origin: origin() }, 'abc');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ name: 'new.jpg' });
    expect(uploads).toEqual([{ name: 'new.jpg', data: 'abc' }]);
    expect((await request('/upload', { headers: { Origin: origin(), Authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
  });
});

describe('web host: WebSocket', () => {
  it('refuses a socket without the token, from a foreign origin, or without an Origin', async () => {
    await expect(openWs({ Origin: origin() }, ['mactella'])).rejects.toThrow('HTTP 401');
    await expect(openWs({ Origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(openWs({})).rejects.toThrow('HTTP 403');
    await expect(openWs({ Origin: origin(), Host: `rebind.example:${port}` })).rejects.toThrow('HTTP 403');
  });

  it('runs operations through the contract and forwards events', async () => {
    const ws = await openWs({ Origin: origin() });
    const messages: WsServerMessage[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d)) as WsServerMessage));
    const message = (pred: (m: WsServerMessage) => boolean) => waitFor('a matching WebSocket message', () => messages.find(pred), 2000);
    ws.send(JSON.stringify({ kind: 'invoke', id: 1, op: 'search:start', args: { query: 'beach', ttl: 2 } }));
    ws.send(JSON.stringify({ kind: 'invoke', id: 2, op: 'search:start', args: { query: 'beach', ttl: 70 } }));
    ws.send(JSON.stringify({ kind: 'invoke', id: 3, op: 'shell:exec', args: {} }));
    expect(await message((m) => m.kind === 'result' && m.id === 1)).toEqual({
      kind: 'result',
      id: 1,
      ok: true,
      result: { searchId: 'beach/2' },
    });
    expect(await message((m) => m.kind === 'result' && m.id === 2)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/invalid arguments for search:start: ttl/),
    });
    expect(await message((m) => m.kind === 'result' && m.id === 3)).toMatchObject({ ok: false, error: 'unknown operation: shell:exec' });
    events.emit('library:changed', []);
    expect(await message((m) => m.kind === 'event')).toEqual({ kind: 'event', event: 'library:changed', payload: [] });
    ws.close();
  });

  it('closes a socket that sends something other than a contract message, or too much', async () => {
    const closed = (ws: WebSocket) => new Promise<number>((r) => ws.once('close', (code) => r(code)));
    const a = await openWs({ Origin: origin() });
    const aClosed = closed(a);
    a.send('{"kind":"eval","code":"1"}');
    expect(await aClosed).toBe(1007);
    const b = await openWs({ Origin: origin() });
    const bClosed = closed(b);
    b.send('x'.repeat(2 * 1024 * 1024));
    expect(await bClosed).toBe(1009);
  });
});

describe('web host: guard helpers', () => {
  it('compares tokens exactly', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokenMatches('', TOKEN)).toBe(false);
    expect(tokenMatches(undefined, TOKEN)).toBe(false);
  });

  it('accepts IP literals, localhost and the bound name with our port only', () => {
    expect(isAllowedHost('127.0.0.1:8080', 8080, '127.0.0.1')).toBe(true);
    expect(isAllowedHost('[::1]:8080', 8080, '::1')).toBe(true);
    expect(isAllowedHost('LOCALHOST:8080', 8080, '127.0.0.1')).toBe(true);
    expect(isAllowedHost('nas.local:8080', 8080, 'nas.local')).toBe(true);
    expect(isAllowedHost('attacker.example:8080', 8080, '0.0.0.0')).toBe(false);
    expect(isAllowedHost('127.0.0.1', 8080, '127.0.0.1')).toBe(false);
    expect(isAllowedHost(undefined, 8080, '127.0.0.1')).toBe(false);
    expect(isAllowedHost('127.0.0.1:8080@evil', 8080, '127.0.0.1')).toBe(false);
  });
});
