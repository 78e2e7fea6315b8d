/**
 * Streaming benchmark: watching a video while it downloads, in Chromium,
 * through the web UI `mactella serve` serves.
 *
 *   npx tsx bench/stream.ts [--seconds 120] [--bitrate 4000000] [--watch 30]
 *
 * ffmpeg makes a real H.264/AAC MP4 (faststart, and the same with `moov` at
 * the end). A source peer shares it with its uploads capped at twice the
 * media's bitrate; a second peer runs the web host; Chromium (Debian's, via
 * playwright-core) searches, clicks Play on the hit, and the script measures:
 *   - Play → first frame (the video's currentTime advancing), and the bytes
 *     the peer had downloaded by then (WebTorrent Desktop needs ~15 MB);
 *   - stalls (`waiting` events) during the first --watch seconds of playback;
 *   - a seek into a part not downloaded yet → playing again.
 * Figures are printed; nothing is asserted.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import buildWebIfStale from '../e2e/global-setup.js';
import { CHROMIUM_ARGS, chromiumPath, ROOT } from '../e2e/support/paths.js';
import { createOperations } from '../electron/peer/operations.js';
import { startWebHost, type WebHost } from '../electron/web-host/server.js';
import { FFMPEG_MISSING, makeMp4, type MadeMedia } from '../test/helpers/media-gen.js';
import { cleanupTemp, mb, startPeer, tempDir, waitFor, type TestPeer } from '../test/helpers/harness.js';
import { exitAfter } from './lib/deadline.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string' }, bitrate: { type: 'string' }, watch: { type: 'string' }, 'max-seconds': { type: 'string' } },
});
const SECONDS = Number(values.seconds ?? 120);
const BITRATE = Number(values.bitrate ?? 4_000_000);
const WATCH_S = Number(values.watch ?? 30);
/** WebTorrent Desktop's bytes before first play (webtorrent #1097), the anchor printed beside ours. */
const WEBTORRENT_BYTES = 15e6;
exitAfter(Number(values['max-seconds'] ?? 400) * 1000, 'stream bench');

interface Run {
  firstFrameMs: number;
  bytesAtFirstFrame: number;
  stalls?: number;
  stalledMs?: number;
  /** The video's currentTime at each stall. */
  stallsAt?: number[];
  seekMs?: number;
  seekTargetVerified?: boolean;
}

/** The video in the player dialog: its time, and `waiting` events counted since `watch()`. */
const video = {
  watch: (page: Page) =>
    page.locator('dialog video').evaluate((v: HTMLVideoElementLike) => {
      const w = globalThis as unknown as { stalls: { n: number; ms: number; since: number; at: number[] } };
      w.stalls = { n: 0, ms: 0, since: 0, at: [] };
      v.addEventListener('waiting', () => {
        w.stalls.n++;
        w.stalls.at.push(Math.round(v.currentTime * 100) / 100);
        w.stalls.since = performance.now();
      });
      v.addEventListener('playing', () => {
        if (w.stalls.since) w.stalls.ms += performance.now() - w.stalls.since;
        w.stalls.since = 0;
      });
    }),
  /** Stalls so far; one still going counts up to now. */
  stalls: (page: Page) =>
    page.evaluate(() => {
      const s = (globalThis as unknown as { stalls: { n: number; ms: number; since: number; at: number[] } }).stalls;
      return { n: s.n, ms: s.ms + (s.since ? performance.now() - s.since : 0), at: s.at };
    }),
  /** Resolves once the player's currentTime is past `t` (checked every frame). */
  past: (page: Page, t: number) =>
    page.waitForFunction(
      (after) => {
        const doc = (globalThis as unknown as { document: { querySelector(q: string): { currentTime: number } | null } }).document;
        return (doc.querySelector('dialog video')?.currentTime ?? 0) > after;
      },
      t,
      { polling: 'raf', timeout: 30_000 },
    ),
};
interface HTMLVideoElementLike {
  currentTime: number;
  addEventListener(ev: string, fn: () => void): void;
}

async function play(page: Page, dst: TestPeer, name: string, full: boolean, media: MadeMedia): Promise<Run> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Search', exact: true }).click();
  await page.getByRole('searchbox', { name: 'Search' }).fill(name.replace(/\.mp4$/, ''));
  await page.getByLabel('TTL').fill('2');
  await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
  const button = page.getByRole('list', { name: 'Search results' }).getByRole('button', { name: `Play ${name}` });
  await button.waitFor({ timeout: 20_000 });
  const t0 = performance.now();
  await button.click();
  await video.past(page, 0);
  const run: Run = { firstFrameMs: performance.now() - t0, bytesAtFirstFrame: downloaded(dst, name) };
  if (full) {
    await video.watch(page);
    await new Promise((r) => setTimeout(r, WATCH_S * 1000));
    const s = await video.stalls(page);
    run.stalls = s.n;
    run.stalledMs = s.ms;
    run.stallsAt = s.at;
    // A seek to 85%: a part that has not arrived yet (the window follows the play position).
    const target = SECONDS * 0.85;
    const stream = dst.peer.streams.registry.forTransfer(transferOf(dst, name))[0];
    const byte = Math.floor(media.size * 0.85);
    run.seekTargetVerified = stream?.verified.some(([a, b]) => a <= byte && byte < b) ?? false;
    const t1 = performance.now();
    await page.locator('dialog video').evaluate((v: { currentTime: number }, t: number) => (v.currentTime = t), target);
    await video.past(page, target + 0.05);
    run.seekMs = performance.now() - t1;
  }
  await page.keyboard.press('Escape');
  return run;
}

