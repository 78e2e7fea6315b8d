/**
 * The web UI of `mactella serve` in Chromium, against real peers on loopback:
 *
 *   serve ── A ── B        (serve and B know only A; Discover finds B)
 *
 * A and B share the same video (so it has two sources) under an upload limit,
 * so the download's progress bar is seen moving.
 */
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { discoverFinds, downloadAndWatch, dragFile, expectLibraryShows, openView, runSearch, screenshot } from './support/flows.js';
import { paintJpeg, randomMedia, sha256 } from './support/media.js';
import { removeTempFolders, startProcess, startVideoSources, type PeerProcess, type VideoSources } from './support/processes.js';

test.describe.configure({ mode: 'serial' });

let src: VideoSources;
let serve: PeerProcess;
let page: Page;

test.beforeAll(async ({ browser }) => {
  test.setTimeout(120_000);
  const [lake, dunes, city] = await Promise.all([paintJpeg(browser, 200, 250), paintJpeg(browser, 35, 10), paintJpeg(browser, 280, 220)]);
  src = await startVideoSources('', { 'beach-sunset.jpg': dunes });
  serve = await startProcess({
    name: 'serve',
    serve: true,
    peers: [src.a.address],
    files: {
      'mountain-lake.jpg': lake,
      'night-city.jpg': city,
      'road-trip.mov': randomMedia(2_500_000),
      'morning-jazz.mp3': randomMedia(900_000),
    },
  });
  // B must be A's neighbour before anything floods through A.
  await expect.poll(() => neighbourCount(src.a), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(serve.uiUrl!);
});

/** A's neighbour count, asked at its prompt (the seed's PEERS listing). */
async function neighbourCount(p: PeerProcess): Promise<number> {
  const before = p.output().length;
  p.type('PEERS');
  for (let i = 0; i < 50; i++) {
    const m = p
      .output()
      .slice(before)
      .match(/neighbours \((\d+)\)/);
    if (m) return Number(m[1]);
    await new Promise((r) => setTimeout(r, 100));
  }
  return 0;
}

test.afterAll(async () => {
  await page?.close();
  await Promise.all([serve, src].filter(Boolean).map((p) => p.stop()));
  removeTempFolders();
});

test('the library shows the shared files, with thumbnails and sizes', async () => {
  await expectLibraryShows(page, ['mountain-lake.jpg', 'night-city.jpg', 'road-trip.mov', 'morning-jazz.mp3']);
  await expect(page.getByText(/^4 shared files · /)).toBeVisible();
  // The token left the address bar, lives in this tab only, and never became a cookie (other ports would get it).
  expect(page.url()).not.toContain('token');
  expect(await page.context().cookies()).toEqual([]);
  await page.reload();
  await expectLibraryShows(page, ['mountain-lake.jpg']);
  // Picture thumbnails load through the authenticated /media route.
  const thumb = page.getByRole('button', { name: 'View mountain-lake.jpg' }).locator('img');
  await expect.poll(() => thumb.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
  await expect(page.getByRole('button', { name: 'Play road-trip.mov' })).toBeVisible();
  // A picture opens in a preview, also served by /media, and Escape closes it.
  await page.getByRole('button', { name: 'View mountain-lake.jpg' }).click();
  const preview = page.getByRole('dialog', { name: 'Preview of mountain-lake.jpg' });
  await expect.poll(() => preview.locator('img').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(480);
  await page.keyboard.press('Escape');
  await expect(preview).toBeHidden();
  await expect(page.getByRole('list', { name: 'Shared files' }).getByText('2.4 MB')).toBeVisible();
  await screenshot(page, 'library');
});

test('Discover finds the peers', async () => {
  await discoverFinds(page, 2, src.b.address);
  await expect(page.getByRole('listitem', { name: `Peer ${src.a.address}` }).getByText(/^Connected · /)).toBeVisible();
  await expect(page.getByRole('region', { name: 'Statistics' }).getByText('Messages in')).toBeVisible();
  await screenshot(page, 'peers');
  // The seed's LISTR: browse what B shares.
  await page.getByRole('button', { name: `Browse ${src.b.address}` }).click();
  const listing = page.getByRole('region', { name: `Files shared by ${src.b.address}` });
  await expect(listing.getByRole('button', { name: 'Download beach-song.mp3' })).toBeVisible();
  await expect(listing.getByText('MacTella v2')).toBeVisible();
  await listing.getByRole('button', { name: 'Close listing' }).click();
});

test('a search streams hits from two peers, grouped by hash', async () => {
  const results = await runSearch(page, 'beach', 3);
  const video = results.getByRole('listitem').filter({ hasText: 'holiday-beach.mp4' });
  await expect(video.getByText('2 sources')).toBeVisible({ timeout: 20_000 });
  await expect(results.getByText('beach-song.mp3')).toBeVisible();
  await expect(results.getByText('beach-sunset.jpg')).toBeVisible();
  await expect(page.getByText(/3 files from \d+ hits for “beach”/)).toBeVisible();
  await screenshot(page, 'search');
});

test('clicking Download shows a moving progress bar, pause holds it, and the file arrives byte-identical', async () => {
  test.setTimeout(90_000);
  const seen = await downloadAndWatch(page, 'holiday-beach.mp4', { onRunning: () => screenshot(page, 'transfers'), pauseResume: true });
  const between = seen.filter((v) => v > 0 && v < 100);
  expect(between.length, `progress values seen: ${seen.join(', ')}`).toBeGreaterThanOrEqual(2);
  expect(seen.at(-1)).toBe(100);
  const file = path.join(serve.downloads, 'holiday-beach.mp4');
  expect(fs.existsSync(file)).toBe(true);
  const got = fs.readFileSync(file);
  expect(got.length).toBe(src.video.length);
  expect(sha256(got)).toBe(sha256(src.video));
  expect(fs.readdirSync(serve.downloads).filter((f) => f.endsWith('.part'))).toEqual([]);
});

test('a dropped file and an added file appear in Library and become searchable by other peers', async () => {
  test.setTimeout(90_000);
  await openView(page, 'Library');
  // Drop a file on the window, as a person dragging it from their desktop would.
  const river = { name: 'dropped-river.mp3', size: 200_000, type: 'audio/mpeg' };
  await dragFile(page, river, ['dragenter', 'dragover']);
  await expect(page.getByText('Drop to share')).toBeVisible();
  await screenshot(page, 'drop');
  await dragFile(page, river, ['drop']);
  const list = page.getByRole('list', { name: 'Shared files' });
  await expect(list.getByText('dropped-river.mp3', { exact: true })).toBeVisible();
  expect(fs.readFileSync(path.join(serve.share, 'dropped-river.mp3')).length).toBe(200_000);

  // A file that lands in the shared folder by any other means shows up too (the folder is watched).
  fs.writeFileSync(path.join(serve.share, 'added-forest.jpg'), fs.readFileSync(path.join(serve.share, 'mountain-lake.jpg')));
  await expect(list.getByText('added-forest.jpg', { exact: true })).toBeVisible({ timeout: 20_000 });

  // Peer B, two hops away, finds both through the overlay.
  src.b.type('SEARCH,river,3');
  await src.b.waitForOutput(new RegExp(`found: dropped-river\\.mp3 .* at (\\S+@)?127\\.0\\.0\\.1:${serve.port}`));
  src.b.type('SEARCH,forest,3');
  await src.b.waitForOutput(new RegExp(`found: added-forest\\.jpg .* at (\\S+@)?127\\.0\\.0\\.1:${serve.port}`));
});

test('settings are shown, and the UI follows a dark system theme', async () => {
  await openView(page, 'Settings');
  await expect(page.getByLabel('Shared folder')).toHaveValue(serve.share);
  await screenshot(page, 'settings');
  await page.emulateMedia({ colorScheme: 'dark' });
  await openView(page, 'Search');
  await screenshot(page, 'search-dark');
  await page.emulateMedia({ colorScheme: 'light' });
});

test.describe('the web host refuses', () => {
  const origin = () => new URL(serve.uiUrl!).origin;
  // The printed address carries the token in its fragment, which browsers never send.
  const token = () => new URLSearchParams(new URL(serve.uiUrl!).hash.slice(1)).get('token')!;
  const media = () => `${origin()}/media/${encodeURIComponent('mountain-lake.jpg')}`;

  test('a request without the token (and no cookie is ever set)', async ({ request }) => {
    const page = await request.get(origin() + '/');
    expect(page.status()).toBe(200);
    expect(page.headers()['set-cookie']).toBeUndefined();
    expect((await request.get(media())).status()).toBe(401);
    expect((await request.get(`${media()}?token=not-the-token`)).status()).toBe(401);
    expect((await request.get(`${media()}?token=${token()}`)).status()).toBe(200);
  });

  test('a request with a foreign Origin, even with the token', async ({ request }) => {
    const r = await request.get(`${media()}?token=${token()}`, { headers: { Origin: 'http://evil.example' } });
    expect(r.status()).toBe(403);
    const up = await request.post(`${origin()}/upload?name=x.mp3`, {
      headers: { Origin: 'http://evil.example', Authorization: `Bearer ${token()}` },
      data: Buffer.from('abc'),
    });
    expect(up.status()).toBe(403);
    expect(fs.existsSync(path.join(serve.share, 'x.mp3'))).toBe(false);
  });

  test('a WebSocket from a foreign origin, with or without the token', async ({ browser }) => {
    // A page on another origin (another port is another origin) tries to drive the peer.
    const evil = http.createServer((_req, res) => res.end('<!doctype html><title>evil</title>'));
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const evilPage = await browser.newPage();
    try {
      await evilPage.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const wsUrl = `ws://127.0.0.1:${new URL(serve.uiUrl!).port}/ws`;
      const protocols = ['mactella', `mactella.token.${token()}`];
      const outcome = await evilPage.evaluate(
        ([url, offered]) =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(url as string, offered as string[]);
            ws.onopen = () => resolve('open');
            ws.onerror = () => resolve('refused');
            setTimeout(() => resolve('timeout'), 5000);
          }),
        [wsUrl, protocols] as const,
      );
      expect(outcome).toBe('refused');
    } finally {
      await evilPage.close();
      evil.close();
    }
    // The same from a non-browser client: refused for a foreign Origin, and without the token.
    const status = (url: string, headers: Record<string, string>, protocols = ['mactella', `mactella.token.${token()}`]) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, protocols, { headers, handshakeTimeout: 5000 });
        ws.once('open', () => {
          ws.close();
          resolve(101);
        });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', () => resolve(-1));
      });
    const wsBase = `ws://127.0.0.1:${new URL(serve.uiUrl!).port}/ws`;
    expect(await status(wsBase, { Origin: 'http://evil.example' })).toBe(403);
    expect(await status(wsBase, { Origin: origin() }, ['mactella'])).toBe(401);
    expect(await status(`${wsBase}?token=${token()}`, { Origin: origin() }, ['mactella'])).toBe(401);
    expect(await status(wsBase, { Origin: origin() })).toBe(101);
  });
});
