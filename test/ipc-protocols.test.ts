import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appProtocolHandler, mediaProtocolHandler } from '../electron/app-protocol.js';

let dir: string;
let renderer: string;
let media: string;

beforeAll(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'mactella-protocols-'));
  renderer = path.join(dir, 'renderer');
  await fs.promises.mkdir(path.join(renderer, 'assets'), { recursive: true });
  await fs.promises.writeFile(path.join(renderer, 'index.html'), '<!doctype html><title>MacTella</title>');
  await fs.promises.writeFile(path.join(renderer, 'assets', 'app.js'), 'export {}');
  await fs.promises.writeFile(path.join(renderer, '.env.js'), 'secret');
  await fs.promises.writeFile(path.join(dir, 'outside.js'), 'outside');
  await fs.promises.symlink(path.join(dir, 'outside.js'), path.join(renderer, 'assets', 'link.js'));
  media = path.join(dir, 'song.mp3');
  await fs.promises.writeFile(media, 'abcdefghij');
});

afterAll(() => fs.promises.rm(dir, { recursive: true, force: true }));

describe('mactella-app:// (the renderer files)', () => {
  const get = (url: string, method = 'GET') => appProtocolHandler(renderer)(new Request(url, { method }));

  it('serves the index with the CSP header, and assets with their types', async () => {
    const index = await get('mactella-app://app/index.html');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    expect(await index.text()).toContain('MacTella');
    expect((await get('mactella-app://app/')).status).toBe(200);
    const js = await get('mactella-app://app/assets/app.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
  });

  it('refuses traversal, dot-files, symlinks that leave the folder, other hosts and methods', async () => {
    for (const url of [
      'mactella-app://app/../outside.js',
      'mactella-app://app/%2e%2e/outside.js',
      'mactella-app://app/assets/%2e%2e%2f..%2foutside.js',
      'mactella-app://app/.env.js',
      'mactella-app://app/assets/link.js',
      'mactella-app://other/index.html',
      'mactella-app://app/missing.js',
      'mactella-app://app/index.html%00.js',
    ]) {
      const r = await get(url);
      expect(r.status, url).toBe(404);
      expect(await r.text()).not.toMatch(/outside|secret/);
    }
    expect((await get('mactella-app://app/index.html', 'POST')).status).toBe(404);
  });
});

describe('mactella-media:// (previews of indexed files)', () => {
  const handler = mediaProtocolHandler(
    (name) => (name === 'music/song.mp3' ? media : undefined),
    () => dir,
  );
  const get = (url: string, headers: Record<string, string> = {}) => handler(new Request(url, { headers }));

  it('serves an indexed file, whole or by range', async () => {
    const whole = await get(`mactella-media://local/${encodeURIComponent('music/song.mp3')}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('audio/mpeg');
    expect(await whole.text()).toBe('abcdefghij');
    const part = await get(`mactella-media://local/${encodeURIComponent('music/song.mp3')}`, { Range: 'bytes=-3' });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('hij');
  });

  it('finds nothing that is not in the index', async () => {
    for (const url of [
      'mactella-media://local/song.mp3',
      `mactella-media://local/${encodeURIComponent('../song.mp3')}`,
      'mactella-media://other/music%2Fsong.mp3',
      'mactella-media://local/%E0%A4%A',
    ]) {
      expect((await get(url)).status, url).toBe(404);
    }
  });
});
