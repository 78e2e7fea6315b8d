/**
 * Audit finding 9: /media (web host) and mactella-media:// (Electron) followed
 * a symlink put in place of an indexed file after indexing, where v1 and v2
 * refused it. Both now check lstat + real path like v1/v2 and open with O_NOFOLLOW.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mediaProtocolHandler } from '../electron/app-protocol.js';
import type { WebHost } from '../electron/web-host/server.js';
import { httpRequest } from './helpers/http-request.js';
import { cleanupTemp } from './helpers/harness.js';
import { mediaOnlyPeer, startTestWebHost, tempWebRoot } from './helpers/web-host.js';

const TOKEN = 'symlink-test-token-0123456789';
const SECRET = 'outside-secret-data';
let dir: string;
let share: string;
let host: WebHost;

/** The index as it was at indexing time: two plain files in the shared folder. */
const indexed: Record<string, string> = {};
const mediaPath = (name: string) => indexed[name];

const get = async (p: string) => {
  const { status, body } = await httpRequest(host.address.port, p);
  return { status, body };
};

const electronGet = async (name: string) => {
  const r = await mediaProtocolHandler(mediaPath, () => share)(new Request(`mactella-media://local/${encodeURIComponent(name)}`));
  return { status: r.status, body: await r.text() };
};

/** Both the web host's /media and the Electron media protocol answer 404 for `name`, without the secret. */
async function expectRefusedByBoth(name: string): Promise<void> {
  for (const r of [await get(`/media/${encodeURIComponent(name)}?token=${TOKEN}`), await electronGet(name)]) {
    expect(r.status).toBe(404);
    expect(r.body).not.toContain(SECRET);
  }
}

beforeAll(async () => {
  let web: string;
  ({ dir, web } = await tempWebRoot('mactella-symlink-'));
  share = path.join(dir, 'share');
  await fs.promises.writeFile(path.join(dir, 'secret.mp3'), SECRET);
  await fs.promises.mkdir(path.join(dir, 'outside-album'));
  await fs.promises.writeFile(path.join(dir, 'outside-album', 'track.mp3'), SECRET);
  host = await startTestWebHost(mediaOnlyPeer(share, mediaPath), { webRoot: web, token: TOKEN });
});

beforeEach(async () => {
  await fs.promises.rm(share, { recursive: true, force: true });
  await fs.promises.mkdir(path.join(share, 'album'), { recursive: true });
  await fs.promises.writeFile(path.join(share, 'song.mp3'), 'song-data');
  await fs.promises.writeFile(path.join(share, 'album', 'track.mp3'), 'track-data');
  indexed['song.mp3'] = path.join(share, 'song.mp3');
  indexed['album/track.mp3'] = path.join(share, 'album', 'track.mp3');
});

afterAll(async () => {
  await host?.close();
  cleanupTemp();
});

describe('finding 9: a symlink swapped in after indexing', () => {
  it('serves the indexed files while they are plain files', async () => {
    expect(await get(`/media/song.mp3?token=${TOKEN}`)).toEqual({ status: 200, body: 'song-data' });
    expect(await electronGet('album/track.mp3')).toEqual({ status: 200, body: 'track-data' });
  });

  it('refuses a file replaced by a symlink to a file outside the share (web host and Electron)', async () => {
    await fs.promises.rm(indexed['song.mp3']!);
    await fs.promises.symlink(path.join(dir, 'secret.mp3'), indexed['song.mp3']!);
    await expectRefusedByBoth('song.mp3');
  });

  it('refuses a folder replaced by a symlink to a folder outside the share', async () => {
    await fs.promises.rm(path.join(share, 'album'), { recursive: true });
    await fs.promises.symlink(path.join(dir, 'outside-album'), path.join(share, 'album'));
    await expectRefusedByBoth('album/track.mp3');
  });

  it('refuses even a symlink that stays inside the share, as v1 and v2 do', async () => {
    await fs.promises.rm(indexed['song.mp3']!);
    await fs.promises.symlink(indexed['album/track.mp3']!, indexed['song.mp3']!);
    await expectRefusedByBoth('song.mp3');
  });

  it('a file that vanished is simply not found, not an error', async () => {
    await fs.promises.rm(indexed['song.mp3']!);
    await expectRefusedByBoth('song.mp3');
  });
});
