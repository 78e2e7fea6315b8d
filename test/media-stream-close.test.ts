/**
 * /media (web host) and mactella-media://local (Electron) answer through the
 * streaming core, from a FileStreamSource opened for that one answer: it must
 * be closed again however the answer ends (sent, HEAD, 416, cancelled, cut),
 * or every preview would leak a file descriptor.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaProtocolHandler } from '../electron/app-protocol.js';
import type { WebHost } from '../electron/web-host/server.js';
import { httpRequest } from './helpers/http-request.js';
import { cleanupTemp, waitFor } from './helpers/harness.js';
import { mediaOnlyPeer, startTestWebHost, tempWebRoot } from './helpers/web-host.js';

const TOKEN = 'media-close-test-token-0123456789';
const BIG = 8 * 1024 * 1024;
let share: string;
let host: WebHost;
const files: Record<string, string> = {};
const mediaPath = (name: string) => files[name];
const electron = mediaProtocolHandler(mediaPath, () => share);

/** Descriptors of this process open on `file` (Linux /proc; elsewhere the test is skipped). */
function openOn(file: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // The descriptor closed while we looked (the readdir's own one, at least).
    }
  }
  return n;
}

const allClosed = (name: string) => waitFor(`${name} to be closed`, () => openOn(files[name]!) === 0, 2000);

beforeAll(async () => {
  const { dir, web } = await tempWebRoot('mactella-media-close-');
  share = fs.realpathSync(dir);
  files['small.mp3'] = path.join(share, 'small.mp3');
  files['big.mp4'] = path.join(share, 'big.mp4');
  await fs.promises.writeFile(files['small.mp3'], '0123456789');
  await fs.promises.writeFile(files['big.mp4'], Buffer.alloc(BIG, 7));
  host = await startTestWebHost(mediaOnlyPeer(share, mediaPath), { webRoot: web, token: TOKEN });
});

afterAll(async () => {
  await host?.close();
  cleanupTemp();
});

describe.skipIf(process.platform !== 'linux')('a preview closes the file it opened', () => {
  it('web host: after a whole answer, a range, a HEAD and a 416', async () => {
    const get = (headers: Record<string, string> = {}, method = 'GET') =>
      httpRequest(host.address.port, `/media/small.mp3?token=${TOKEN}`, { headers, method });
    expect(await get()).toMatchObject({ status: 200, body: '0123456789' });
    expect(await get({ Range: 'bytes=2-4' })).toMatchObject({ status: 206, body: '234' });
    expect((await get({}, 'HEAD')).headers['content-length']).toBe('10');
    expect((await get({ Range: 'bytes=50-' })).status).toBe(416);
    await allClosed('small.mp3');
  });

  it('web host: when the client goes away in the middle of a large file', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(
        `http://127.0.0.1:${host.address.port}/media/big.mp4?token=${TOKEN}`,
        { headers: { Host: `127.0.0.1:${host.address.port}` }, timeout: 5000 },
        (res) => {
          expect(res.statusCode).toBe(200);
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
    });
    await allClosed('big.mp4');
  });

  it('Electron: after a whole answer, a range and a 416', async () => {
    const get = (headers: Record<string, string> = {}) => electron(new Request('mactella-media://local/small.mp3', { headers }));
    expect(await (await get()).text()).toBe('0123456789');
    expect(await (await get({ Range: 'bytes=-3' })).text()).toBe('789');
    expect((await get({ Range: 'bytes=50-' })).status).toBe(416);
    await allClosed('small.mp3');
  });

  it('Electron: when the player cancels the body, or the request is aborted', async () => {
    const cancelled = await electron(new Request('mactella-media://local/big.mp4'));
    const reader = cancelled.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    await allClosed('big.mp4');

    const ac = new AbortController();
    const aborted = await electron(new Request('mactella-media://local/big.mp4', { signal: ac.signal }));
    expect(aborted.status).toBe(200);
    ac.abort();
    await allClosed('big.mp4');
  });
});
