/**
 * Watch while it downloads, in Chromium through `mactella serve`:
 *
 *   serve ── source      (the source caps its uploads at twice the video's bitrate)
 *
 * A real H.264/AAC MP4 made by ffmpeg is found by a search and played from
 * the hit: playback starts and a seek ahead plays while the download is far
 * from done, and the download then completes and verifies.
 */
import { expect, test, type Page } from '@playwright/test';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FFMPEG_MISSING, makeHevcMkv, makeMp4, type MadeMedia } from '../test/helpers/media-gen.js';
import { openView, runSearch, screenshot } from './support/flows.js';
import { removeTempFolders, startProcess, type PeerProcess } from './support/processes.js';

test.describe.configure({ mode: 'serial' });
test.skip(FFMPEG_MISSING !== undefined, FFMPEG_MISSING ?? '');

let media: MadeMedia;
let mediaDir: string;
let source: PeerProcess;
let serve: PeerProcess;
let page: Page;

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test.beforeAll(async ({ browser }) => {
  test.setTimeout(120_000);
  mediaDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-e2e-media-'));
  // 40 s at about 2 Mbit/s: some 10 MB, which a source capped at 2x the bitrate sends in about 20 s.
  media = await makeMp4(path.join(mediaDir, 'harbour-timelapse.mp4'), { seconds: 40, width: 640, height: 360, videoBitrate: 2_000_000 });
  const rate = Math.round((2 * media.bitrate) / 8);
  source = await startProcess({
    name: 'source',
    files: { 'harbour-timelapse.mp4': fs.readFileSync(media.path) },
    args: ['--max-up', String(rate)],
  });
  const hevc = await makeHevcMkv(path.join(mediaDir, 'concert-hevc.mkv'));
  serve = await startProcess({
    name: 'serve',
    serve: true,
    peers: [source.address],
    files: { 'concert-hevc.mkv': fs.readFileSync(hevc.path) },
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(serve.uiUrl!);
});

test.afterAll(async () => {
  await page?.close();
  await Promise.all([serve, source].filter(Boolean).map((p) => p.stop()));
  removeTempFolders();
  if (mediaDir) fs.rmSync(mediaDir, { recursive: true, force: true });
});

/** The video's playback position and duration. */
const videoTime = (p: Page) =>
  p
    .locator('dialog video')
    .evaluate((v: { currentTime: number; duration: number; paused: boolean }) => ({ t: v.currentTime, d: v.duration, paused: v.paused }));

/** The "N% verified" the player shows while the file arrives; 100 once complete. */
async function verifiedPercent(p: Page): Promise<number> {
  const meta = (await p.locator('dialog .preview__meta').textContent()) ?? '';
  const m = /(\d+)% verified/.exec(meta);
  return m ? Number(m[1]) : 100;
}

test('a video hit plays while it downloads, a seek ahead plays, and the download completes verified', async () => {
  test.setTimeout(120_000);
  const results = await runSearch(page, 'harbour', 2);
  await results.getByRole('button', { name: 'Play harbour-timelapse.mp4' }).click();
  const player = page.getByRole('dialog', { name: 'Player: harbour-timelapse.mp4' });
  await expect(player).toBeVisible();

  // Playback starts and advances while less than half of the file is here.
  await expect.poll(async () => (await videoTime(page)).t, { timeout: 20_000 }).toBeGreaterThan(1);
  expect(await verifiedPercent(page)).toBeLessThan(50);

  // A seek well ahead of what has arrived plays too: a click at three quarters of the seek bar.
  const { d } = await videoTime(page);
  const target = d * 0.75;
  expect(await verifiedPercent(page)).toBeLessThan(75);
  const bar = player.getByRole('slider', { name: 'Seek' });
  const box = (await bar.boundingBox())!;
  await bar.click({ position: { x: box.width * 0.75, y: box.height / 2 } });
  await expect.poll(async () => (await videoTime(page)).t, { timeout: 5_000 }).toBeGreaterThan(target - 2);
  const landed = (await videoTime(page)).t;
  await expect.poll(async () => (await videoTime(page)).t, { timeout: 20_000 }).toBeGreaterThan(landed + 1);
  expect((await videoTime(page)).paused).toBe(false);
  await screenshot(page, 'player');

  // The download completes and is verified; the file is the source's, byte for byte.
  await expect.poll(() => verifiedPercent(page), { timeout: 60_000 }).toBe(100);
  const saved = path.join(serve.downloads, 'harbour-timelapse.mp4');
  await expect.poll(() => fs.existsSync(saved), { timeout: 20_000 }).toBe(true);
  expect(sha256(saved)).toBe(sha256(media.path));
  expect(fs.readdirSync(serve.downloads).filter((f) => f.endsWith('.part'))).toEqual([]);
  await page.keyboard.press('Escape');
  await expect(player).toBeHidden();
});

test('a codec Chromium cannot play gets a plain message, never a silent black box', async () => {
  await openView(page, 'Library');
  await page.getByRole('button', { name: 'Play concert-hevc.mkv' }).click();
  const player = page.getByRole('dialog', { name: 'Player: concert-hevc.mkv' });
  await expect(player.getByRole('alert')).toContainText('cannot decode this video format');
  await expect(player.getByRole('alert')).toContainText('system player');
  await page.keyboard.press('Escape');
  await expect(player).toBeHidden();
});