function transferOf(dst: TestPeer, name: string): string {
  return dst.peer.transfersList().find((t) => t.name === name)!.id;
}

function downloaded(dst: TestPeer, name: string): number {
  return dst.peer.transfersList().find((t) => t.name === name)?.bytes ?? 0;
}

async function main(): Promise<void> {
  if (FFMPEG_MISSING) {
    console.log(`stream bench skipped: ${FFMPEG_MISSING}`);
    return;
  }
  const exe = chromiumPath();
  if (!exe) {
    console.log('stream bench skipped: no Chromium (apt-get install chromium, or set CHROMIUM_PATH)');
    return;
  }
  buildWebIfStale();
  const dir = tempDir('mactella-bench-stream-');
  const opts = { seconds: SECONDS, width: 854, height: 480, videoBitrate: BITRATE };
  const fast = await makeMp4(path.join(dir, 'media', 'bench-fast.mp4'), opts);
  const tail = await makeMp4(path.join(dir, 'media', 'bench-tail.mp4'), { ...opts, moov: 'end' });
  const rate = Math.round((2 * fast.bitrate) / 8);
  console.log(
    `media: ${SECONDS} s H.264/AAC 854x480, ${(fast.bitrate / 1e6).toFixed(2)} Mbit/s, ${mb(fast.size)}; source capped at ${mb(rate)}/s (2x bitrate)`,
  );

  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: exe, args: [...CHROMIUM_ARGS, '--autoplay-policy=no-user-gesture-required'] });
    // Each case gets fresh peers, so no earlier download shares the source's capped upload.
    const t = await withPeers(browser, dir, tail, rate, (page, dst) => play(page, dst, 'bench-tail.mp4', false, tail));
    const f = await withPeers(browser, dir, fast, rate, (page, dst) => play(page, dst, 'bench-fast.mp4', true, fast));
    const ms = (n: number) => `${(n / 1000).toFixed(2)} s`;
    console.log('\nresults (goals: first frame <= 2 s, seek <= 3 s, no stall while the source keeps up)');
    console.log(`  Play -> first frame, faststart MP4:     ${ms(f.firstFrameMs)}  after ${mb(f.bytesAtFirstFrame)} downloaded`);
    console.log(`  Play -> first frame, moov at the end:   ${ms(t.firstFrameMs)}  after ${mb(t.bytesAtFirstFrame)} downloaded`);
    console.log(`  anchor: WebTorrent Desktop needs ~${WEBTORRENT_BYTES / 1e6} MB before first play (webtorrent #1097)`);
    const at = f.stallsAt?.length ? `, at ${f.stallsAt.map((t) => `${t} s`).join(', ')}` : '';
    console.log(`  stalls in ${WATCH_S} s of playback:          ${f.stalls} (${ms(f.stalledMs ?? 0)} stalled${at})`);
    console.log(
      `  seek to 85% -> playing:                ${ms(f.seekMs ?? 0)}  (target ${f.seekTargetVerified ? 'was already' : 'was not yet'} downloaded)`,
    );
  } finally {
    await browser?.close();
    cleanupTemp();
  }
}

/** A source sharing `media` (uploads capped at `rate`), a peer with the web host, and a Chromium page on its UI. */
async function withPeers(
  browser: Browser,
  dir: string,
  media: MadeMedia,
  rate: number,
  run: (page: Page, dst: TestPeer) => Promise<Run>,
): Promise<Run> {
  const name = path.basename(media.path);
  let src: TestPeer | undefined;
  let dst: TestPeer | undefined;
  let web: WebHost | undefined;
  try {
    src = await startPeer({
      dir: path.join(dir, `src-${name}`),
      files: { [name]: fs.readFileSync(media.path) },
      options: { maxUploadRate: rate },
    });
    dst = await startPeer({ dir: path.join(dir, `dst-${name}`), bootstrap: [src.addr] });
    await waitFor('the peers to connect', () => dst!.peer.peers().neighbours.length > 0);
    web = await startWebHost({
      peer: dst.peer,
      operations: createOperations(dst.peer),
      webRoot: path.join(ROOT, 'dist-web'),
      host: '127.0.0.1',
      port: 0,
      token: crypto.randomBytes(24).toString('base64url'),
      log: { info() {}, warn() {}, error: (m) => console.error(m) },
      streams: dst.peer.streams,
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await page.goto(web.url);
      return await run(page, dst);
    } finally {
      await page.close();
    }
  } finally {
    await web?.close();
    await Promise.all([src, dst].map((p) => p?.peer.quit({ force: true }).catch(() => {})));
  }
}

await main();
